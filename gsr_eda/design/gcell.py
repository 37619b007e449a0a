"""The global-routing cell (gcell) grid, and moving values between cells and gcells.

Maps are indexed ``[x, y]`` (column index first), as in CircuitNet, with shape ``(nx, ny)``.
A cell covers the inclusive gcell span ``[gx0, gx1] x [gy0, gy1]`` of its box.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REDUCTIONS = ("max", "mean")


@dataclass(frozen=True)
class GcellGrid:
    """Gcell boundaries in microns: ``x_edges`` has ``nx + 1`` increasing values, ``y_edges`` ``ny + 1``."""

    x_edges: np.ndarray
    y_edges: np.ndarray

    @classmethod
    def uniform(cls, x0: float, y0: float, x1: float, y1: float, step_x: float, step_y: float) -> GcellGrid:
        """A grid of ``step``-sized gcells over a box; the last row/column absorbs the remainder."""
        nx = max(1, int(np.floor((x1 - x0) / step_x + 1e-9)))
        ny = max(1, int(np.floor((y1 - y0) / step_y + 1e-9)))
        xs = x0 + step_x * np.arange(nx + 1, dtype=np.float64)
        ys = y0 + step_y * np.arange(ny + 1, dtype=np.float64)
        xs[-1], ys[-1] = x1, y1
        return cls(xs, ys)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.x_edges) - 1, len(self.y_edges) - 1)

    def span(
        self, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray
    ) -> np.ndarray:
        """Inclusive gcell index span ``(N, 4) int32 [gx0, gy0, gx1, gy1]`` of boxes, clipped to the grid.

        A box edge lying exactly on a gcell boundary does not spill into the next gcell.
        """
        nx, ny = self.shape
        gx0 = np.searchsorted(self.x_edges, np.asarray(x0, np.float64), side="right") - 1
        gy0 = np.searchsorted(self.y_edges, np.asarray(y0, np.float64), side="right") - 1
        gx1 = np.searchsorted(self.x_edges, np.asarray(x1, np.float64), side="left") - 1
        gy1 = np.searchsorted(self.y_edges, np.asarray(y1, np.float64), side="left") - 1
        gx0 = np.clip(gx0, 0, nx - 1)
        gy0 = np.clip(gy0, 0, ny - 1)
        gx1 = np.clip(np.maximum(gx1, gx0), 0, nx - 1)
        gy1 = np.clip(np.maximum(gy1, gy0), 0, ny - 1)
        return np.stack([gx0, gy0, gx1, gy1], axis=1).astype(np.int32)


def _check_spans(spans: np.ndarray, shape: tuple[int, int]) -> None:
    if spans.ndim != 2 or spans.shape[1] != 4:
        raise ValueError(f"gcell spans must have shape (N, 4), got {spans.shape}")
    if len(spans) and (spans.min() < 0 or spans[:, 2].max() >= shape[0] or spans[:, 3].max() >= shape[1]):
        raise ValueError(f"gcell spans fall outside a map of shape {shape}")


def cells_from_gcell_map(gcell_map: np.ndarray, spans: np.ndarray, reduce: str = "max") -> np.ndarray:
    """Per-cell value: the max (or mean) of ``gcell_map`` over each cell's inclusive gcell span.

    Uses a 2-D sparse table for ``max`` and a summed-area table for ``mean``, so the cost
    is ``O(nx * ny * log) + O(N)`` whatever the cell sizes (macros can span thousands of gcells).
    """
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
    gmap = np.asarray(gcell_map, dtype=np.float64)
    _check_spans(spans, gmap.shape)
    gx0, gy0, gx1, gy1 = (spans[:, i].astype(np.int64) for i in range(4))
    if reduce == "mean":
        sat = np.zeros((gmap.shape[0] + 1, gmap.shape[1] + 1))
        sat[1:, 1:] = gmap.cumsum(0).cumsum(1)
        total = sat[gx1 + 1, gy1 + 1] - sat[gx0, gy1 + 1] - sat[gx1 + 1, gy0] + sat[gx0, gy0]
        area = (gx1 - gx0 + 1) * (gy1 - gy0 + 1)
        return (total / area).astype(np.float32)
    return _range_max_2d(gmap, gx0, gy0, gx1, gy1).astype(np.float32)


def _range_max_2d(gmap: np.ndarray, gx0, gy0, gx1, gy1) -> np.ndarray:
    """Max over inclusive rectangles with a 2-D sparse table (levels along x and y)."""
    nx, ny = gmap.shape
    levels_x = max(1, int(np.floor(np.log2(nx))) + 1)
    levels_y = max(1, int(np.floor(np.log2(ny))) + 1)
    table = [[None] * levels_y for _ in range(levels_x)]
    table[0][0] = gmap
    for ly in range(1, levels_y):
        prev = table[0][ly - 1]
        half = 1 << (ly - 1)
        table[0][ly] = np.maximum(prev[:, :-half], prev[:, half:])
    for lx in range(1, levels_x):
        half = 1 << (lx - 1)
        for ly in range(levels_y):
            prev = table[lx - 1][ly]
            table[lx][ly] = np.maximum(prev[:-half, :], prev[half:, :])
    kx = np.floor(np.log2(gx1 - gx0 + 1)).astype(np.int64)
    ky = np.floor(np.log2(gy1 - gy0 + 1)).astype(np.int64)
    out = np.empty(len(gx0), dtype=np.float64)
    for lx in np.unique(kx):
        for ly in np.unique(ky[kx == lx]):
            sel = (kx == lx) & (ky == ly)
            t = table[lx][ly]
            ax0, ay0 = gx0[sel], gy0[sel]
            ax1 = gx1[sel] - (1 << lx) + 1
            ay1 = gy1[sel] - (1 << ly) + 1
            out[sel] = np.maximum.reduce([t[ax0, ay0], t[ax1, ay0], t[ax0, ay1], t[ax1, ay1]])
    return out


def gcell_map_from_cells(
    values: np.ndarray, spans: np.ndarray, shape: tuple[int, int], reduce: str = "max"
) -> np.ndarray:
    """Per-gcell map from per-cell values: each gcell takes the max (or mean) of the cells covering it.

    Gcells that no cell covers are 0. Cells spanning many gcells are expanded, so the cost is
    the total covered area in gcells.
    """
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}, got {reduce!r}")
    _check_spans(spans, shape)
    values = np.asarray(values, dtype=np.float64)
    wx = (spans[:, 2] - spans[:, 0] + 1).astype(np.int64)
    wy = (spans[:, 3] - spans[:, 1] + 1).astype(np.int64)
    counts = wx * wy
    cell = np.repeat(np.arange(len(values)), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    gx = spans[cell, 0] + offset % wx[cell]
    gy = spans[cell, 1] + offset // wx[cell]
    flat = gx * shape[1] + gy
    out = np.zeros(shape[0] * shape[1], dtype=np.float64)
    if reduce == "max":
        out[:] = -np.inf
        np.maximum.at(out, flat, values[cell])
        out[np.isinf(out)] = 0.0
    else:
        sums = np.bincount(flat, weights=values[cell], minlength=out.size)
        hits = np.bincount(flat, minlength=out.size)
        np.divide(sums, hits, out=out, where=hits > 0)
    return out.reshape(shape).astype(np.float32)
