"""The L-shape proxy label: hand-made nets and a brute-force reference."""

from __future__ import annotations

import numpy as np
import pytest
from placed_design_builder import make_design, random_design

from gsr_eda.labels import DEFAULT_TRACKS_PER_GCELL, proxy_congestion
from gsr_eda.labels.proxy import lshape_demand


def test_horizontal_two_pin_net_needs_one_track_in_each_gcell_it_crosses():
    design = make_design([(1.0, 1.0, 0.5, 0.5), (3.0, 1.0, 0.5, 0.5)], [[0, 1]], capacity=(0.5, 2.0))
    horizontal, vertical = lshape_demand(design)
    expected = np.zeros((10, 10))
    expected[1:4, 1] = 1.0
    np.testing.assert_allclose(horizontal, expected)
    assert not vertical.any()
    label = proxy_congestion(design)
    assert label.is_proxy and label.source == "proxy" and label.name == "proxy_lshape_overflow"
    np.testing.assert_allclose(label.values, expected * (1.0 / 0.5 - 1.0))
    np.testing.assert_allclose(proxy_congestion(design, measure="utilisation").values, expected * 2.0)


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


def test_demand_matches_a_loop_over_star_connections():
    design = random_design(50, 60, seed=11)
    horizontal, vertical = lshape_demand(design)
    px = design.x[design.pin_node] + design.pin_dx
    py = design.y[design.pin_node] + design.pin_dy
    gx, gy = np.floor(px).astype(int).clip(0, 19), np.floor(py).astype(int).clip(0, 19)
    ref_h, ref_v = np.zeros((20, 20)), np.zeros((20, 20))
    for a, b in zip(design.net_ptr[:-1], design.net_ptr[1:]):
        for p in range(a + 1, b):
            (ax, ay), (bx, by) = (gx[a], gy[a]), (gx[p], gy[p])
            if ax != bx:
                lo, hi = min(ax, bx), max(ax, bx)
                ref_h[lo:hi + 1, ay] += 0.5
                ref_h[lo:hi + 1, by] += 0.5
            if ay != by:
                lo, hi = min(ay, by), max(ay, by)
                ref_v[ax, lo:hi + 1] += 0.5
                ref_v[bx, lo:hi + 1] += 0.5
    np.testing.assert_allclose(horizontal, ref_h, atol=1e-9)
    np.testing.assert_allclose(vertical, ref_v, atol=1e-9)


def test_zero_capacity_counts_demand_and_bad_measure_is_refused():
    design = make_design([(1.0, 1.0, 0.5, 0.5), (3.0, 1.0, 0.5, 0.5)], [[0, 1]], capacity=(0.0, 0.0))
    assert proxy_congestion(design).values[2, 1] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="measure"):
        proxy_congestion(design, measure="rudy")
