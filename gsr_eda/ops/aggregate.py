"""CBSR aggregation with autograd: ``Z = out + A @ S(V, I) [@ W]``.

Association order. With ``S = S(V, I)`` (``N x d``, ``k`` nonzeros per row) and ``W`` (``d x e``):

* ``A @ (S @ W)`` costs ``N k e`` (gather rows of ``W``) + ``nnz e`` (dense SpMM);
* ``(A @ S) @ W`` costs ``nnz k`` (CBSR SpMM) + ``N d e`` (one dense GEMM).

The backward follows the chosen order:
``dH = A^T G``, ``dV = rowdot(dH, W[I])``, ``dW = S^T dH`` (one fused pass) for the first;
``dW = (A S)^T G``, ``dV = (A^T (G W^T))`` sampled at ``I`` for the second, which costs
``2 N d e`` (two GEMMs) + ``nnz k`` (a sampled gather). Flops alone mislead: the ``nnz e`` term
gathers a dense ``e``-wide row per nonzero, the sampled gather touches ``k`` scattered words of
such a row (nearly as many cache lines), and the GEMMs run at full arithmetic speed. So
:func:`association_order` weighs each term by its measured cost per element (``_COST_NS``) over
forward + backward: with them ``A @ (S @ W)`` wins below an average degree of ~45 (at
``d = e = 128, k = 8``): capped-clique circuit graphs (~8-20) take it, full cliques (~150) the
other order. Without ``W`` the backward is the sampled product ``dV[j, t] = (A^T G)[j, I[j, t]]``: ``nnz k`` work.
"""

from __future__ import annotations

from typing import Any

import torch

from gsr_eda.ops import kernels
from gsr_eda.ops.adjacency import CSRAdjacency

GATHER_FIRST = "A@(S@W)"
AGGREGATE_FIRST = "(A@S)@W"

# Nanoseconds per element of each term: one thread of the AVX2 build on the CI machine (AMD
# EPYC), zero-riscy-a capped-clique-8, d = 128, k = 8 (benchmarks/bench_layer_breakdown.py; see
# docs/perf-history.md). Ratios, not absolute values, decide the order.
_COST_NS = {
    "dense_gather": 0.20,  # csr_spmm (A @ H, A^T @ G): per (nonzero, column), random rows
    "cbsr_scatter": 1.2,  # cbsr_spmm: one scattered add per (nonzero, kept entry)
    "sampled_gather": 2.7,  # sampled_spmm: one scattered read per (nonzero, kept entry)
    "cbsr_linear": 0.10,  # S @ W, rowdot, S^T dH: per (row, kept entry, column)
    "gemm": 0.025,  # dense GEMM multiply-add
}


def association_order(num_nodes: int, nnz: int, k: int, dim: int, out_dim: int, num_inputs: int | None = None) -> str:
    """The cheaper way to evaluate ``A @ S(V, I) @ W`` and its backward (module docstring).

    ``num_nodes`` is the rows of ``A`` (the outputs), ``num_inputs`` its columns (the rows of
    ``S``; default ``num_nodes``, a square graph).
    """
    cost = _COST_NS
    num_inputs = num_nodes if num_inputs is None else num_inputs
    gather_first = (
        3 * num_inputs * k * out_dim * cost["cbsr_linear"]  # S@W, rowdot, S^T dH
        + 2 * nnz * out_dim * cost["dense_gather"]
    )  # A @ H, A^T @ G
    aggregate_first = (
        nnz * k * (cost["cbsr_scatter"] + cost["sampled_gather"]) + 3 * num_nodes * dim * out_dim * cost["gemm"]
    )  # (AS)W, (AS)^T G, G W^T
    return GATHER_FIRST if gather_first <= aggregate_first else AGGREGATE_FIRST


def linear_aggregate_backward(
    adj: CSRAdjacency,
    grad: torch.Tensor,
    values: torch.Tensor,
    indices: torch.Tensor,
    weight: torch.Tensor,
    order: str,
    grad_values: torch.Tensor | None,
    grad_weight: torch.Tensor | None,
    workspace: torch.Tensor,
    aggregated: torch.Tensor | None = None,
) -> None:
    r"""The VJP of :math:`Z = A\,S(V, I)\,W` for :math:`G = \partial L / \partial Z`, in ``order``:

    .. math::
        \partial W = S^\top (A^\top G) = (A S)^\top G, \qquad
        \partial V_{jt} = (A^\top G\,W^\top)_{j,\,I_{jt}}.

    Writes ``grad_values`` (``C x k``) and ``grad_weight`` (``d x e``), each skipped when None,
    for ``A`` of shape ``R x C`` (``R = C = N`` for a graph). ``workspace`` is scratch:
    ``C x e`` for :data:`GATHER_FIRST` (it receives :math:`A^\top G`), ``R x d`` for
    :data:`AGGREGATE_FIRST` (:math:`G W^\top`). The second order needs ``aggregated``
    :math:`= A S` (``R x d``) for ``grad_weight``.
    """
    if order == GATHER_FIRST:
        if grad_values is not None and grad_weight is not None:
            kernels.cbsr_linear_backward_into(adj, grad, values, indices, weight, grad_values, grad_weight, workspace)
            return
        kernels.csr_spmm_into(adj, grad, workspace, transpose=True)
        if grad_values is not None:
            kernels.cbsr_rowdot_into(workspace, weight, indices, grad_values)
        if grad_weight is not None:
            kernels.cbsr_weight_grad_into(values, indices, workspace, grad_weight)
        return
    if grad_weight is not None:
        torch.mm(aggregated.t(), grad, out=grad_weight)
    if grad_values is not None:
        torch.mm(grad, weight.t(), out=workspace)
        kernels.sampled_spmm_into(adj, workspace, indices, grad_values)


def _check_index_range(indices: torch.Tensor, dim: int) -> None:
    """Raise ``ValueError`` unless every entry of ``indices`` lies in ``[0, dim)``."""
    if not indices.numel():
        return
    if int(indices.max()) >= dim:
        raise ValueError(f"indices must be < dim = {dim}, found {int(indices.max())}")
    if indices.dtype in (torch.int16, torch.int32) and int(indices.min()) < 0:
        raise ValueError("indices must be >= 0")


class _CBSRAggregate(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        adj: CSRAdjacency,
        values: torch.Tensor,
        indices: torch.Tensor,
        dim: int,
        weight: torch.Tensor | None,
        out: torch.Tensor | None,
    ) -> torch.Tensor:
        n_in, k = values.shape
        n = adj.num_rows
        if weight is None:
            result = out if out is not None else values.new_empty(n, dim)
            kernels.cbsr_spmm_into(adj, values, indices, dim, result, accumulate=out is not None)
            order = None
        else:
            out_dim = weight.shape[1]
            order = association_order(n, adj.nnz, k, dim, out_dim, n_in)
            result = out if out is not None else values.new_empty(n, out_dim)
            if order == GATHER_FIRST:
                hidden = values.new_empty(n_in, out_dim)
                kernels.cbsr_linear_into(values, indices, weight, hidden)
                kernels.csr_spmm_into(adj, hidden, result, accumulate=out is not None)
            else:
                aggregated = values.new_empty(n, dim)
                kernels.cbsr_spmm_into(adj, values, indices, dim, aggregated)
                if out is None:
                    torch.mm(aggregated, weight, out=result)
                else:
                    result.addmm_(aggregated, weight)
        if out is not None:
            ctx.mark_dirty(out)
        ctx.adj, ctx.dim, ctx.order = adj, dim, order
        ctx.has_out = out is not None
        ctx.save_for_backward(values, indices, weight)
        return result

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        values, indices, weight = ctx.saved_tensors
        adj = ctx.adj
        grad = grad.contiguous()
        n_in, k = values.shape
        n = adj.num_rows
        grad_values = grad_weight = None
        if weight is None:
            if ctx.needs_input_grad[1]:
                grad_values = values.new_empty(n_in, k)
                kernels.sampled_spmm_into(adj, grad, indices, grad_values)
        else:
            if ctx.needs_input_grad[1]:
                grad_values = values.new_empty(n_in, k)
            if ctx.needs_input_grad[4]:
                grad_weight = torch.empty_like(weight)
            aggregated = None
            if ctx.order == AGGREGATE_FIRST and grad_weight is not None:
                # A @ S is recomputed rather than saved: one CBSR SpMM against N x d of memory.
                aggregated = values.new_empty(n, ctx.dim)
                kernels.cbsr_spmm_into(adj, values, indices, ctx.dim, aggregated)
            if ctx.order == GATHER_FIRST:
                workspace = values.new_empty(n_in, weight.shape[1])
            else:
                workspace = values.new_empty(n, ctx.dim)
            linear_aggregate_backward(
                adj, grad, values, indices, weight, ctx.order, grad_values, grad_weight, workspace, aggregated
            )
        grad_out = grad if ctx.has_out else None
        return None, grad_values, None, None, grad_weight, grad_out


def cbsr_aggregate(
    adj: CSRAdjacency,
    values: torch.Tensor,
    indices: torch.Tensor,
    dim: int,
    weight: torch.Tensor | None = None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Sparse message passing on CBSR features: ``A @ S(values, indices) [@ weight]``.

    ``values`` (``N x k`` float) and ``indices`` (``N x k``, uint8/int16/int32, entries in
    ``[0, dim)``) are the output of :func:`row_topk`; ``dim`` is the width of the dense rows
    they stand for. With ``weight`` (``dim x e``) the result is ``N x e``, evaluated in the
    cheaper association order. With ``out`` the result is added into ``out`` in place (fused
    residual add) and ``out`` is returned. ``adj`` may be rectangular (``R x C``, a bipartite
    relation): ``values`` then has ``C`` rows and the result ``R``. Indices are range-checked on
    the CPU only: on a GPU the check would synchronise with the host on every call. Differentiable w.r.t. ``values``, ``weight`` and
    ``out``; ``indices`` and the graph are constants.
    """
    if not isinstance(adj, CSRAdjacency):
        raise TypeError(f"adj must be a CSRAdjacency, got {type(adj).__name__}")
    if not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be a positive int, got {dim!r}")
    if values.dim() != 2 or indices.shape != values.shape:
        raise ValueError(f"values and indices must both be N x k, got {tuple(values.shape)} and {tuple(indices.shape)}")
    if values.shape[0] != adj.num_cols:
        raise ValueError(f"values has {values.shape[0]} rows but the graph has {adj.num_cols} (source) nodes")
    if values.device != adj.device:
        raise ValueError(f"values are on {values.device} but the graph is on {adj.device}")
    if indices.device.type == "cpu":
        # On a GPU these reads would stall the host on every call; there the indices are trusted.
        _check_index_range(indices, dim)
    if weight is not None and (weight.dim() != 2 or weight.shape[0] != dim):
        raise ValueError(f"weight must be dim x out_dim = {dim} x e, got {tuple(weight.shape)}")
    if weight is not None and weight.dtype != values.dtype:
        raise TypeError(f"weight has dtype {weight.dtype} but values are {values.dtype}")
    if out is not None:
        out_dim = dim if weight is None else weight.shape[1]
        if out.shape != (adj.num_rows, out_dim) or out.dtype != values.dtype:
            raise ValueError(
                f"out must be a {values.dtype} tensor of shape "
                f"({adj.num_rows}, {out_dim}), got {out.dtype} {tuple(out.shape)}"
            )
        if not out.is_contiguous():
            raise ValueError("out must be contiguous: results are accumulated into it in place")
    values = values.contiguous()
    indices = indices.contiguous()
    if weight is not None:
        weight = weight.contiguous()
    return _CBSRAggregate.apply(adj, values, indices, dim, weight, out)
