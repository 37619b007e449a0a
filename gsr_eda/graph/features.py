"""Node features: the documented schema, static features and position-dependent features.

:func:`position_features` is the single implementation of everything that changes when cells
move; ingest calls it once, and placement-loop hooks call it every iteration with new
positions. It depends only on the static design (sizes, nets, pin offsets, die, grid) and the
positions it is given, never on ``design.x`` / ``design.y`` unless those are what is passed.

The proxy congestion *label* (``gsr_eda.labels.proxy``) is deliberately not a feature: a model
given the proxy as input would learn to copy it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gsr_eda.design import PlacedDesign
from gsr_eda.graph.gcell_maps import MapContext, cell_density_map, rudy_maps, span_max_mean
from gsr_eda.graph.net_models import net_node_pairs

#: Feature name -> (unit, description): the schema stored with every graph.
FEATURES: dict[str, tuple[str, str]] = {
    # Static: from the netlist and the cell library only.
    "width": ("um", "node width in its placed orientation"),
    "height": ("um", "node height in its placed orientation"),
    "area": ("um^2", "width * height"),
    "pin_count": ("pins", "number of pins of the node on the design's nets (pins on the same net all count)"),
    "is_fixed": ("flag", "1 if the node is FIXED (or a fixed CircuitNet macro), else 0"),
    "is_macro": ("flag", "1 if the node is a macro block (LEF CLASS BLOCK), else 0"),
    "is_io": ("flag", "1 if the node is an IO pin, else 0"),
    "net_count": ("nets", "number of distinct nets touching the node"),
    "net_degree_mean": ("pins", "mean pin count of the distinct nets touching the node (0 if none)"),
    "net_degree_max": ("pins", "largest pin count among the nets touching the node (0 if none)"),
    # Position-dependent: recomputed from (static design, positions).
    "x_norm": ("fraction", "node centre x relative to the die: (x + w/2 - die_x0) / die_width"),
    "y_norm": ("fraction", "node centre y relative to the die: (y + h/2 - die_y0) / die_height"),
    "density_max": ("fraction", "max over the node's gcells of the covered fraction of gcell area"),
    "density_mean": ("fraction", "mean over the node's gcells of the covered fraction of gcell area"),
    "rudy_max": ("gcell pitches", "max over the node's gcells of RUDY (CircuitNet, gcell-granular)"),
    "rudy_mean": ("gcell pitches", "mean over the node's gcells of RUDY"),
    "pin_rudy_max": ("gcell pitches", "max over the node's gcells of pin RUDY"),
    "pin_rudy_mean": ("gcell pitches", "mean over the node's gcells of pin RUDY"),
}

STATIC_FEATURES = (
    "width",
    "height",
    "area",
    "pin_count",
    "is_fixed",
    "is_macro",
    "is_io",
    "net_count",
    "net_degree_mean",
    "net_degree_max",
)
POSITION_FEATURES = (
    "x_norm",
    "y_norm",
    "density_max",
    "density_mean",
    "rudy_max",
    "rudy_mean",
    "pin_rudy_max",
    "pin_rudy_mean",
)

#: The gcell maps behind the position features, in the order :func:`position_maps` stacks them.
POSITION_MAPS = ("density", "rudy", "pin_rudy")


@dataclass
class NodeFeatures:
    """A node feature matrix with its column names and units (from :data:`FEATURES`)."""

    values: np.ndarray  # (N, F) float32
    names: list[str]
    units: list[str]

    @classmethod
    def from_columns(cls, columns: dict[str, np.ndarray]) -> NodeFeatures:
        names = list(columns)
        values = np.stack([np.asarray(columns[k], dtype=np.float32) for k in names], axis=1)
        return cls(values, names, [FEATURES[k][0] for k in names])

    def column(self, name: str) -> np.ndarray:
        """One feature column by name."""
        return self.values[:, self.names.index(name)]

    def concat(self, other: NodeFeatures) -> NodeFeatures:
        """Columns of ``self`` followed by those of ``other`` (same nodes)."""
        return NodeFeatures(
            np.concatenate([self.values, other.values], axis=1),
            self.names + other.names,
            self.units + other.units,
        )


def static_features(design: PlacedDesign) -> NodeFeatures:
    """Features that do not depend on positions: sizes, pin count, flags, fan-out of the node's nets."""
    n = design.num_nodes
    pin_count = np.bincount(design.pin_node, minlength=n)
    net, node, _ = net_node_pairs(design)
    pins_per_net = np.diff(design.net_ptr)
    degree = pins_per_net[net].astype(np.float64)
    net_count = np.bincount(node, minlength=n)
    degree_sum = np.bincount(node, weights=degree, minlength=n)
    degree_max = np.zeros(n)
    np.maximum.at(degree_max, node, degree)
    degree_mean = np.divide(degree_sum, net_count, out=np.zeros(n), where=net_count > 0)
    return NodeFeatures.from_columns(
        {
            "width": design.width,
            "height": design.height,
            "area": design.width * design.height,
            "pin_count": pin_count,
            "is_fixed": design.is_fixed,
            "is_macro": design.is_macro,
            "is_io": design.is_io,
            "net_count": net_count,
            "net_degree_mean": degree_mean,
            "net_degree_max": degree_max,
        }
    )


def position_features(
    design: PlacedDesign,
    x: np.ndarray,
    y: np.ndarray,
    *,
    context: MapContext | None = None,
    spans: np.ndarray | None = None,
    maps: np.ndarray | None = None,
) -> NodeFeatures:
    """Position-dependent features of every node at lower-left positions ``(x, y)`` in microns.

    Normalised centre position; then cell density, RUDY and pin RUDY maps on the design grid
    (see :mod:`gsr_eda.graph.gcell_maps` for the definitions), each reduced to the node by the
    max and the mean over the inclusive gcell span of the node's box.

    A caller that repeats this for one design (a placement loop) passes ``context``
    (``MapContext.of(design)``, built once) and may pass ``spans`` (``design.gcell_spans(x, y)``)
    when it needs them too, and ``maps`` (:func:`position_maps` at the same positions) when it
    computed them already (the net-node features read them too); none changes the result.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != (design.num_nodes,) or y.shape != (design.num_nodes,):
        raise ValueError(f"positions must have shape ({design.num_nodes},), got {x.shape} and {y.shape}")
    dx0, dy0, dx1, dy1 = design.die
    spans = design.gcell_spans(x, y) if spans is None else spans
    if maps is None:
        maps = position_maps(design, x, y, context=context, spans=spans)
    peak, mean = span_max_mean(maps, spans)
    columns = {
        "x_norm": (x + 0.5 * design.width - dx0) / (dx1 - dx0),
        "y_norm": (y + 0.5 * design.height - dy0) / (dy1 - dy0),
    }
    for i, name in enumerate(POSITION_MAPS):
        columns[f"{name}_max"] = peak[i]
        columns[f"{name}_mean"] = mean[i]
    return NodeFeatures.from_columns(columns)


def position_maps(
    design: PlacedDesign,
    x: np.ndarray,
    y: np.ndarray,
    *,
    context: MapContext | None = None,
    spans: np.ndarray | None = None,
) -> np.ndarray:
    """Cell density, RUDY and pin RUDY at positions ``(x, y)``: one ``(3, nx, ny)`` float64 array
    in :data:`POSITION_MAPS` order (definitions in :mod:`gsr_eda.graph.gcell_maps`)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    spans = design.gcell_spans(x, y) if spans is None else spans
    rudy, pin_rudy = rudy_maps(design, x, y, context)
    return np.stack([cell_density_map(design, x, y, spans), rudy, pin_rudy])


def node_features(design: PlacedDesign, x: np.ndarray | None = None, y: np.ndarray | None = None) -> NodeFeatures:
    """Static features followed by position features (at ``design.x/y`` unless given)."""
    x = design.x if x is None else x
    y = design.y if y is None else y
    return static_features(design).concat(position_features(design, x, y))
