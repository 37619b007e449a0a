"""The proxy congestion label: a probabilistic routing estimate for designs without router output.

Model, per net with pins ``p_0, ..., p_{k}`` (``p_0`` is the first pin: the driver in DEF and
CircuitNet order):

1. **Decomposition.** The net becomes the ``k`` two-pin connections ``(p_0, p_i)`` (a star on
   the driver), each connecting the gcells ``(a_x, a_y)`` of ``p_0`` and ``(b_x, b_y)`` of ``p_i``.
2. **Routing.** Each connection takes one of its two L-shapes with probability 1/2:
   horizontal first (along row ``a_y``, turning at column ``b_x``) or vertical first (along
   column ``a_x``, turning at row ``b_y``). In expectation it therefore puts 1/2 horizontal
   track in every gcell of rows ``a_y`` and ``b_y`` between columns ``min(a_x, b_x)`` and
   ``max(a_x, b_x)`` inclusive, and 1/2 vertical track in every gcell of columns ``a_x`` and
   ``b_x`` between rows ``min(a_y, b_y)`` and ``max(a_y, b_y)``. A connection inside one column
   (``a_x = b_x``) has no horizontal part, and one inside one row no vertical part: wiring within
   a gcell is local and uses no global tracks.
3. **Demand vs capacity.** Summing over connections gives the expected horizontal and vertical
   demand ``D_h, D_v`` (tracks) per gcell, compared with the design's track capacity ``C_h, C_v``
   (``design.capacity``; when the design has none, ``default_tracks`` per direction and gcell).
4. **Label.** ``measure="overflow"`` (default):
   ``L = max(0, D_h / C_h - 1) + max(0, D_v / C_v - 1)``, the overflow ratio summed over the
   directions as in CircuitNet; ``measure="utilisation"``: ``L = max(D_h / C_h, D_v / C_v)``.
   Where a gcell has no track in a direction (``C = 0``), both the overflow and the
   utilisation of that direction are the demand ``D`` itself (every track needed overflows).

Everything is vectorised: each connection adds four points to a 1-D difference array per
direction, then a cumulative sum gives the demand maps.
"""

from __future__ import annotations

import numpy as np

from gsr_eda.design import PlacedDesign
from gsr_eda.graph.gcell_maps import pin_positions, point_gcells
from gsr_eda.labels.label import GcellLabel

#: Tracks per direction and gcell assumed when a design has no routing capacity (about one
#: routing layer per direction at the usual gcell size of ~15 tracks).
DEFAULT_TRACKS_PER_GCELL = 15.0
PROXY_MEASURES = ("overflow", "utilisation")


def lshape_demand(
    design: PlacedDesign, x: np.ndarray | None = None, y: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Expected ``(horizontal, vertical)`` track demand per gcell, each ``(nx, ny)`` float64."""
    nx, ny = design.grid.shape
    x = design.x if x is None else np.asarray(x, np.float64)
    y = design.y if y is None else np.asarray(y, np.float64)
    px, py = pin_positions(design, x, y)
    gx, gy = point_gcells(design.grid, px, py)
    counts = np.diff(design.net_ptr)
    driver = np.repeat(design.net_ptr[:-1], counts)  # first pin of each pin's net
    sink = np.flatnonzero(np.arange(design.num_pins) != driver)
    ax, ay, bx, by = gx[driver[sink]], gy[driver[sink]], gx[sink], gy[sink]

    # Horizontal: rows ay and by, columns lo..hi, weight 1/2 each; difference along x.
    cross = ax != bx
    lo, hi = np.minimum(ax, bx)[cross], np.maximum(ax, bx)[cross]
    rows = np.concatenate([ay[cross], by[cross]])
    lo2, hi2 = np.concatenate([lo, lo]), np.concatenate([hi, hi])
    diff = np.bincount(np.concatenate([lo2 * ny + rows, (hi2 + 1) * ny + rows]),
                       weights=np.concatenate([np.full(len(rows), 0.5), np.full(len(rows), -0.5)]),
                       minlength=(nx + 1) * ny).reshape(nx + 1, ny).astype(np.float64)
    horizontal = diff.cumsum(0)[:nx]

    # Vertical: columns ax and bx, rows lo..hi; difference along y.
    cross = ay != by
    lo, hi = np.minimum(ay, by)[cross], np.maximum(ay, by)[cross]
    cols = np.concatenate([ax[cross], bx[cross]])
    lo2, hi2 = np.concatenate([lo, lo]), np.concatenate([hi, hi])
    diff = np.bincount(np.concatenate([cols * (ny + 1) + lo2, cols * (ny + 1) + hi2 + 1]),
                       weights=np.concatenate([np.full(len(cols), 0.5), np.full(len(cols), -0.5)]),
                       minlength=nx * (ny + 1)).reshape(nx, ny + 1).astype(np.float64)
    vertical = diff.cumsum(1)[:, :ny]
    return horizontal, vertical


def proxy_congestion(
    design: PlacedDesign, *, measure: str = "overflow", default_tracks: float = DEFAULT_TRACKS_PER_GCELL
) -> GcellLabel:
    """The proxy label at the design's positions (see the module docstring for the model)."""
    if measure not in PROXY_MEASURES:
        raise ValueError(f"measure must be one of {PROXY_MEASURES}, got {measure!r}")
    demand_h, demand_v = lshape_demand(design)
    if design.capacity is not None:
        cap_h = np.asarray(design.capacity.horizontal, np.float64)
        cap_v = np.asarray(design.capacity.vertical, np.float64)
        capacity_note = "the design's track capacity"
    else:
        cap_h = cap_v = np.full(design.grid.shape, float(default_tracks))
        capacity_note = f"an assumed {default_tracks:g} tracks per direction and gcell"
    ratio_h = np.divide(demand_h, cap_h, out=demand_h.copy(), where=cap_h > 0)
    ratio_v = np.divide(demand_v, cap_v, out=demand_v.copy(), where=cap_v > 0)
    if measure == "overflow":
        over_h = np.where(cap_h > 0, np.maximum(ratio_h - 1, 0), demand_h)
        over_v = np.where(cap_v > 0, np.maximum(ratio_v - 1, 0), demand_v)
        values = over_h + over_v
        what = "overflow ratio max(0, demand / capacity - 1) summed over directions"
    else:
        values = np.maximum(ratio_h, ratio_v)
        what = "utilisation demand / capacity of the busier direction"
    return GcellLabel(
        values=values.astype(np.float32),
        name=f"proxy_lshape_{measure}",
        source="proxy",
        is_proxy=True,
        description=f"proxy: expected L-shape routing {what}, against {capacity_note} (ratio)",
    )
