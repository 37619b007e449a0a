"""The gcell grid and the cell <-> gcell map transfers, against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from gsr_eda.design import GcellGrid, cells_from_gcell_map, gcell_map_from_cells, span_coverage


def test_uniform_grid_absorbs_the_remainder_in_the_last_gcell():
    grid = GcellGrid.uniform(0.0, 0.0, 10.5, 7.0, 2.0, 2.0)
    assert grid.shape == (5, 3)
    assert grid.x_edges[-1] == 10.5 and grid.y_edges[-1] == 7.0
    np.testing.assert_allclose(np.diff(grid.x_edges), [2, 2, 2, 2, 2.5])


def test_spans_are_inclusive_and_do_not_spill_over_boundaries():
    grid = GcellGrid.uniform(0.0, 0.0, 10.0, 10.0, 1.0, 1.0)
    spans = grid.span(
        np.array([1.0, 1.5, -3.0, 9.5, 4.0]),
        np.array([2.0, 2.5, -1.0, 9.5, 4.0]),
        np.array([3.0, 1.7, 0.5, 12.0, 4.0]),
        np.array([3.0, 3.5, 0.2, 11.0, 4.0]),
    )
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
    expected = [op(gmap[a : c + 1, b : d + 1]) for a, b, c, d in spans]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduce", ["max", "mean"])
def test_gcell_map_from_cells_matches_brute_force(reduce):
    rng = np.random.default_rng(1)
    values = rng.normal(size=40)
    gx0, gy0 = rng.integers(0, 8, 40), rng.integers(0, 6, 40)
    spans = np.stack(
        [gx0, gy0, np.minimum(gx0 + rng.integers(0, 3, 40), 7), np.minimum(gy0 + rng.integers(0, 3, 40), 5)], axis=1
    ).astype(np.int32)
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


def _binary_search_span(grid: GcellGrid, x0, y0, x1, y1) -> np.ndarray:
    """Reference for GcellGrid.span: one np.searchsorted per box edge, then clipping."""
    nx, ny = grid.shape
    gx0 = np.clip(np.searchsorted(grid.x_edges, x0, side="right") - 1, 0, nx - 1)
    gy0 = np.clip(np.searchsorted(grid.y_edges, y0, side="right") - 1, 0, ny - 1)
    gx1 = np.clip(np.maximum(np.searchsorted(grid.x_edges, x1, side="left") - 1, gx0), 0, nx - 1)
    gy1 = np.clip(np.maximum(np.searchsorted(grid.y_edges, y1, side="left") - 1, gy0), 0, ny - 1)
    return np.stack([gx0, gy0, gx1, gy1], axis=1).astype(np.int32)


GRIDS = {
    "unit": GcellGrid.uniform(0.0, 0.0, 10.0, 10.0, 1.0, 1.0),
    "remainder": GcellGrid.uniform(0.0, 0.0, 78.835, 78.835, 0.54, 0.54),  # asap7 aes: last gcell 1.075
    "offset": GcellGrid.uniform(-3.7, 1e4, 123.456, 1e4 + 77.7, 0.27, 0.135),
    "nangate45": GcellGrid.uniform(0.0, 0.0, 286.3, 286.3, 2.85, 2.85),  # guesses one gcell off both ways
    "single": GcellGrid.uniform(0.3, 0.0, 0.31, 5.0, 1.0, 0.1),
    "irregular": GcellGrid(np.array([0.0, 1.0, 3.0, 3.5, 10.0]), np.array([0.0, 0.1, 5.0, 5.2])),
}


@pytest.mark.parametrize("name", sorted(GRIDS))
def test_span_and_locate_equal_binary_search_on_and_around_every_edge(name):
    grid = GRIDS[name]
    rng = np.random.default_rng(3)
    edges = np.concatenate([grid.x_edges, grid.y_edges])
    # Every edge, its float neighbours on both sides, random values in and around the grid, far-off values.
    v = np.concatenate(
        [
            edges,
            np.nextafter(edges, -np.inf),
            np.nextafter(edges, np.inf),
            rng.uniform(edges.min() - 5, edges.max() + 5, 5000),
            [-1e300, 1e300, 0.0, -np.inf, np.inf, np.nan],
        ]
    )
    w = rng.uniform(0, 3, v.size)
    w[::3] = 0.0  # zero-size boxes (IO pins)
    u = v[::-1]
    # Boxes starting at the values, then boxes ending at them.
    for box in ((v, u, v + w, u + w[::-1]), (v - w, u - w[::-1], v, u)):
        np.testing.assert_array_equal(grid.span(*box), _binary_search_span(grid, *box))
    gx, gy = grid.locate(v, u)
    reference = _binary_search_span(grid, v, u, v, u)
    np.testing.assert_array_equal(gx, reference[:, 0])
    np.testing.assert_array_equal(gy, reference[:, 1])


def test_uniform_grids_take_the_arithmetic_lookup_and_irregular_ones_binary_search():
    # The test above only proves both lookups right if each grid takes the one it should.
    for name in ("unit", "remainder", "offset", "nangate45"):
        assert GRIDS[name]._x_axis.uniform and GRIDS[name]._y_axis.uniform, name
    assert not GRIDS["irregular"]._x_axis.uniform and not GRIDS["irregular"]._y_axis.uniform


def test_span_coverage_matches_brute_force():
    rng = np.random.default_rng(4)
    gx0, gy0 = rng.integers(0, 9, 30), rng.integers(0, 7, 30)
    spans = np.stack(
        [gx0, gy0, np.minimum(gx0 + rng.integers(0, 4, 30), 8), np.minimum(gy0 + rng.integers(0, 4, 30), 6)], axis=1
    ).astype(np.int32)
    expected = np.zeros((9, 7), bool)
    for a, b, c, d in spans:
        expected[a : c + 1, b : d + 1] = True
    np.testing.assert_array_equal(span_coverage(spans, (9, 7)), expected)
    assert not span_coverage(spans[:0], (9, 7)).any()
