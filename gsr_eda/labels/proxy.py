"""The proxy congestion label: a probabilistic routing estimate for designs without router output.

Model, per net with pins ``p_0, ..., p_k``:

1. **Decomposition** into two-pin connections.
   ``chain`` (default): the pins sorted along the longer side of the net's bounding box, each
   connected to the next: ``k`` connections whose total length approximates a rectilinear
   Steiner tree, as a router would build (exact for 2- and 3-pin nets up to the bend).
   ``star``: ``(p_0, p_i)`` for every ``i``, a star on the first pin (the driver in DEF and
   CircuitNet order). A star routes every sink of a high-fanout net through the driver's gcell,
   so it piles hundreds of tracks onto a few gcells: use it only to reproduce that estimate.
2. **Routing.** Each connection between gcells ``(a_x, a_y)`` and ``(b_x, b_y)`` takes one of its
   two L-shapes with probability 1/2: horizontal first (along row ``a_y``, turning at column
   ``b_x``) or vertical first. In expectation it puts 1/2 horizontal track in every gcell of rows
   ``a_y`` and ``b_y`` between columns ``min(a_x, b_x)`` and ``max(a_x, b_x)`` inclusive, and 1/2
   vertical track in every gcell of columns ``a_x`` and ``b_x`` between rows ``min(a_y, b_y)``
   and ``max(a_y, b_y)``. A connection inside one column (``a_x = b_x``) has no horizontal part,
   and one inside one row no vertical part: wiring within a gcell uses no global tracks.
3. **Demand vs capacity.** Summing over connections gives the expected horizontal and vertical
   demand ``D_h, D_v`` (tracks) per gcell, compared with the design's track capacity ``C_h, C_v``
   (``design.capacity``; when the design has none, ``default_tracks`` per direction and gcell).
4. **Label.** ``measure="utilisation"`` (default): ``L = max(D_h / C_h, D_v / C_v)``, the
   utilisation of the busier direction (1.0: demand equals capacity), continuous everywhere.
   ``measure="overflow"``: ``L = max(0, D_h / C_h - 1) + max(0, D_v / C_v - 1)``, the overflow
   ratio summed over directions as in CircuitNet's labels; on a legally placed design this
   estimate is zero almost everywhere, which makes a poor regression target.
   Where a gcell has no track in a direction (``C = 0``), both measures of that direction are
   the demand ``D`` itself (every track needed overflows).

Everything is vectorised: each connection adds four points to a 1-D difference array per
direction, then a cumulative sum gives the demand maps.
"""

from __future__ import annotations

import numpy as np

from gsr_eda.design import PlacedDesign
from gsr_eda.graph.gcell_maps import pin_positions
from gsr_eda.labels.label import GcellLabel

#: Tracks per direction and gcell assumed when a design has no routing capacity (about one
#: routing layer per direction at the usual gcell size of ~15 tracks).
DEFAULT_TRACKS_PER_GCELL = 15.0
PROXY_MEASURES = ("utilisation", "overflow")
DECOMPOSITIONS = ("chain", "star")


def two_pin_connections(
    design: PlacedDesign, px: np.ndarray, py: np.ndarray, decomposition: str = "chain"
) -> tuple[np.ndarray, np.ndarray]:
    """Pin index pairs ``(a, b)`` of the two-pin connections every net is decomposed into."""
    if decomposition not in DECOMPOSITIONS:
        raise ValueError(f"decomposition must be one of {DECOMPOSITIONS}, got {decomposition!r}")
    counts = np.diff(design.net_ptr)
    net = np.repeat(np.arange(len(counts)), counts)
    if decomposition == "star":
        driver = np.repeat(design.net_ptr[:-1], counts)
        sink = np.flatnonzero(np.arange(design.num_pins) != driver)
        return driver[sink], sink
    span_x = _per_net_extent(net, px, len(counts))
    span_y = _per_net_extent(net, py, len(counts))
    key = np.where((span_x >= span_y)[net], px, py)
    order = np.lexsort((key, net))
    a, b = order[:-1], order[1:]
    same_net = net[a] == net[b]
    return a[same_net], b[same_net]


def _per_net_extent(net: np.ndarray, coord: np.ndarray, num_nets: int) -> np.ndarray:
    lo = np.full(num_nets, np.inf)
    hi = np.full(num_nets, -np.inf)
    np.minimum.at(lo, net, coord)
    np.maximum.at(hi, net, coord)
    return hi - lo


def lshape_demand(
    design: PlacedDesign,
    x: np.ndarray | None = None,
    y: np.ndarray | None = None,
    *,
    decomposition: str = "chain",
) -> tuple[np.ndarray, np.ndarray]:
    """Expected ``(horizontal, vertical)`` track demand per gcell, each ``(nx, ny)`` float64."""
    nx, ny = design.grid.shape
    x = design.x if x is None else np.asarray(x, np.float64)
    y = design.y if y is None else np.asarray(y, np.float64)
    px, py = pin_positions(design, x, y)
    gx, gy = design.grid.locate(px, py)
    a, b = two_pin_connections(design, px, py, decomposition)
    ax, ay, bx, by = gx[a], gy[a], gx[b], gy[b]
    horizontal = _straight_demand(ax, bx, ay, by, nx, ny)
    vertical = _straight_demand(ay, by, ax, bx, ny, nx).T
    return horizontal, vertical


def _straight_demand(a_along, b_along, a_across, b_across, n_along, n_across) -> np.ndarray:
    """Demand ``(n_along, n_across)`` of the segments running along one axis.

    Each connection that changes position along the axis puts 1/2 track on the segment
    ``min..max`` (inclusive) at each of its two end positions across the axis.
    """
    moves = a_along != b_along
    lo = np.minimum(a_along, b_along)[moves]
    hi = np.maximum(a_along, b_along)[moves]
    across = np.concatenate([a_across[moves], b_across[moves]])
    lo2, hi2 = np.concatenate([lo, lo]), np.concatenate([hi, hi])
    half = np.full(len(across), 0.5)
    diff = (
        np.bincount(
            np.concatenate([lo2 * n_across + across, (hi2 + 1) * n_across + across]),
            weights=np.concatenate([half, -half]),
            minlength=(n_along + 1) * n_across,
        )
        .reshape(n_along + 1, n_across)
        .astype(np.float64)
    )
    return diff.cumsum(0)[:n_along]


def proxy_congestion(
    design: PlacedDesign,
    *,
    measure: str = "utilisation",
    decomposition: str = "chain",
    default_tracks: float = DEFAULT_TRACKS_PER_GCELL,
) -> GcellLabel:
    """The proxy label at the design's positions (see the module docstring for the model)."""
    if measure not in PROXY_MEASURES:
        raise ValueError(f"measure must be one of {PROXY_MEASURES}, got {measure!r}")
    demand_h, demand_v = lshape_demand(design, decomposition=decomposition)
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
        name=f"proxy_{decomposition}_lshape_{measure}",
        source="proxy",
        is_proxy=True,
        description=f"proxy: expected L-shape routing ({decomposition} decomposition) {what}, "
        f"against {capacity_note} (ratio)",
    )
