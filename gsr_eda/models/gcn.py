r"""``gcn``: a residual stack of PyG ``GCNConv`` layers on the shared mean-normalised adjacency.

Layer ``i`` computes :math:`h_{i+1} = h_i + \mathrm{dropout}(\hat A\,\mathrm{ReLU}(\mathrm{LayerNorm}(h_i))\,W_i + b_i)`
with ``GCNConv(normalize=False)`` fed the weights of :math:`\hat A = D^{-1}A`, so GCN sees exactly
the same aggregation as the other models (not its own symmetric normalisation).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import GCNConv


class GCNBody(nn.Module):
    """Pre-norm residual GCN stack."""

    def __init__(self, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.dropout = dropout
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.convs = nn.ModuleList(
            GCNConv(hidden, hidden, normalize=False, add_self_loops=False, cached=False) for _ in range(layers)
        )

    def forward(self, h: Tensor, adj) -> Tensor:
        edge_index, edge_weight = adj.edge_index(), adj.edge_weight()
        for norm, conv in zip(self.norms, self.convs):
            z = torch.relu(norm(h))
            z = nn.functional.dropout(z, self.dropout, self.training)
            h = h + conv(z, edge_index, edge_weight)
        return h
