"""The graph the GNN sees: edges from a net model, and documented node features.

``build_adjacency`` turns the netlist hypergraph into a symmetric CSR adjacency;
``node_features`` = ``static_features`` + ``position_features``, the latter shared by ingest and
the placement-loop hooks (it depends only on the static design and the positions given; a hook
passes it the design's ``MapContext``, built once, to skip the position-independent work).
"""

from gsr_eda.graph.features import (
    FEATURES,
    POSITION_FEATURES,
    STATIC_FEATURES,
    NodeFeatures,
    node_features,
    position_features,
    static_features,
)
from gsr_eda.graph.gcell_maps import MapContext
from gsr_eda.graph.net_models import NET_MODELS, build_adjacency

__all__ = [
    "FEATURES",
    "MapContext",
    "NET_MODELS",
    "POSITION_FEATURES",
    "STATIC_FEATURES",
    "NodeFeatures",
    "build_adjacency",
    "node_features",
    "position_features",
    "static_features",
]
