"""Pure-PyTorch reference implementations of the kernels, for tests and baselines.

They are written for clarity, not speed: dense intermediates, ordinary autograd. Each one
defines the exact semantics its compiled counterpart must reproduce.
"""

from __future__ import annotations

import torch

from gsr_eda.ops.adjacency import CSRAdjacency


def row_topk_reference(P: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` largest entries of each row, descending; equal values keep the lower column
    first, and NaN ranks above every number (torch's descending sort)."""
    values, order = torch.sort(P, dim=1, descending=True, stable=True)
    return values[:, :k], order[:, :k]


def scatter_cbsr(values: torch.Tensor, indices: torch.Tensor, dim: int) -> torch.Tensor:
    """``S(V, I)``: the dense ``N x dim`` matrix with ``V[j, t]`` at column ``I[j, t]``."""
    dense = values.new_zeros(values.shape[0], dim)
    return dense.scatter(1, indices.long(), values)


def spmm_reference(adj: CSRAdjacency, dense: torch.Tensor) -> torch.Tensor:
    """``A @ dense`` via an index_add over the edges (differentiable in ``dense``); ``A`` may be
    rectangular (``dense`` has ``num_cols`` rows, the result ``num_rows``)."""
    source, target = adj.edge_index()
    weight = adj.edge_weight().to(dense.dtype)
    messages = dense[source] * weight[:, None]
    return dense.new_zeros(adj.num_rows, dense.shape[1]).index_add(0, target, messages)


def cbsr_aggregate_reference(
    adj: CSRAdjacency,
    values: torch.Tensor,
    indices: torch.Tensor,
    dim: int,
    weight: torch.Tensor | None = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """``out + A @ S(V, I) [@ W]`` with dense intermediates."""
    result = spmm_reference(adj, scatter_cbsr(values, indices, dim))
    if weight is not None:
        result = result @ weight
    return result if out is None else out + result


def layernorm_topk_reference(
    y: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float, k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The top-``k`` of ``LayerNorm(y) * gamma + beta`` per row, with autograd through the kept
    values: the entries :func:`row_topk_reference` keeps, listed in column order (the fused
    kernel's layout: which entries are kept does not depend on how they are listed)."""
    h = torch.nn.functional.layer_norm(y, (y.shape[1],), gamma, beta, eps)
    _, indices = row_topk_reference(h.detach(), k)
    indices = indices.sort(dim=1).values
    return h.gather(1, indices), indices
