r"""``sage``: a residual stack of PyG ``SAGEConv`` layers (mean aggregator).

Layer ``i`` computes :math:`h_{i+1} = h_i + W^{root}_i z + W^{nbr}_i \hat A z`, with
:math:`z = \mathrm{dropout}(\mathrm{ReLU}(\mathrm{LayerNorm}(h_i)))` and :math:`\hat A = D^{-1}A`:
SAGE's unweighted mean over the same neighbour lists is exactly the shared normalisation.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import SAGEConv


class SAGEBody(nn.Module):
    """Pre-norm residual GraphSAGE stack."""

    def __init__(self, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.dropout = dropout
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.convs = nn.ModuleList(SAGEConv(hidden, hidden, aggr="mean") for _ in range(layers))

    def forward(self, h: Tensor, adj) -> Tensor:
        edge_index = adj.edge_index()
        for norm, conv in zip(self.norms, self.convs):
            z = torch.relu(norm(h))
            z = nn.functional.dropout(z, self.dropout, self.training)
            h = h + conv(z, edge_index)
        return h
