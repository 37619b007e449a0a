"""Congestion models: GSR-GNN and the RevGNN, GCN and GraphSAGE baselines, behind one factory;
on the cell-net graph, GSR-GNN (``gsr-cellnet``) and heterogeneous GraphSAGE (``hetero-sage``).

>>> model = build_model("gsr", in_channels=12, hidden=128, layers=16, k=8)
>>> graph = model_graph("gsr", record, "cpu")   # a CSRAdjacency, or a CellNetGraph for cell-net models
>>> pred = model(x, graph)   # x (N, 12) standardised cell features -> (N,)
"""

from gsr_eda.models.base import ADJACENCY_NORMALIZATION, CongestionModel
from gsr_eda.models.factory import MODEL_NAMES, build_model
from gsr_eda.models.inputs import CELLNET_MODELS, CellNetGraph, design_graph, model_graph, needs_net_nodes

__all__ = [
    "ADJACENCY_NORMALIZATION",
    "CELLNET_MODELS",
    "MODEL_NAMES",
    "CellNetGraph",
    "CongestionModel",
    "build_model",
    "design_graph",
    "model_graph",
    "needs_net_nodes",
]
