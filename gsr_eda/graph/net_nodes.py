r"""Net nodes of the heterogeneous cell-net graph: which nets, their pin edges, their features.

Under the ``cell-net`` net model every net with at least two distinct nodes (the nets that
become edges in the homogeneous models) is a node of its own. Its **pin edges** link it to its
distinct nodes, in pin order (the driver first), as one net-major CSR incidence ``B``
(``M x N``, ``B[j, i] = 1`` when node ``i`` is on net ``j``); the cell-major incidence is its
transpose. Each entry keeps the index of the pin it comes from (the node's first pin on the
net), so the pin offsets (``design.pin_dx[pin]``, ``pin_dy``) are its edge features.

Net features (:data:`NET_FEATURES`), none of them an absolute die position:

* static: ``degree`` (distinct nodes) and ``pin_count``;
* from the pin positions, in gcell pitches (the die's mean gcell width and height, so designs of
  different technologies compare): ``bbox_width`` and ``bbox_height`` of the pins' bounding
  box, and ``hpwl = bbox_width + bbox_height``;
* ``rudy``: the wire density the net spreads over each gcell of its inclusive gcell box,
  :math:`(w + h) / (w h)` with ``w`` and ``h`` the box's extent in gcells: exactly the net's
  contribution to the RUDY map (:mod:`gsr_eda.graph.gcell_maps`), what the clique loses;
* the neighbourhood the net routes through: the means of the RUDY, pin RUDY and cell density
  maps over that gcell box (``box_rudy_mean``, ``box_pin_rudy_mean``, ``box_density_mean``).

:func:`net_position_features` is the one implementation of the position-dependent columns,
used by ingest and by placement loops (:class:`NetContext` keeps what does not move).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gsr_eda.design import PlacedDesign
from gsr_eda.design.gcell import span_sums
from gsr_eda.graph.features import POSITION_MAPS, position_maps
from gsr_eda.graph.gcell_maps import MapContext
from gsr_eda.graph.net_models import net_node_pins

#: Net feature name -> (unit, description): the schema stored with every cell-net design.
NET_FEATURES: dict[str, tuple[str, str]] = {
    "degree": ("nodes", "distinct nodes on the net"),
    "pin_count": ("pins", "pins on the net (a node with two pins on it counts twice)"),
    "bbox_width": ("gcell pitches", "width of the bounding box of the net's pins / the mean gcell width"),
    "bbox_height": ("gcell pitches", "height of the bounding box of the net's pins / the mean gcell height"),
    "hpwl": ("gcell pitches", "half-perimeter wirelength: bbox_width + bbox_height"),
    "rudy": (
        "gcell pitches",
        "(w + h) / (w * h), w and h the extent in gcells of the inclusive gcell box of the pins: "
        "the net's RUDY on each gcell of its box",
    ),
    "box_rudy_mean": ("gcell pitches", "mean of the design's RUDY map over the net's gcell box"),
    "box_pin_rudy_mean": ("gcell pitches", "mean of the pin RUDY map over the net's gcell box"),
    "box_density_mean": ("fraction", "mean of the cell density map over the net's gcell box"),
}
STATIC_NET_FEATURES = ("degree", "pin_count")
POSITION_NET_FEATURES = tuple(name for name in NET_FEATURES if name not in STATIC_NET_FEATURES)


@dataclass
class NetNodes:
    """The net nodes of one design: which nets, the net-major incidence, the features.

    Entry ``e`` of net node ``j`` (``indptr[j] <= e < indptr[j + 1]``) links it to node
    ``cells[e]`` through pin ``pin[e]`` of the design.
    """

    net: np.ndarray  # (M,) int64: the design net of each net node, increasing
    indptr: np.ndarray  # (M + 1,) int64
    cells: np.ndarray  # (E,) int32: distinct nodes of each net, in pin order
    pin: np.ndarray  # (E,) int64: the pin each entry comes from
    features: np.ndarray  # (M, F) float32
    feature_names: list[str]

    @property
    def num_nets(self) -> int:
        return int(self.net.shape[0])

    @property
    def num_pin_edges(self) -> int:
        return int(self.cells.shape[0])

    def column(self, name: str) -> np.ndarray:
        return self.features[:, self.feature_names.index(name)]


@dataclass(frozen=True, eq=False)
class NetContext:
    """The position-independent part of one design's net nodes, built once (:meth:`of`)."""

    design: PlacedDesign
    net: np.ndarray  # (M,) int64
    indptr: np.ndarray  # (M + 1,) int64
    cells: np.ndarray  # (E,) int32
    pin: np.ndarray  # (E,) int64
    pins: np.ndarray  # (Q,) intp: every pin of the kept nets, net by net
    starts: np.ndarray  # (M,) intp: where each kept net's pins start in ``pins``
    static: np.ndarray  # (M, 2) float64: degree, pin count

    @classmethod
    def of(cls, design: PlacedDesign) -> NetContext:
        net, node, pin, degree = net_node_pins(design)
        kept = np.flatnonzero(degree >= 2)
        keep_entry = degree.take(net) >= 2  # memberships come grouped by net, ascending
        indptr = np.zeros(len(kept) + 1, dtype=np.int64)
        np.cumsum(degree[kept], out=indptr[1:])
        net_ptr = np.asarray(design.net_ptr, dtype=np.int64)
        pin_count = np.diff(net_ptr)[kept]
        starts = np.zeros(len(kept), dtype=np.int64)
        np.cumsum(pin_count[:-1], out=starts[1:])
        # The pins of the kept nets, net by net: net j's run starts at net_ptr[j].
        pins = np.repeat(net_ptr[kept] - starts, pin_count) + np.arange(int(pin_count.sum()), dtype=np.int64)
        return cls(
            design=design,
            net=kept.astype(np.int64),
            indptr=indptr,
            cells=node[keep_entry].astype(np.int32),
            pin=pin[keep_entry].astype(np.int64),
            pins=pins.astype(np.intp),
            starts=starts.astype(np.intp),
            static=np.stack([degree[kept], pin_count], axis=1).astype(np.float64),
        )

    def checked(self, design: PlacedDesign) -> NetContext:
        if self.design is not design:
            raise ValueError(f"this NetContext was built for design {self.design.name!r}, not for this one")
        return self


def net_position_features(
    design: PlacedDesign,
    x: np.ndarray,
    y: np.ndarray,
    *,
    context: NetContext | None = None,
    maps: np.ndarray | None = None,
    map_context: MapContext | None = None,
) -> np.ndarray:
    """The :data:`POSITION_NET_FEATURES` columns ``(M, 7)`` float64 at node positions ``(x, y)``.

    ``context`` (:meth:`NetContext.of`, built once per design) and ``maps``
    (:func:`gsr_eda.graph.position_maps` at the same positions, which the cell features need
    too) save work a placement loop would repeat; ``map_context`` is passed on when the maps are
    computed here. None changes the result.
    """
    context = NetContext.of(design) if context is None else context.checked(design)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != (design.num_nodes,) or y.shape != (design.num_nodes,):
        raise ValueError(f"positions must have shape ({design.num_nodes},), got {x.shape} and {y.shape}")
    m = context.net.shape[0]
    if m == 0:
        return np.zeros((0, len(POSITION_NET_FEATURES)))
    if maps is None:
        maps = position_maps(design, x, y, context=map_context)
    pins = context.pins
    px = x.take(design.pin_node.take(pins)) + design.pin_dx.take(pins)
    py = y.take(design.pin_node.take(pins)) + design.pin_dy.take(pins)
    grid = design.grid
    nx, ny = grid.shape
    pitch_x = (grid.x_edges[-1] - grid.x_edges[0]) / nx
    pitch_y = (grid.y_edges[-1] - grid.y_edges[0]) / ny
    starts = context.starts
    width = (np.maximum.reduceat(px, starts) - np.minimum.reduceat(px, starts)) / pitch_x
    height = (np.maximum.reduceat(py, starts) - np.minimum.reduceat(py, starts)) / pitch_y
    gx, gy = grid.locate(px, py)
    gx0, gx1 = np.minimum.reduceat(gx, starts), np.maximum.reduceat(gx, starts)
    gy0, gy1 = np.minimum.reduceat(gy, starts), np.maximum.reduceat(gy, starts)
    w = (gx1 - gx0 + 1).astype(np.float64)
    h = (gy1 - gy0 + 1).astype(np.float64)
    per_gcell = np.ascontiguousarray(np.moveaxis(maps, 0, -1))  # (nx, ny, 3)
    box_mean = span_sums(per_gcell, gx0, gy0, gx1, gy1) / (w * h)[:, None]
    order = {name: i for i, name in enumerate(POSITION_MAPS)}
    return np.stack(
        [
            width,
            height,
            width + height,
            (w + h) / (w * h),
            box_mean[:, order["rudy"]],
            box_mean[:, order["pin_rudy"]],
            box_mean[:, order["density"]],
        ],
        axis=1,
    )


def net_features(
    design: PlacedDesign,
    x: np.ndarray,
    y: np.ndarray,
    *,
    context: NetContext | None = None,
    maps: np.ndarray | None = None,
    map_context: MapContext | None = None,
) -> np.ndarray:
    """Every :data:`NET_FEATURES` column ``(M, F)`` float32, static ones first, at ``(x, y)``."""
    context = NetContext.of(design) if context is None else context.checked(design)
    moving = net_position_features(design, x, y, context=context, maps=maps, map_context=map_context)
    return np.concatenate([context.static, moving], axis=1).astype(np.float32)


def build_net_nodes(
    design: PlacedDesign,
    x: np.ndarray | None = None,
    y: np.ndarray | None = None,
    *,
    context: NetContext | None = None,
    maps: np.ndarray | None = None,
) -> NetNodes:
    """The net nodes of ``design`` with their features at ``(x, y)`` (default: its own positions)."""
    x = design.x if x is None else x
    y = design.y if y is None else y
    context = NetContext.of(design) if context is None else context.checked(design)
    return NetNodes(
        net=context.net.copy(),
        indptr=context.indptr.copy(),
        cells=context.cells.copy(),
        pin=context.pin.copy(),
        features=net_features(design, x, y, context=context, maps=maps),
        feature_names=list(NET_FEATURES),
    )
