"""Node features: hand-computed values, brute-force map checks, locality of position features."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from gsr_eda.design import GcellGrid
from gsr_eda.graph import (
    FEATURES,
    POSITION_FEATURES,
    STATIC_FEATURES,
    MapContext,
    node_features,
    position_features,
    static_features,
)
from gsr_eda.graph.gcell_maps import cell_density_map, rudy_maps, span_max_mean
from placed_design_builder import make_design, random_design


def _two_pin_design():
    # Pins at cell centres: (1.25, 1.25) in gcell (1, 1) and (3.25, 2.25) in gcell (3, 2).
    return make_design([(1.0, 1.0, 0.5, 0.5), (3.0, 2.0, 0.5, 0.5)], [[0, 1]])


def test_rudy_of_a_single_two_pin_net():
    design = _two_pin_design()
    rudy, pin_rudy = rudy_maps(design, design.x, design.y)
    expected = np.zeros((10, 10))
    expected[1:4, 1:3] = (3 + 2) / (3 * 2)  # a 3 x 2 gcell box spreads its 5-gcell half-perimeter
    np.testing.assert_allclose(rudy, expected)
    expected_pins = np.zeros((10, 10))
    expected_pins[1, 1] = expected_pins[3, 2] = 5 / 6
    np.testing.assert_allclose(pin_rudy, expected_pins)
    feats = position_features(design, design.x, design.y)
    np.testing.assert_allclose(feats.column("rudy_max"), [5 / 6, 5 / 6], rtol=1e-6)
    np.testing.assert_allclose(feats.column("pin_rudy_mean"), [5 / 6, 5 / 6], rtol=1e-6)


def test_density_of_one_cell_in_one_gcell_and_one_across_two():
    design = make_design([(1.0, 1.0, 0.5, 0.5), (5.5, 1.25, 1.0, 0.5)], [])
    density = cell_density_map(design, design.x, design.y)
    assert density[1, 1] == pytest.approx(0.25)
    assert density[5, 1] == pytest.approx(0.25) and density[6, 1] == pytest.approx(0.25)
    assert density.sum() == pytest.approx(0.75)
    feats = position_features(design, design.x, design.y)
    np.testing.assert_allclose(feats.column("density_max"), [0.25, 0.25])
    np.testing.assert_allclose(feats.column("density_mean"), [0.25, 0.25])
    np.testing.assert_allclose(feats.column("x_norm"), [0.125, 0.6])
    np.testing.assert_allclose(feats.column("y_norm"), [0.125, 0.15])


def test_static_features_on_hand_made_nets():
    boxes = [(0.0, 0.0, 1.0, 2.0), (2.0, 0.0, 0.5, 0.5), (4.0, 0.0, 3.0, 3.0), (8.0, 8.0, 0.0, 0.0)]
    design = make_design(
        boxes, [[0, 1], [0, 1, 2, 2], [3, 0]], is_io=[0, 0, 0, 1], is_macro=[0, 0, 1, 0], is_fixed=[0, 0, 1, 1]
    )
    feats = static_features(design)
    assert feats.names == list(STATIC_FEATURES)
    col = feats.column
    np.testing.assert_allclose(col("area"), [2.0, 0.25, 9.0, 0.0])
    np.testing.assert_array_equal(col("pin_count"), [3, 2, 2, 1])
    np.testing.assert_array_equal(col("net_count"), [3, 2, 1, 1])
    np.testing.assert_allclose(col("net_degree_mean"), [(2 + 4 + 2) / 3, 3, 4, 2])
    np.testing.assert_array_equal(col("net_degree_max"), [4, 4, 4, 2])
    np.testing.assert_array_equal(col("is_macro"), [0, 0, 1, 0])
    np.testing.assert_array_equal(col("is_io"), [0, 0, 0, 1])
    np.testing.assert_array_equal(col("is_fixed"), [0, 0, 1, 1])
    assert feats.values.dtype == np.float32


def test_rudy_and_density_match_brute_force_on_a_random_design():
    design = random_design(40, 50, seed=7, die=12.0)
    rudy, pin_rudy = rudy_maps(design, design.x, design.y)
    density = cell_density_map(design, design.x, design.y)
    gx, gy = design.grid.locate(design.x[design.pin_node] + design.pin_dx, design.y[design.pin_node] + design.pin_dy)
    ref_rudy = np.zeros(design.grid.shape)
    ref_pins = np.zeros(design.grid.shape)
    for a, b in zip(design.net_ptr[:-1], design.net_ptr[1:]):
        if b - a < 2:
            continue
        x0, x1, y0, y1 = gx[a:b].min(), gx[a:b].max(), gy[a:b].min(), gy[a:b].max()
        w, h = x1 - x0 + 1, y1 - y0 + 1
        ref_rudy[x0 : x1 + 1, y0 : y1 + 1] += (w + h) / (w * h)
        for p in range(a, b):
            ref_pins[gx[p], gy[p]] += (w + h) / (w * h)
    np.testing.assert_allclose(rudy, ref_rudy, atol=1e-9)
    np.testing.assert_allclose(pin_rudy, ref_pins, atol=1e-9)
    ref_density = np.zeros(design.grid.shape)
    for i in range(design.num_nodes):
        for u in range(design.grid.shape[0]):
            for v in range(design.grid.shape[1]):
                ox = min(design.x[i] + design.width[i], u + 1.0) - max(design.x[i], float(u))
                oy = min(design.y[i] + design.height[i], v + 1.0) - max(design.y[i], float(v))
                ref_density[u, v] += max(ox, 0) * max(oy, 0)
    np.testing.assert_allclose(density, ref_density, atol=1e-9)


def test_node_features_are_static_then_position_columns():
    design = random_design(30, 40, seed=1)
    full = node_features(design)
    assert full.names == list(STATIC_FEATURES) + list(POSITION_FEATURES)
    assert full.units == [FEATURES[name][0] for name in full.names]
    pos = position_features(design, design.x, design.y)
    np.testing.assert_array_equal(full.values[:, len(STATIC_FEATURES) :], pos.values)
    np.testing.assert_array_equal(full.values[:, : len(STATIC_FEATURES)], static_features(design).values)
    assert np.all(np.isfinite(full.values))


def test_position_features_depend_only_on_the_positions_given():
    design = random_design(30, 40, seed=2)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 15, design.num_nodes), rng.uniform(0, 15, design.num_nodes)
    moved = dataclasses.replace(design, x=x, y=y)
    np.testing.assert_array_equal(position_features(design, x, y).values, node_features(moved).values[:, 10:])
    np.testing.assert_array_equal(node_features(design, x, y).values, node_features(moved).values)


def test_moving_one_cell_changes_only_the_entries_it_can_reach():
    design = random_design(80, 70, seed=5, die=20.0)
    before = position_features(design, design.x, design.y)
    k = int(np.argmax(np.bincount(design.pin_node, minlength=design.num_nodes) == 1))  # a cell on one net
    x, y = design.x.copy(), design.y.copy()
    x[k], y[k] = 2.2, 17.3
    after = position_features(design, x, y)
    # Gcells whose maps can change: k's old and new span, and the boxes of k's nets before and after.
    touched = np.zeros(design.grid.shape, bool)
    for xs, ys in ((design.x, design.y), (x, y)):
        gx0, gy0, gx1, gy1 = design.gcell_spans(xs, ys)[k]
        touched[gx0 : gx1 + 1, gy0 : gy1 + 1] = True
        px, py = xs[design.pin_node] + design.pin_dx, ys[design.pin_node] + design.pin_dy
        gx, gy = design.grid.locate(px, py)
        for j in np.flatnonzero([k in design.pin_node[a:b] for a, b in zip(design.net_ptr[:-1], design.net_ptr[1:])]):
            a, b = design.net_ptr[j], design.net_ptr[j + 1]
            touched[gx[a:b].min() : gx[a:b].max() + 1, gy[a:b].min() : gy[a:b].max() + 1] = True
    spans = design.gcell_spans()
    reachable = np.array([touched[s[0] : s[2] + 1, s[1] : s[3] + 1].any() for s in spans])
    changed = np.any(before.values != after.values, axis=1)
    assert changed[k]
    assert not np.any(changed & ~reachable), "a cell far from the move changed"
    assert np.any(changed & (np.arange(design.num_nodes) != k)), "the move should affect some neighbour"
    unchanged_cols = [before.names.index(n) for n in ("x_norm", "y_norm")]
    others = np.arange(design.num_nodes) != k
    np.testing.assert_array_equal(before.values[others][:, unchanged_cols], after.values[others][:, unchanged_cols])


def test_positions_of_the_wrong_length_are_refused():
    design = random_design(10, 5)
    with pytest.raises(ValueError, match="positions must have shape"):
        position_features(design, design.x[:-1], design.y)


def test_position_features_are_the_same_with_binary_search_lookups(monkeypatch):
    """The arithmetic gcell lookup of uniform grids gives the features of np.searchsorted, bit for bit."""
    design = random_design(150, 120, seed=11, die=20.0)
    design = dataclasses.replace(design, grid=GcellGrid.uniform(-3.7, 0.0, 20.0, 20.0, 0.7, 0.285))
    rng = np.random.default_rng(2)
    # A third of the boxes start on a gcell edge, a third end on one, a third stay where they are.
    at = rng.integers(0, 3, design.num_nodes)
    x_edge = design.grid.x_edges[rng.integers(0, len(design.grid.x_edges), design.num_nodes)]
    y_edge = design.grid.y_edges[rng.integers(0, len(design.grid.y_edges), design.num_nodes)]
    x = np.select([at == 0, at == 1], [x_edge, x_edge - design.width], design.x)
    y = np.select([at == 0, at == 1], [y_edge, y_edge - design.height], design.y)
    fast = position_features(design, x, y).values
    for axis in (design.grid._x_axis, design.grid._y_axis):
        assert axis.uniform
        monkeypatch.setattr(axis, "uniform", False)
    np.testing.assert_array_equal(position_features(design, x, y).values, fast)


def test_a_map_context_and_spans_do_not_change_the_features():
    design = random_design(50, 60, seed=4)
    x, y = design.x + 0.3, design.y - 0.2
    plain = position_features(design, x, y).values
    context = MapContext.of(design)
    with_context = position_features(design, x, y, context=context, spans=design.gcell_spans(x, y))
    np.testing.assert_array_equal(with_context.values, plain)
    with pytest.raises(ValueError, match="built for design"):
        position_features(random_design(50, 60, seed=5), x, y, context=context)


def test_span_max_mean_matches_brute_force_for_cells_and_macros():
    rng = np.random.default_rng(6)
    maps = rng.normal(size=(3, 14, 11))
    gx0, gy0 = rng.integers(0, 14, 200), rng.integers(0, 11, 200)
    # Mostly 1-2 gcells a side (the corner path), some up to the whole grid (the expanded path).
    reach = np.where(rng.random(200) < 0.7, rng.integers(0, 2, 200), rng.integers(0, 14, 200))
    spans = np.stack([gx0, gy0, np.minimum(gx0 + reach, 13), np.minimum(gy0 + reach[::-1], 10)], axis=1)
    peak, mean = span_max_mean(maps, spans.astype(np.int32))
    for k in range(3):
        regions = [maps[k, a : c + 1, b : d + 1] for a, b, c, d in spans]
        np.testing.assert_array_equal(peak[k], [r.max() for r in regions])
        np.testing.assert_allclose(mean[k], [r.mean() for r in regions], rtol=1e-12, atol=1e-12)
