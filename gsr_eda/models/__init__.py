"""Congestion models: GSR-GNN and the RevGNN, GCN and GraphSAGE baselines, behind one factory.

>>> model = build_model("gsr", in_channels=12, hidden=128, layers=16, k=8)
>>> pred = model(x, adj)   # x (N, 12), adj a mean-normalised CSRAdjacency -> (N,)
"""

from gsr_eda.models.base import ADJACENCY_NORMALIZATION, CongestionModel
from gsr_eda.models.factory import MODEL_NAMES, build_model

__all__ = ["ADJACENCY_NORMALIZATION", "MODEL_NAMES", "CongestionModel", "build_model"]
