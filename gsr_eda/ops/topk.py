"""Row top-k, the group-sparse operator GS(k) of GSR-GNN that replaces ReLU."""

from __future__ import annotations

import torch

from gsr_eda.ops.dtypes import index_dtype_for
from gsr_eda.ops.kernels import row_topk_into


def row_topk(P: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Keep the ``k`` largest entries of every row of ``P`` (``N x d``).

    Returns ``(V, I)``: ``V`` (``N x k``, same dtype as ``P``) in descending order and ``I``
    (``N x k``) their columns, ``uint8`` when ``d <= 256`` (one byte per kept entry), else
    ``int16``/``int32``. Equal values go to the lower column, so the result is deterministic.
    NaN ranks above every number (as in ``torch.sort(descending=True)``), so a NaN in ``P``
    shows in ``V`` rather than being dropped.
    Values may be negative: the k largest are kept whatever their sign. No autograd: the
    gradient of ``V`` w.r.t. ``P`` is the scatter of ``dV`` at ``I`` (see the GSR stack).
    """
    if not isinstance(P, torch.Tensor):
        raise TypeError(f"P must be a torch.Tensor, got {type(P).__name__}")
    if P.dim() != 2:
        raise ValueError(f"P must be 2-D (N x d), got shape {tuple(P.shape)}")
    P = P.detach().contiguous()
    n, d = P.shape
    if not 1 <= k <= d:
        raise ValueError(f"k must be in [1, {d}] for rows of width {d}, got {k}")
    values = torch.empty(n, k, dtype=P.dtype, device=P.device)
    indices = torch.empty(n, k, dtype=index_dtype_for(d), device=P.device)
    row_topk_into(P, k, values, indices)
    return values, indices
