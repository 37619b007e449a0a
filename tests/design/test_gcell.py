"""The gcell grid and the cell <-> gcell map transfers, against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from gsr_eda.design import GcellGrid, cells_from_gcell_map, gcell_map_from_cells


def test_uniform_grid_absorbs_the_remainder_in_the_last_gcell():
    grid = GcellGrid.uniform(0.0, 0.0, 10.5, 7.0, 2.0, 2.0)
    assert grid.shape == (5, 3)
    assert grid.x_edges[-1] == 10.5 and grid.y_edges[-1] == 7.0
    np.testing.assert_allclose(np.diff(grid.x_edges), [2, 2, 2, 2, 2.5])


def test_spans_are_inclusive_and_do_not_spill_over_boundaries():
    grid = GcellGrid.uniform(0.0, 0.0, 10.0, 10.0, 1.0, 1.0)
    spans = grid.span(np.array([1.0, 1.5, -3.0, 9.5, 4.0]), np.array([2.0, 2.5, -1.0, 9.5, 4.0]),
                      np.array([3.0, 1.7, 0.5, 12.0, 4.0]), np.array([3.0, 3.5, 0.2, 11.0, 4.0]))
    assert spans.dtype == np.int32
    assert spans.tolist() == [
        [1, 2, 2, 2],  # box [1, 3] x [2, 3]: the edges on boundaries 3 stay out of gcell 3
        [1, 2, 1, 3],
        [0, 0, 0, 0],  # clipped from below
        [9, 9, 9, 9],  # clipped from above
        [4, 4, 4, 4],  # a point on a boundary belongs to the gcell above it
    ]


@pytest.mark.parametrize("reduce", ["max", "mean"])
def test_cells_from_gcell_map_matches_brute_force(reduce):
    rng = np.random.default_rng(0)
    gmap = rng.normal(size=(13, 9))
    gx0, gy0 = rng.integers(0, 13, 300), rng.integers(0, 9, 300)
    gx1 = np.minimum(gx0 + rng.integers(0, 13, 300), 12)
    gy1 = np.minimum(gy0 + rng.integers(0, 9, 300), 8)
    spans = np.stack([gx0, gy0, gx1, gy1], axis=1).astype(np.int32)
    got = cells_from_gcell_map(gmap, spans, reduce)
    op = np.max if reduce == "max" else np.mean
    expected = [op(gmap[a:c + 1, b:d + 1]) for a, b, c, d in spans]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduce", ["max", "mean"])
def test_gcell_map_from_cells_matches_brute_force(reduce):
    rng = np.random.default_rng(1)
    values = rng.normal(size=40)
    gx0, gy0 = rng.integers(0, 8, 40), rng.integers(0, 6, 40)
    spans = np.stack([gx0, gy0, np.minimum(gx0 + rng.integers(0, 3, 40), 7),
                      np.minimum(gy0 + rng.integers(0, 3, 40), 5)], axis=1).astype(np.int32)
    got = gcell_map_from_cells(values, spans, (8, 6), reduce)
    expected = np.zeros((8, 6))
    for i in range(8):
        for j in range(6):
            covering = [v for v, (a, b, c, d) in zip(values, spans) if a <= i <= c and b <= j <= d]
            if covering:
                expected[i, j] = max(covering) if reduce == "max" else np.mean(covering)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_round_trip_of_single_gcell_cells():
    gmap = np.arange(12, dtype=np.float32).reshape(4, 3)
    ii, jj = np.meshgrid(np.arange(4), np.arange(3), indexing="ij")
    spans = np.stack([ii.ravel(), jj.ravel(), ii.ravel(), jj.ravel()], axis=1).astype(np.int32)
    per_cell = cells_from_gcell_map(gmap, spans, "max")
    np.testing.assert_array_equal(gcell_map_from_cells(per_cell, spans, (4, 3)), gmap)


def test_bad_spans_and_reductions_are_refused():
    gmap = np.zeros((4, 3))
    with pytest.raises(ValueError, match="outside a map"):
        cells_from_gcell_map(gmap, np.array([[0, 0, 4, 0]], np.int32))
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        cells_from_gcell_map(gmap, np.zeros((2, 3), np.int32))
    with pytest.raises(ValueError, match="reduce"):
        gcell_map_from_cells(np.zeros(1), np.zeros((1, 4), np.int32), (4, 3), "median")
