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

A placement loop recomputes these maps every iteration for the same design. What does not
depend on positions (the pins that carry wire, their offsets and nets) lives in a
:class:`MapContext`, built once per design and passed to every call; without one each function
builds it on the fly (ingest). The results are the same either way, bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gsr_eda.design import GcellGrid, PlacedDesign
from gsr_eda.design.gcell import box_sum_map, span_gcells, span_sums


@dataclass(frozen=True, eq=False)
class MapContext:
    """The position-independent arrays of one design that the maps need (see the module docstring).

    Only the pins of nets with at least two pins are kept: the others add nothing to any map.
    Build it with :meth:`of`; it is tied to that design object.
    """

    design: PlacedDesign
    pin_node: np.ndarray  # (P,) intp: node of each kept pin, in net order
    pin_dx: np.ndarray  # (P,) float64: offset from the node's lower-left corner
    pin_dy: np.ndarray  # (P,) float64
    pin_net: np.ndarray  # (P,) intp: which kept net the pin is on (0 .. K-1)
    pin_key: np.ndarray  # (P,) int64: pin_net * key_stride (see _net_extent)
    net_last: np.ndarray  # (K,) intp: index of each kept net's last pin among the kept pins

    @classmethod
    def of(cls, design: PlacedDesign) -> MapContext:
        counts = np.diff(design.net_ptr)
        wired = counts >= 2
        keep = np.repeat(wired, counts)
        kept_counts = counts[wired]
        pin_net = np.repeat(np.arange(len(kept_counts)), kept_counts)
        key_stride = max(design.grid.shape)  # larger than any gcell index
        return cls(
            design=design,
            pin_node=design.pin_node[keep].astype(np.intp),
            pin_dx=design.pin_dx[keep].astype(np.float64),
            pin_dy=design.pin_dy[keep].astype(np.float64),
            pin_net=pin_net,
            pin_key=pin_net.astype(np.int64) * key_stride,
            net_last=np.cumsum(kept_counts) - 1,
        )

    def checked(self, design: PlacedDesign) -> MapContext:
        """``self``, after making sure it was built for ``design`` (a wrong one would give wrong maps silently)."""
        if self.design is not design:
            raise ValueError(f"this MapContext was built for design {self.design.name!r}, not for this one")
        return self


def _context(design: PlacedDesign, context: MapContext | None) -> MapContext:
    return MapContext.of(design) if context is None else context.checked(design)


def pin_positions(design: PlacedDesign, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Absolute pin coordinates (microns): node lower-left corner plus the pin's offset."""
    node = design.pin_node
    return x[node] + design.pin_dx, y[node] + design.pin_dy


def _net_extent(context: MapContext, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest gcell index ``g`` (one per kept pin) over the pins of each kept net.

    Segmented min / max by running extrema: adding ``pin_net * stride`` (``stride`` > every
    index) makes each net's keys exceed all earlier nets' keys, so the running maximum at a net's
    last pin is that net's own maximum, and likewise for the minimum of ``g - pin_net * stride``.
    Two sequential passes; ``ufunc.reduceat`` costs 3x more, its per-net overhead dominating on
    nets of 2 or 3 pins.
    """
    base = context.pin_key.take(context.net_last)
    low = np.minimum.accumulate(g - context.pin_key).take(context.net_last) + base
    high = np.maximum.accumulate(g + context.pin_key).take(context.net_last) - base
    return low, high


def rudy_maps(
    design: PlacedDesign, x: np.ndarray, y: np.ndarray, context: MapContext | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(RUDY, pin RUDY)`` float64 maps of shape ``(nx, ny)`` at positions ``(x, y)`` (module docstring)."""
    context = _context(design, context)
    nx, ny = design.grid.shape
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    gx, gy = design.grid.locate(x.take(context.pin_node) + context.pin_dx, y.take(context.pin_node) + context.pin_dy)
    gx0, gx1 = _net_extent(context, gx)
    gy0, gy1 = _net_extent(context, gy)
    w = (gx1 - gx0 + 1).astype(np.float64)
    h = (gy1 - gy0 + 1).astype(np.float64)
    density = (w + h) / (w * h)
    rudy = box_sum_map(np.stack([gx0, gy0, gx1, gy1], axis=1), density, (nx, ny))
    pin_rudy = np.bincount(gx * ny + gy, weights=density.take(context.pin_net), minlength=nx * ny)
    return rudy, pin_rudy.reshape(nx, ny)


def _overlap_pairs(
    grid: GcellGrid, x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray, spans: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(box, gx, gy, area)`` for every gcell of every box's span, zero overlaps included, box by box."""
    box, gx, gy = span_gcells(spans)
    xe, ye = grid.x_edges, grid.y_edges
    ox = np.minimum(x1.take(box), xe.take(gx + 1)) - np.maximum(x0.take(box), xe.take(gx))
    oy = np.minimum(y1.take(box), ye.take(gy + 1)) - np.maximum(y0.take(box), ye.take(gy))
    return box, gx, gy, np.clip(ox, 0, None) * np.clip(oy, 0, None)


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
    if len(sized) < len(x0):  # a placed design usually has no zero-size box but its IO pins
        x0, y0, x1, y1 = (v.take(sized) for v in (x0, y0, x1, y1))
        spans = None if spans is None else spans.take(sized, axis=0)
    spans = grid.span(x0, y0, x1, y1) if spans is None else spans
    box, gx, gy, area = _overlap_pairs(grid, x0, y0, x1, y1, spans)
    hit = area > 0
    return sized.take(box[hit]), gx[hit], gy[hit], area[hit]


def gcell_areas(grid: GcellGrid) -> np.ndarray:
    """Area of every gcell in um^2, shape ``(nx, ny)``."""
    return np.outer(np.diff(grid.x_edges), np.diff(grid.y_edges))


def cell_density_map(
    design: PlacedDesign,
    x: np.ndarray,
    y: np.ndarray,
    spans: np.ndarray | None = None,
) -> np.ndarray:
    """Fraction of each gcell's area covered by node boxes (overlaps add, so it can exceed 1).

    .. math:: \\rho[i, j] = \\frac{1}{|g_{ij}|} \\sum_c |\\mathrm{box}(c) \\cap g_{ij}|

    Zero-size nodes (IO pins) cover nothing; the overlaps of one gcell add up in node order.
    """
    grid = design.grid
    nx, ny = grid.shape
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    _, gx, gy, area = box_gcell_overlaps(grid, x, y, x + design.width, y + design.height, spans)
    covered = np.bincount(gx * ny + gy, weights=area, minlength=nx * ny).reshape(nx, ny)
    return covered / gcell_areas(grid)


def span_max_mean(maps: np.ndarray, spans: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Max and mean of each map ``(K, nx, ny)`` over inclusive gcell spans ``(N, 4)``: two ``(K, N)``.

    The K maps are laid out gcell-major, so one gather fetches all K values of a gcell. Means
    come from summed-area tables (4 lookups per span). Maxima of spans at most 2 x 2 gcells
    (almost every standard cell) are the max of the span's 4 corner gcells; larger spans (macros,
    wide cells) are expanded over their gcells, which costs no more than the density map's
    expansion of every node.
    """
    k, nx, ny = maps.shape
    per_gcell = np.ascontiguousarray(np.moveaxis(maps, 0, -1))  # (nx, ny, K)
    gx0, gy0, gx1, gy1 = (spans[:, i].astype(np.intp) for i in range(4))
    mean = span_sums(per_gcell, gx0, gy0, gx1, gy1) / ((gx1 - gx0 + 1) * (gy1 - gy0 + 1))[:, None]
    flat = per_gcell.reshape(nx * ny, k)
    left, right = gx0 * ny, gx1 * ny
    peak = np.maximum(
        np.maximum(flat.take(left + gy0, axis=0), flat.take(right + gy0, axis=0)),
        np.maximum(flat.take(left + gy1, axis=0), flat.take(right + gy1, axis=0)),
    )
    large = np.flatnonzero((gx1 - gx0 > 1) | (gy1 - gy0 > 1))
    if len(large):
        owner, gx, gy = span_gcells(spans.take(large, axis=0))
        starts = np.flatnonzero(np.diff(owner, prepend=-1))
        peak[large] = np.maximum.reduceat(flat.take(gx * ny + gy, axis=0), starts, axis=0)
    return peak.T, mean.T
