"""Per-gcell maps computed from a placement: cell density, RUDY and pin RUDY.

These are the position-dependent inputs of the node features; every function takes the static
design plus node positions, so a placer can call them each iteration with new positions.
All maps are indexed ``[x, y]`` with the design grid's shape ``(nx, ny)``.

RUDY follows CircuitNet's gcell-granular definition. A net whose pins span the inclusive gcell
box ``[gx0, gx1] x [gy0, gy1]`` has ``w = gx1 - gx0 + 1`` and ``h = gy1 - gy0 + 1`` gcells and
spreads its half-perimeter ``w + h`` (in gcell pitches) uniformly over its ``w * h`` gcells:

.. math::

    \\mathrm{RUDY}[i, j] = \\sum_{n \\,:\\, (i, j) \\in \\mathrm{box}(n)} \\frac{w_n + h_n}{w_n h_n}

so ``RUDY[i, j]`` estimates the wirelength, in gcell pitches, that crosses gcell ``(i, j)``.
Pin RUDY puts the same per-net density at the gcell of each of the net's pins instead:
``pinRUDY[i, j] = sum over pins p in gcell (i, j) of (w + h) / (w * h)`` of the net of ``p``.
Nets with fewer than two pins carry no wire and are left out of both.
"""

from __future__ import annotations

import numpy as np

from gsr_eda.design import GcellGrid, PlacedDesign, cells_from_gcell_map


def pin_positions(design: PlacedDesign, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Absolute pin coordinates (microns): node lower-left corner plus the pin's offset."""
    node = design.pin_node
    return x[node] + design.pin_dx, y[node] + design.pin_dy


def point_gcells(grid: GcellGrid, px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gcell indices of points, clipped to the grid (points on a boundary go to the upper gcell)."""
    nx, ny = grid.shape
    gx = np.clip(np.searchsorted(grid.x_edges, px, side="right") - 1, 0, nx - 1)
    gy = np.clip(np.searchsorted(grid.y_edges, py, side="right") - 1, 0, ny - 1)
    return gx, gy


def net_gcell_boxes(design: PlacedDesign, gx: np.ndarray, gy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive gcell box ``(K, 4) [gx0, gy0, gx1, gy1]`` of every net with at least two pins.

    ``(gx, gy)`` are the gcells of the pins (:func:`point_gcells`), so a pin on a gcell boundary
    counts in exactly one gcell. Returns ``(nets, boxes)``: the indices of those nets and their boxes.
    """
    counts = np.diff(design.net_ptr)
    nonempty = np.flatnonzero(counts > 0)
    if len(nonempty) == 0:
        return nonempty, np.empty((0, 4), dtype=np.int64)
    # reduceat needs strictly increasing starts: those of the non-empty nets are.
    starts = design.net_ptr[nonempty]
    boxes = np.stack(
        [
            np.minimum.reduceat(gx, starts),
            np.minimum.reduceat(gy, starts),
            np.maximum.reduceat(gx, starts),
            np.maximum.reduceat(gy, starts),
        ],
        axis=1,
    )
    wired = counts[nonempty] >= 2
    nets, boxes = nonempty[wired], boxes[wired]
    return nets, boxes


def box_sum_map(boxes: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Add ``values[k]`` to every gcell of inclusive box ``k``: 4 difference-array updates, then 2-D cumsum."""
    nx, ny = shape
    gx0, gy0, gx1, gy1 = (boxes[:, i] for i in range(4))
    diff_shape = (nx + 1, ny + 1)
    flat = np.concatenate(
        [
            np.ravel_multi_index((gx0, gy0), diff_shape),
            np.ravel_multi_index((gx1 + 1, gy0), diff_shape),
            np.ravel_multi_index((gx0, gy1 + 1), diff_shape),
            np.ravel_multi_index((gx1 + 1, gy1 + 1), diff_shape),
        ]
    )
    weights = np.concatenate([values, -values, -values, values])
    diff = np.bincount(flat, weights=weights, minlength=diff_shape[0] * diff_shape[1]).astype(np.float64)
    diff = diff.reshape(diff_shape)
    return diff.cumsum(0).cumsum(1)[:nx, :ny]


def rudy_maps(design: PlacedDesign, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(RUDY, pin RUDY)`` float64 maps of shape ``(nx, ny)`` at positions ``(x, y)`` (module docstring)."""
    shape = design.grid.shape
    gx, gy = point_gcells(design.grid, *pin_positions(design, x, y))
    nets, boxes = net_gcell_boxes(design, gx, gy)
    w = (boxes[:, 2] - boxes[:, 0] + 1).astype(np.float64)
    h = (boxes[:, 3] - boxes[:, 1] + 1).astype(np.float64)
    density = (w + h) / (w * h)
    rudy = box_sum_map(boxes, density, shape)
    per_net = np.zeros(design.num_nets)
    per_net[nets] = density
    counts = np.diff(design.net_ptr)
    pin_density = np.repeat(per_net, counts)
    pin_rudy = np.bincount(gx * shape[1] + gy, weights=pin_density, minlength=shape[0] * shape[1]).astype(np.float64)
    return rudy, pin_rudy.reshape(shape)


def box_gcell_overlaps(
    grid: GcellGrid,
    x0: np.ndarray,
    y0: np.ndarray,
    x1: np.ndarray,
    y1: np.ndarray,
    spans: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every (box, gcell) pair with a positive overlap area, for boxes in microns.

    Returns ``(box, gx, gy, area)``. The overlap is separable, ``|box ∩ g| = overlap_x *
    overlap_y``, and each box is expanded over its gcell span, so the cost is the total number
    of covered gcells. Zero-area boxes yield nothing. ``spans`` may pass the boxes' precomputed
    :meth:`GcellGrid.span` to save the lookup.
    """
    x0, y0, x1, y1 = (np.asarray(v, dtype=np.float64) for v in (x0, y0, x1, y1))
    sized = np.flatnonzero((x1 > x0) & (y1 > y0))
    if spans is None:
        spans = grid.span(x0[sized], y0[sized], x1[sized], y1[sized])
    else:
        spans = spans[sized]
    spans = spans.astype(np.int64)
    wx = spans[:, 2] - spans[:, 0] + 1
    wy = spans[:, 3] - spans[:, 1] + 1
    counts = wx * wy
    owner = np.repeat(np.arange(len(sized)), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    gx = spans[owner, 0] + offset % wx[owner]
    gy = spans[owner, 1] + offset // wx[owner]
    box = sized[owner]
    ox = np.minimum(x1[box], grid.x_edges[gx + 1]) - np.maximum(x0[box], grid.x_edges[gx])
    oy = np.minimum(y1[box], grid.y_edges[gy + 1]) - np.maximum(y0[box], grid.y_edges[gy])
    area = np.clip(ox, 0, None) * np.clip(oy, 0, None)
    hit = area > 0
    return box[hit], gx[hit], gy[hit], area[hit]


def gcell_areas(grid: GcellGrid) -> np.ndarray:
    """Area of every gcell in um^2, shape ``(nx, ny)``."""
    return np.outer(np.diff(grid.x_edges), np.diff(grid.y_edges))


def cell_density_map(
    design: PlacedDesign, x: np.ndarray, y: np.ndarray, spans: np.ndarray | None = None
) -> np.ndarray:
    """Fraction of each gcell's area covered by node boxes (overlaps add, so it can exceed 1).

    .. math:: \\rho[i, j] = \\frac{1}{|g_{ij}|} \\sum_c |\\mathrm{box}(c) \\cap g_{ij}|
    """
    grid = design.grid
    nx, ny = grid.shape
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    _, gx, gy, area = box_gcell_overlaps(grid, x, y, x + design.width, y + design.height, spans)
    covered = np.bincount(gx * ny + gy, weights=area, minlength=nx * ny).astype(np.float64).reshape(nx, ny)
    return covered / gcell_areas(grid)


def span_max_mean(maps: np.ndarray, spans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Max and mean of each map ``(K, nx, ny)`` over inclusive gcell spans ``(N, 4)``: two ``(K, N)``.

    Means come from summed-area tables (4 lookups per span). Maxima of spans at most 2 x 2
    gcells (almost every standard cell) are the max of the span's 4 corner gcells; larger spans
    (macros) go through :func:`gsr_eda.design.cells_from_gcell_map`'s range-max table.
    """
    k, nx, ny = maps.shape
    gx0, gy0, gx1, gy1 = (spans[:, i].astype(np.int64) for i in range(4))
    sat = np.zeros((k, nx + 1, ny + 1))
    sat[:, 1:, 1:] = maps.cumsum(1).cumsum(2)
    total = sat[:, gx1 + 1, gy1 + 1] - sat[:, gx0, gy1 + 1] - sat[:, gx1 + 1, gy0] + sat[:, gx0, gy0]
    mean = total / ((gx1 - gx0 + 1) * (gy1 - gy0 + 1))
    peak = np.maximum(np.maximum(maps[:, gx0, gy0], maps[:, gx1, gy0]), np.maximum(maps[:, gx0, gy1], maps[:, gx1, gy1]))
    large = np.flatnonzero((gx1 - gx0 > 1) | (gy1 - gy0 > 1))
    if len(large):
        for i in range(k):
            peak[i, large] = cells_from_gcell_map(maps[i], spans[large], "max")
    return peak, mean
