r"""The model shell shared by every architecture: encoder, message-passing body, regression head.

Every congestion model is ``head(body(encoder(x), adj))`` with

.. math::

    h_0 = x W_{enc} + b_{enc}, \qquad
    h_L = \mathrm{body}(h_0, \hat A), \qquad
    \hat y = \mathrm{Linear}(\mathrm{ReLU}(\mathrm{LayerNorm}(h_L))) \in \mathbb{R}^{N},

where :math:`\hat A = D^{-1} A` is the mean-aggregation adjacency (the same normalisation for
every body, so comparisons between architectures are apples to apples). Only the body differs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

if TYPE_CHECKING:
    from gsr_eda.ops import CSRAdjacency

#: The adjacency normalisation every model expects (``CSRAdjacency.from_csr(normalization=...)``).
ADJACENCY_NORMALIZATION = "mean"


class CongestionModel(nn.Module):
    """Per-cell congestion regression: ``model(x (N, F), adj) -> (N,)``.

    ``adj`` is the mean-normalised :class:`~gsr_eda.ops.CSRAdjacency` of the cells, or for the
    cell-net models a :class:`~gsr_eda.models.inputs.CellNetGraph` (both have ``num_nodes``,
    the cells); :func:`gsr_eda.models.inputs.model_graph` builds the right one.

    Args:
        in_channels: number of input node features ``F``.
        hidden: width of the hidden representation.
        body: a module ``body(h (N, hidden), adj) -> (N, hidden)``.
        name: the architecture name, as given to :func:`gsr_eda.models.build_model`.
    """

    def __init__(self, in_channels: int, hidden: int, body: nn.Module, name: str) -> None:
        super().__init__()
        self.name = name
        self.in_channels = in_channels
        self.hidden = hidden
        self.encoder = nn.Linear(in_channels, hidden)
        self.body = body
        self.head = nn.Sequential(nn.LayerNorm(hidden), nn.ReLU(inplace=True), nn.Linear(hidden, 1))

    def forward(self, x: Tensor, adj: CSRAdjacency) -> Tensor:
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected features of shape (N, {self.in_channels}), got {tuple(x.shape)}")
        if x.shape[0] != adj.num_nodes:
            raise ValueError(f"features have {x.shape[0]} rows but the adjacency has {adj.num_nodes} nodes")
        h = self.body(self.encoder(x), adj)
        return self.head(h).squeeze(-1)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def mean_aggregate(adj: CSRAdjacency, h: Tensor) -> Tensor:
    r"""``D^{-1} A h``: the mean of each node's neighbours (the weights live in ``adj``)."""
    return torch.sparse.mm(adj.to_torch_sparse(), h)
