"""The graph the GNN sees: edges from a net model, and documented node features.

``build_adjacency`` turns the netlist hypergraph into a symmetric CSR adjacency;
``node_features`` = ``static_features`` + ``position_features``, the latter shared by ingest and
the placement-loop hooks (it depends only on the static design and the positions given; a hook
passes it the design's ``MapContext``, built once, to skip the position-independent work).
The ``cell-net`` net model adds net nodes (``build_net_nodes``, :mod:`gsr_eda.graph.net_nodes`)
with their own features, recomputed from positions the same way (``net_position_features``).
"""

from gsr_eda.graph.features import (
    FEATURES,
    POSITION_FEATURES,
    POSITION_MAPS,
    STATIC_FEATURES,
    NodeFeatures,
    node_features,
    position_features,
    position_maps,
    static_features,
)
from gsr_eda.graph.gcell_maps import MapContext
from gsr_eda.graph.net_models import HETEROGENEOUS_NET_MODELS, NET_MODELS, build_adjacency
from gsr_eda.graph.net_nodes import (
    NET_FEATURES,
    POSITION_NET_FEATURES,
    STATIC_NET_FEATURES,
    NetContext,
    NetNodes,
    build_net_nodes,
    net_features,
    net_position_features,
)

__all__ = [
    "FEATURES",
    "HETEROGENEOUS_NET_MODELS",
    "MapContext",
    "NET_FEATURES",
    "NET_MODELS",
    "POSITION_FEATURES",
    "POSITION_MAPS",
    "POSITION_NET_FEATURES",
    "STATIC_FEATURES",
    "STATIC_NET_FEATURES",
    "NetContext",
    "NetNodes",
    "NodeFeatures",
    "build_adjacency",
    "build_net_nodes",
    "net_features",
    "net_position_features",
    "node_features",
    "position_features",
    "position_maps",
    "static_features",
]
