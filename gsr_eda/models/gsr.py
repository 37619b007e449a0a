"""``gsr``: the grouped sparse reversible GNN (GSR-GNN) body from the compute core.

Each of the ``L`` layers is a grouped reversible block whose function is
``F_i = CBSR-aggregate(GS_k(LayerNorm(.)))``: the top-``k`` entries per row replace ReLU, and
message passing runs on the sparse (values, indices) pair. Activation memory is flat in depth
(see :class:`gsr_eda.nn.GSRStack`).
"""

from __future__ import annotations

from torch import Tensor, nn

from gsr_eda.nn import GSRStack


class GSRBody(nn.Module):
    """Adapter from :class:`gsr_eda.nn.GSRStack` to the ``body(h, adj)`` interface."""

    def __init__(self, hidden: int, layers: int, groups: int, k: int, dropout: float) -> None:
        super().__init__()
        self.stack = GSRStack(hidden, layers, groups=groups, k=k, dropout=dropout)

    def forward(self, h: Tensor, adj) -> Tensor:
        return self.stack(h, adj)
