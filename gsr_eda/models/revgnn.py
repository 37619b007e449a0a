r"""``revgnn``: the grouped reversible GNN of RevGNN (Li et al., 2021), the paper's main baseline.

Built with PyG's :class:`torch_geometric.nn.GroupAddRev`. Each layer splits the channels into
``G`` groups and applies, per group,

.. math::

    F(x) = \hat A \, \mathrm{ReLU}(\mathrm{LayerNorm}(x)) \, W

(dense ReLU where GSR-GNN uses the top-k GS operator) with :math:`\hat A = D^{-1}A`, the same
mean aggregation as every other model. Dropout uses one mask per layer shared by the forward
pass and the backward recomputation, so inversion stays exact.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn import GroupAddRev

from gsr_eda.models.base import mean_aggregate


class _RevBlock(nn.Module):
    """``LayerNorm -> ReLU -> dropout -> Linear -> mean aggregation`` on one channel group."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)
        self.lin = nn.Linear(channels, channels)

    def reset_parameters(self) -> None:
        self.norm.reset_parameters()
        self.lin.reset_parameters()

    def forward(self, x: Tensor, adj, dropout_mask: Tensor | None = None) -> Tensor:
        h = torch.relu(self.norm(x))
        if dropout_mask is not None:
            h = h * dropout_mask
        return mean_aggregate(adj, self.lin(h))


class RevGNNBody(nn.Module):
    """``layers`` grouped reversible blocks (PyG ``GroupAddRev``), memory flat in depth."""

    def __init__(self, hidden: int, layers: int, groups: int, dropout: float) -> None:
        super().__init__()
        if groups < 2 or hidden % groups:
            raise ValueError(f"revgnn needs groups >= 2 dividing hidden={hidden}, got groups={groups}")
        self.groups = groups
        self.dropout = dropout
        self.layers = nn.ModuleList(GroupAddRev(_RevBlock(hidden // groups), num_groups=groups) for _ in range(layers))

    def forward(self, h: Tensor, adj) -> Tensor:
        for layer in self.layers:
            mask = None
            if self.training and self.dropout > 0:
                # One mask per layer, reused by the backward recomputation (exact inversion).
                keep = torch.empty(h.shape[0], h.shape[1] // self.groups, device=h.device, dtype=h.dtype)
                mask = keep.bernoulli_(1 - self.dropout) / (1 - self.dropout)
            h = layer(h, adj, mask)
        return h
