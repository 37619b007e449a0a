"""The L-shape proxy label: hand-made nets and brute-force references of both decompositions."""

from __future__ import annotations

import numpy as np
import pytest

from gsr_eda.labels import DEFAULT_TRACKS_PER_GCELL, proxy_congestion
from gsr_eda.labels.proxy import lshape_demand
from placed_design_builder import make_design, random_design


def test_horizontal_two_pin_net_needs_one_track_in_each_gcell_it_crosses():
    design = make_design([(1.0, 1.0, 0.5, 0.5), (3.0, 1.0, 0.5, 0.5)], [[0, 1]], capacity=(0.5, 2.0))
    horizontal, vertical = lshape_demand(design)
    expected = np.zeros((10, 10))
    expected[1:4, 1] = 1.0
    np.testing.assert_allclose(horizontal, expected)
    assert not vertical.any()
    label = proxy_congestion(design)
    assert label.is_proxy and label.source == "proxy"
    assert label.name == "proxy_chain_lshape_utilisation"
    np.testing.assert_allclose(label.values, expected * 2.0)
    overflow = proxy_congestion(design, measure="overflow")
    np.testing.assert_allclose(overflow.values, expected * (1.0 / 0.5 - 1.0))


def test_l_shaped_connection_splits_its_demand_between_the_two_l_routes():
    design = make_design([(1.0, 1.0, 0.5, 0.5), (3.0, 4.0, 0.5, 0.5)], [[0, 1]])
    horizontal, vertical = lshape_demand(design)
    assert horizontal[1:4, 1].tolist() == [0.5] * 3 and horizontal[1:4, 4].tolist() == [0.5] * 3
    assert vertical[1, 1:5].tolist() == [0.5] * 4 and vertical[3, 1:5].tolist() == [0.5] * 4
    assert horizontal.sum() == 3.0 and vertical.sum() == 4.0
    # No capacity in the design: the documented default applies.
    label = proxy_congestion(design, measure="utilisation")
    assert label.values.max() == pytest.approx(0.5 / DEFAULT_TRACKS_PER_GCELL)
    assert "assumed" in label.description


def _reference_demand(design, connections_of_net):
    """Loop over nets and their connections; ``connections_of_net(pins, px, py)`` lists pin pairs."""
    px = design.x[design.pin_node] + design.pin_dx
    py = design.y[design.pin_node] + design.pin_dy
    gx, gy = np.floor(px).astype(int).clip(0, 19), np.floor(py).astype(int).clip(0, 19)
    ref_h, ref_v = np.zeros((20, 20)), np.zeros((20, 20))
    for start, stop in zip(design.net_ptr[:-1], design.net_ptr[1:]):
        for a, p in connections_of_net(list(range(start, stop)), px, py):
            (ax, ay), (bx, by) = (gx[a], gy[a]), (gx[p], gy[p])
            if ax != bx:
                lo, hi = min(ax, bx), max(ax, bx)
                ref_h[lo : hi + 1, ay] += 0.5
                ref_h[lo : hi + 1, by] += 0.5
            if ay != by:
                lo, hi = min(ay, by), max(ay, by)
                ref_v[ax, lo : hi + 1] += 0.5
                ref_v[bx, lo : hi + 1] += 0.5
    return ref_h, ref_v


def _star(pins, px, py):
    return [(pins[0], p) for p in pins[1:]]


def _chain(pins, px, py):
    wide = np.ptp(px[pins]) >= np.ptp(py[pins]) if pins else True
    key = px if wide else py
    ordered = sorted(pins, key=lambda p: (key[p], p))
    return list(zip(ordered[:-1], ordered[1:]))


@pytest.mark.parametrize("decomposition, connections", [("star", _star), ("chain", _chain)])
def test_demand_matches_a_loop_over_connections(decomposition, connections):
    design = random_design(50, 60, seed=11)
    horizontal, vertical = lshape_demand(design, decomposition=decomposition)
    ref_h, ref_v = _reference_demand(design, connections)
    np.testing.assert_allclose(horizontal, ref_h, atol=1e-9)
    np.testing.assert_allclose(vertical, ref_v, atol=1e-9)


def test_chain_routes_a_fanout_net_along_its_sinks_not_through_the_driver():
    # Driver in the middle of a row of sinks: the star sends every sink's track through the
    # driver's gcell; the chain walks the row (ends are inclusive, so junction gcells count twice).
    cells = [
        (5.0, 1.0, 0.5, 0.5),
        (1.0, 1.0, 0.5, 0.5),
        (3.0, 1.0, 0.5, 0.5),
        (7.0, 1.0, 0.5, 0.5),
        (9.0, 1.0, 0.5, 0.5),
    ]
    design = make_design(cells, [[0, 1, 2, 3, 4]])
    chain_h, _ = lshape_demand(design, decomposition="chain")
    star_h, _ = lshape_demand(design, decomposition="star")
    assert chain_h[1:10, 1].tolist() == [1, 1, 2, 1, 2, 1, 2, 1, 1]
    assert star_h[5, 1] == 4.0 and star_h.sum() == 16.0 > chain_h.sum() == 12.0


def test_zero_capacity_counts_demand_and_bad_measure_is_refused():
    design = make_design([(1.0, 1.0, 0.5, 0.5), (3.0, 1.0, 0.5, 0.5)], [[0, 1]], capacity=(0.0, 0.0))
    assert proxy_congestion(design).values[2, 1] == pytest.approx(1.0)
    assert proxy_congestion(design, measure="overflow").values[2, 1] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="measure"):
        proxy_congestion(design, measure="rudy")
    with pytest.raises(ValueError, match="decomposition"):
        proxy_congestion(design, decomposition="steiner")
