"""Net nodes of the cell-net graph: incidence, features against a per-net brute-force reference."""

from __future__ import annotations

import numpy as np
import pytest

from gsr_eda.graph import (
    NET_FEATURES,
    POSITION_NET_FEATURES,
    NetContext,
    build_net_nodes,
    net_position_features,
    position_maps,
)
from gsr_eda.graph.gcell_maps import rudy_maps
from placed_design_builder import make_design, random_design


def test_hand_made_incidence_keeps_nets_of_two_distinct_nodes_in_pin_order():
    boxes = [(0.0, 0.0, 1.0, 1.0), (5.0, 0.0, 1.0, 1.0), (5.0, 5.0, 1.0, 1.0), (9.0, 9.0, 1.0, 1.0)]
    # net 2 has one pin, net 3 two pins on one node: neither carries wire between nodes.
    design = make_design(boxes, [[0, 1], [2, 1, 3], [3], [2, 2], [0, 0, 3]])
    nets = build_net_nodes(design)
    assert nets.net.tolist() == [0, 1, 4]
    assert nets.indptr.tolist() == [0, 2, 5, 7]
    assert nets.cells.tolist() == [0, 1, 2, 1, 3, 0, 3]  # driver first, repeated node once
    assert nets.pin.tolist() == [0, 1, 2, 3, 4, 8, 10]  # node 3's pin on net 4 is its first: pin 10
    assert nets.cells.dtype == np.int32 and nets.pin.dtype == np.int64
    assert nets.feature_names == list(NET_FEATURES)
    assert nets.column("degree").tolist() == [2, 2 + 1, 2]
    assert nets.column("pin_count").tolist() == [2, 3, 3]
    # Net 0: pins at x 0.5 and 5.5 on 1 um gcells, same row: 5 pitches wide, 6 x 1 gcells.
    assert nets.column("bbox_width")[0] == pytest.approx(5.0)
    assert nets.column("bbox_height")[0] == pytest.approx(0.0)
    assert nets.column("hpwl")[0] == pytest.approx(5.0)
    assert nets.column("rudy")[0] == pytest.approx(7 / 6)


def _reference(design, x, y):
    """Per-net loops over the definitions of docs/store-schema.md."""
    grid = design.grid
    nx, ny = grid.shape
    pitch_x = (grid.x_edges[-1] - grid.x_edges[0]) / nx
    pitch_y = (grid.y_edges[-1] - grid.y_edges[0]) / ny
    rudy, pin_rudy = rudy_maps(design, x, y)
    maps = position_maps(design, x, y)
    rows = []
    for j in range(design.num_nets):
        pins = np.arange(design.net_ptr[j], design.net_ptr[j + 1])
        nodes = design.pin_node[pins]
        if len(set(nodes.tolist())) < 2:
            continue
        px = x[nodes] + design.pin_dx[pins]
        py = y[nodes] + design.pin_dy[pins]
        gx, gy = grid.locate(px, py)
        box = (slice(gx.min(), gx.max() + 1), slice(gy.min(), gy.max() + 1))
        w, h = gx.max() - gx.min() + 1, gy.max() - gy.min() + 1
        width, height = np.ptp(px) / pitch_x, np.ptp(py) / pitch_y
        rows.append(
            [
                width,
                height,
                width + height,
                (w + h) / (w * h),
                rudy[box].mean(),
                pin_rudy[box].mean(),
                maps[0][box].mean(),
            ]
        )
    return np.asarray(rows).reshape(-1, len(POSITION_NET_FEATURES))


@pytest.mark.parametrize("seed", [0, 1])
def test_position_features_match_the_reference_at_new_positions(seed):
    design = random_design(80, 120, seed=seed)
    rng = np.random.default_rng(seed)
    x = design.x + rng.normal(0, 2, design.num_nodes)
    y = design.y + rng.normal(0, 2, design.num_nodes)
    context = NetContext.of(design)
    got = net_position_features(design, x, y, context=context)
    np.testing.assert_allclose(got, _reference(design, x, y), rtol=1e-10, atol=1e-12)
    # The maps and the context, passed in, change nothing.
    again = net_position_features(design, x, y, context=context, maps=position_maps(design, x, y))
    np.testing.assert_array_equal(again, got)
    stored = build_net_nodes(design, x, y, context=context)
    np.testing.assert_allclose(stored.features[:, 2:], got.astype(np.float32))
    assert np.all(stored.features >= 0) and np.all(np.isfinite(stored.features))


def test_no_feature_depends_on_where_the_design_sits():
    design = random_design(50, 70, seed=4)
    base = build_net_nodes(design).features
    # The same placement shifted by whole gcells (the die and grid move with it) gives the same nets.
    shifted = make_design(
        [(x + 3.0, y + 2.0, w, h) for x, y, w, h in zip(design.x, design.y, design.width, design.height)],
        [design.pin_node[a:b].tolist() for a, b in zip(design.net_ptr[:-1], design.net_ptr[1:])],
        die=(3.0, 2.0, 23.0, 22.0),
    )
    np.testing.assert_allclose(build_net_nodes(shifted).features, base, rtol=1e-5, atol=1e-5)


def test_design_without_wired_nets_has_no_net_nodes():
    design = make_design([(0.0, 0.0, 1.0, 1.0)], [[0], [0, 0]])
    nets = build_net_nodes(design)
    assert nets.num_nets == 0 and nets.indptr.tolist() == [0] and nets.features.shape == (0, len(NET_FEATURES))


def test_context_of_another_design_is_refused():
    a, b = random_design(10, 10, seed=1), random_design(10, 10, seed=2)
    with pytest.raises(ValueError, match="built for design"):
        net_position_features(b, b.x, b.y, context=NetContext.of(a))
