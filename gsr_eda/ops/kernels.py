"""Checked, allocation-free wrappers around the compiled kernels of ``gsr_eda._core``.

Each function validates devices, dtypes, contiguity and shapes (``TypeError``/``ValueError``
for programming errors), then passes raw data pointers to the CPU or CUDA backend; CUDA calls
run on the current PyTorch stream. Outputs are caller-provided so that the reversible stack can
reuse its workspaces. No autograd here: see :mod:`gsr_eda.ops.aggregate` for that.

Notation: ``S(V, I)`` is the dense ``N x d`` matrix whose row ``j`` holds ``V[j, t]`` at column
``I[j, t]`` (the CBSR format of the GSR-GNN paper); ``A`` a :class:`CSRAdjacency`, square or
rectangular (``R x C``): inputs multiplied by ``A`` have ``C`` rows and the products ``R``
(the other way round for ``A^T``). The compiled kernels only ever walk the rows of the CSR they
are given and read the input rows its column indices name, so one code path serves both.
"""

from __future__ import annotations

from typing import Any

import torch

from gsr_eda import _core
from gsr_eda.ops.adjacency import CSRAdjacency
from gsr_eda.ops.dtypes import FLOAT_CODES, INDEX_CODES, index_dtype_for


def _backend(device: torch.device) -> Any:
    if device.type == "cpu":
        return _core.cpu
    if device.type == "cuda":
        if not _core.has_cuda():
            raise RuntimeError(
                "gsr_eda._core was built without CUDA kernels (nvcc was not found at build time, "
                "or GSR_EDA_CUDA=OFF); rebuild with nvcc available to use tensors on CUDA"
            )
        return _core.cuda
    raise ValueError(f"unsupported device {device}: the kernels run on cpu or cuda")


def _stream_args(device: torch.device) -> tuple[int, ...]:
    if device.type == "cuda":
        # Kernels launch on the calling thread's current device: it must own the tensors.
        if device.index is not None and device.index != torch.cuda.current_device():
            raise ValueError(
                f"tensors are on {device} but the current CUDA device is "
                f"{torch.cuda.current_device()}; wrap the call in "
                f"torch.cuda.device({device.index})"
            )
        return (torch.cuda.current_stream(device).cuda_stream,)
    return ()


def _check(name: str, tensor: torch.Tensor, shape: tuple[int, ...], dtypes: Any, device: torch.device) -> None:
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.device != device:
        raise ValueError(f"{name} is on {tensor.device} but the computation is on {device}")
    allowed = dtypes if isinstance(dtypes, (tuple, list, set)) else (dtypes,)
    if tensor.dtype not in allowed:
        raise TypeError(f"{name} has dtype {tensor.dtype}, expected one of {sorted(map(str, allowed))}")
    if tuple(tensor.shape) != tuple(shape):
        raise ValueError(f"{name} has shape {tuple(tensor.shape)}, expected {tuple(shape)}")
    if not tensor.is_contiguous():
        raise ValueError(f"{name} must be contiguous (call .contiguous())")


def _check_float(name: str, tensor: torch.Tensor, device: torch.device) -> None:
    if tensor.dtype not in FLOAT_CODES:
        raise TypeError(f"{name} has dtype {tensor.dtype}; the kernels take float32 or float64")
    if device.type == "cuda" and tensor.dtype != torch.float32:
        raise TypeError(f"{name}: the CUDA kernels take float32, got {tensor.dtype}")


def _csr_args(adj: CSRAdjacency, dtype: torch.dtype, transpose: bool) -> tuple[int, ...]:
    indptr, indices, weights, parts = adj._kernel_arrays(dtype, transpose)
    rows = adj.kernel_rows(transpose)
    return (indptr.data_ptr(), indices.data_ptr(), weights.data_ptr(), parts.data_ptr(), parts.shape[0], rows)


def _vi_checks(values: torch.Tensor, indices: torch.Tensor, n: int, device: torch.device) -> int:
    if values.dim() != 2:
        raise ValueError(f"values must be 2-D (N x k), got shape {tuple(values.shape)}")
    k = values.shape[1]
    _check("values", values, (n, k), tuple(FLOAT_CODES), device)
    _check_float("values", values, device)
    _check("indices", indices, (n, k), tuple(INDEX_CODES), device)
    return k


def row_topk_into(P: torch.Tensor, k: int, values: torch.Tensor, indices: torch.Tensor) -> None:
    """Write the row top-k of ``P`` (descending, ties to the lower column, NaN first) into the
    outputs."""
    if P.dim() != 2:
        raise ValueError(f"P must be 2-D (N x d), got shape {tuple(P.shape)}")
    n, d = P.shape
    if not 1 <= k <= d:
        raise ValueError(f"k must be in [1, {d}] for rows of width {d}, got {k}")
    device = P.device
    _check("P", P, (n, d), tuple(FLOAT_CODES), device)
    _check_float("P", P, device)
    _check("values", values, (n, k), P.dtype, device)
    _check("indices", indices, (n, k), index_dtype_for(d), device)
    if n == 0:
        return
    _backend(device).row_topk(
        P.data_ptr(),
        n,
        d,
        k,
        FLOAT_CODES[P.dtype],
        values.data_ptr(),
        indices.data_ptr(),
        INDEX_CODES[indices.dtype],
        *_stream_args(device),
    )


def cbsr_spmm_into(
    adj: CSRAdjacency,
    values: torch.Tensor,
    indices: torch.Tensor,
    dim: int,
    out: torch.Tensor,
    accumulate: bool = False,
) -> None:
    """``out (+)= A @ S(values, indices)`` with ``S`` of width ``dim``: ``values`` and
    ``indices`` have ``num_cols`` rows, ``out`` ``num_rows``."""
    device, rows, cols = adj.device, adj.num_rows, adj.num_cols
    k = _vi_checks(values, indices, cols, device)
    _check("out", out, (rows, dim), values.dtype, device)
    if rows == 0:
        return
    _backend(device).cbsr_spmm(
        *_csr_args(adj, values.dtype, False),
        values.data_ptr(),
        indices.data_ptr(),
        k,
        dim,
        out.data_ptr(),
        bool(accumulate),
        FLOAT_CODES[values.dtype],
        INDEX_CODES[indices.dtype],
        *_stream_args(device),
    )


def csr_spmm_into(
    adj: CSRAdjacency,
    dense: torch.Tensor,
    out: torch.Tensor,
    accumulate: bool = False,
    transpose: bool = False,
    bias: torch.Tensor | None = None,
) -> None:
    """``out (+)= A @ dense (+ bias)`` (or ``A^T @ dense`` with ``transpose``, using the stored
    transpose). ``bias`` (``d``) is added to every row in the same pass over ``out``. ``dense``
    has ``num_cols`` rows and ``out`` ``num_rows`` (with ``transpose``, the other way round)."""
    device = adj.device
    rows, cols = adj.kernel_rows(transpose), adj.kernel_rows(not transpose)
    if dense.dim() != 2:
        raise ValueError(f"dense must be 2-D (N x d), got shape {tuple(dense.shape)}")
    d = dense.shape[1]
    _check("dense", dense, (cols, d), tuple(FLOAT_CODES), device)
    _check_float("dense", dense, device)
    _check("out", out, (rows, d), dense.dtype, device)
    if bias is not None:
        _check("bias", bias, (d,), dense.dtype, device)
    if rows == 0:
        return
    _backend(device).csr_spmm(
        *_csr_args(adj, dense.dtype, transpose),
        dense.data_ptr(),
        d,
        0 if bias is None else bias.data_ptr(),
        out.data_ptr(),
        bool(accumulate),
        FLOAT_CODES[dense.dtype],
        *_stream_args(device),
    )


def cbsr_linear_into(values: torch.Tensor, indices: torch.Tensor, weight: torch.Tensor, out: torch.Tensor) -> None:
    """``out = S(values, indices) @ weight`` in ``N * k * d_out`` work."""
    device, n = values.device, values.shape[0]
    k = _vi_checks(values, indices, n, device)
    if weight.dim() != 2:
        raise ValueError(f"weight must be 2-D (d_in x d_out), got shape {tuple(weight.shape)}")
    d_in, d_out = weight.shape
    _check("weight", weight, (d_in, d_out), values.dtype, device)
    _check("out", out, (n, d_out), values.dtype, device)
    if n == 0:
        return
    _backend(device).cbsr_linear(
        values.data_ptr(),
        indices.data_ptr(),
        n,
        k,
        weight.data_ptr(),
        d_in,
        d_out,
        out.data_ptr(),
        FLOAT_CODES[values.dtype],
        INDEX_CODES[indices.dtype],
        *_stream_args(device),
    )


def sampled_spmm_into(adj: CSRAdjacency, grad: torch.Tensor, indices: torch.Tensor, out: torch.Tensor) -> None:
    """``out[j, t] = (A^T @ grad)[j, indices[j, t]]``, pulled over the stored transpose
    (``grad`` has ``num_rows`` rows, ``indices`` and ``out`` ``num_cols``)."""
    device, rows, cols = adj.device, adj.num_rows, adj.num_cols
    if grad.dim() != 2 or indices.dim() != 2:
        raise ValueError("grad and indices must be 2-D")
    d, k = grad.shape[1], indices.shape[1]
    _check("grad", grad, (rows, d), tuple(FLOAT_CODES), device)
    _check_float("grad", grad, device)
    _check("indices", indices, (cols, k), tuple(INDEX_CODES), device)
    _check("out", out, (cols, k), grad.dtype, device)
    if cols == 0:
        return
    _backend(device).sampled_spmm(
        *_csr_args(adj, grad.dtype, True),
        grad.data_ptr(),
        d,
        indices.data_ptr(),
        k,
        out.data_ptr(),
        FLOAT_CODES[grad.dtype],
        INDEX_CODES[indices.dtype],
        *_stream_args(device),
    )


def cbsr_rowdot_into(grad_h: torch.Tensor, weight: torch.Tensor, indices: torch.Tensor, out: torch.Tensor) -> None:
    """``out[j, t] = grad_h[j] . weight[indices[j, t]]`` (gradient of ``S @ W`` w.r.t. ``V``)."""
    device = grad_h.device
    if grad_h.dim() != 2 or weight.dim() != 2 or indices.dim() != 2:
        raise ValueError("grad_h, weight and indices must be 2-D")
    n, d_out = grad_h.shape
    d_in, k = weight.shape[0], indices.shape[1]
    _check("grad_h", grad_h, (n, d_out), tuple(FLOAT_CODES), device)
    _check_float("grad_h", grad_h, device)
    _check("weight", weight, (d_in, d_out), grad_h.dtype, device)
    _check("indices", indices, (n, k), tuple(INDEX_CODES), device)
    _check("out", out, (n, k), grad_h.dtype, device)
    if n == 0:
        return
    _backend(device).cbsr_rowdot(
        grad_h.data_ptr(),
        weight.data_ptr(),
        indices.data_ptr(),
        n,
        k,
        d_in,
        d_out,
        out.data_ptr(),
        FLOAT_CODES[grad_h.dtype],
        INDEX_CODES[indices.dtype],
        *_stream_args(device),
    )


def cbsr_weight_grad_into(
    values: torch.Tensor, indices: torch.Tensor, grad_h: torch.Tensor, out: torch.Tensor, accumulate: bool = False
) -> None:
    """``out (+)= S(values, indices)^T @ grad_h`` in ``N * k * d_out`` work."""
    device, n = values.device, values.shape[0]
    k = _vi_checks(values, indices, n, device)
    if grad_h.dim() != 2 or out.dim() != 2:
        raise ValueError("grad_h and out must be 2-D")
    d_in, d_out = out.shape
    _check("grad_h", grad_h, (n, d_out), values.dtype, device)
    _check("out", out, (d_in, d_out), values.dtype, device)
    if n == 0:
        if not accumulate:
            out.zero_()
        return
    partials = _weight_grad_partials(values, n, d_in, d_out)
    _backend(device).cbsr_weight_grad(
        values.data_ptr(),
        indices.data_ptr(),
        grad_h.data_ptr(),
        n,
        k,
        d_in,
        d_out,
        out.data_ptr(),
        bool(accumulate),
        partials.shape[0],
        partials.data_ptr(),
        FLOAT_CODES[values.dtype],
        INDEX_CODES[indices.dtype],
        *_stream_args(device),
    )


def _weight_grad_partials(values: torch.Tensor, n: int, d_in: int, d_out: int) -> torch.Tensor:
    """Scratch for the weight gradient's per-block partial sums: ``blocks x d_in x d_out``.

    On a GPU, ``min(ceil(n / 256), 128)`` blocks (enough to fill the device, few enough that the
    scratch stays small) each sum a slice of the rows. It comes from torch's caching allocator, so
    memory figures count it; the CPU kernels need none (0 blocks). Keep it alive until the launch:
    once freed, the allocator hands its block only to work queued later on the same stream.
    """
    blocks = min(-(-n // 256), 128) if values.device.type == "cuda" else 0
    return torch.empty(blocks, d_in, d_out, dtype=values.dtype, device=values.device)


def cbsr_linear_backward_into(
    adj: CSRAdjacency,
    grad: torch.Tensor,
    values: torch.Tensor,
    indices: torch.Tensor,
    weight: torch.Tensor,
    grad_values: torch.Tensor,
    grad_weight: torch.Tensor,
    workspace: torch.Tensor,
    accumulate: bool = False,
) -> None:
    """Backward of ``A @ (S(values, indices) @ weight)`` for the output gradient ``grad``.

    With ``dH = A^T grad``: ``grad_values[j, t] = dH[j] . weight[indices[j, t]]`` and
    ``grad_weight (+)= S^T dH``. The AVX2 CPU build does it in one pass (each ``dH`` row stays
    in cache between its uses); CUDA and the portable CPU build write ``dH`` into ``workspace``
    (``N x d_out``, same dtype; its content afterwards is unspecified) and run
    :func:`csr_spmm_into` (transposed), :func:`cbsr_rowdot_into`, :func:`cbsr_weight_grad_into`.
    ``grad`` has ``num_rows`` rows; ``values``, ``indices``, ``grad_values`` and ``workspace``
    ``num_cols``.
    """
    device, rows, n = adj.device, adj.num_rows, adj.num_cols
    k = _vi_checks(values, indices, n, device)
    if grad.dim() != 2 or weight.dim() != 2:
        raise ValueError("grad and weight must be 2-D")
    d_in, d_out = weight.shape
    _check("grad", grad, (rows, d_out), values.dtype, device)
    _check("weight", weight, (d_in, d_out), values.dtype, device)
    _check("grad_values", grad_values, (n, k), values.dtype, device)
    _check("grad_weight", grad_weight, (d_in, d_out), values.dtype, device)
    _check("workspace", workspace, (n, d_out), values.dtype, device)
    if n == 0:
        if not accumulate:
            grad_weight.zero_()
        return
    partials = _weight_grad_partials(values, n, d_in, d_out)
    _backend(device).cbsr_linear_backward(
        *_csr_args(adj, values.dtype, True),
        grad.data_ptr(),
        d_out,
        values.data_ptr(),
        indices.data_ptr(),
        k,
        weight.data_ptr(),
        d_in,
        grad_values.data_ptr(),
        grad_weight.data_ptr(),
        bool(accumulate),
        workspace.data_ptr(),
        partials.shape[0],
        partials.data_ptr(),
        FLOAT_CODES[values.dtype],
        INDEX_CODES[indices.dtype],
        *_stream_args(device),
    )


def layernorm_topk_into(
    y: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    eps: float,
    values: torch.Tensor,
    indices: torch.Tensor,
    mean: torch.Tensor,
    rstd: torch.Tensor,
    given_indices: bool = False,
) -> None:
    """Fused LayerNorm + GS(k): top-k of ``h = (y - mean) * rstd * gamma + beta`` per row.

    Writes ``values``/``indices`` (``N x k``) and the row statistics ``mean``/``rstd`` (``N``)
    that :func:`layernorm_topk_backward_into` needs. The kept entries are those of
    :func:`~gsr_eda.ops.row_topk` (the ``k`` largest, ties to the lower column, NaN first),
    listed in column order, like the sorted columns of a CSR row. With ``given_indices`` the
    positions are read from ``indices`` (the forward's choice, in any order) and ``values`` is
    ``h`` there.
    """
    device = y.device
    if y.dim() != 2 or values.dim() != 2:
        raise ValueError("y and values must be 2-D")
    n, d = y.shape
    k = values.shape[1]
    if not 1 <= k <= d:
        raise ValueError(f"k must be in [1, {d}] for rows of width {d}, got {k}")
    _check("y", y, (n, d), tuple(FLOAT_CODES), device)
    _check_float("y", y, device)
    for name, tensor, shape in (
        ("gamma", gamma, (d,)),
        ("beta", beta, (d,)),
        ("values", values, (n, k)),
        ("mean", mean, (n,)),
        ("rstd", rstd, (n,)),
    ):
        _check(name, tensor, shape, y.dtype, device)
    _check("indices", indices, (n, k), index_dtype_for(d), device)
    if n == 0:
        return
    _backend(device).layernorm_topk(
        y.data_ptr(),
        n,
        d,
        k,
        gamma.data_ptr(),
        beta.data_ptr(),
        float(eps),
        values.data_ptr(),
        indices.data_ptr(),
        mean.data_ptr(),
        rstd.data_ptr(),
        bool(given_indices),
        FLOAT_CODES[y.dtype],
        INDEX_CODES[indices.dtype],
        *_stream_args(device),
    )


def layernorm_topk_backward_into(
    y: torch.Tensor,
    gamma: torch.Tensor,
    mean: torch.Tensor,
    rstd: torch.Tensor,
    indices: torch.Tensor,
    grad_values: torch.Tensor,
    grad_y: torch.Tensor,
    grad_gamma: torch.Tensor,
    grad_beta: torch.Tensor,
    accumulate: bool = False,
    grad_y_sum: torch.Tensor | None = None,
) -> None:
    """Backward of :func:`layernorm_topk_into`: ``grad_y (+)=``, ``grad_gamma``/``grad_beta`` ``=``.

    With ``grad_y_sum`` (``d``), also ``grad_y_sum = grad_y.sum(0)`` of the updated ``grad_y``,
    summed while its rows are written rather than in another pass over ``N x d``.
    """
    device = y.device
    if y.dim() != 2 or grad_values.dim() != 2:
        raise ValueError("y and grad_values must be 2-D")
    n, d = y.shape
    k = grad_values.shape[1]
    _check("y", y, (n, d), tuple(FLOAT_CODES), device)
    _check_float("y", y, device)
    for name, tensor, shape in (
        ("gamma", gamma, (d,)),
        ("mean", mean, (n,)),
        ("rstd", rstd, (n,)),
        ("grad_values", grad_values, (n, k)),
        ("grad_y", grad_y, (n, d)),
        ("grad_gamma", grad_gamma, (d,)),
        ("grad_beta", grad_beta, (d,)),
    ):
        _check(name, tensor, shape, y.dtype, device)
    if grad_y_sum is not None:
        _check("grad_y_sum", grad_y_sum, (d,), y.dtype, device)
    _check("indices", indices, (n, k), index_dtype_for(d), device)
    if n == 0:
        for tensor in (grad_gamma, grad_beta, grad_y_sum):
            if tensor is not None:
                tensor.zero_()
        return
    _backend(device).layernorm_topk_backward(
        y.data_ptr(),
        n,
        d,
        k,
        gamma.data_ptr(),
        mean.data_ptr(),
        rstd.data_ptr(),
        indices.data_ptr(),
        grad_values.data_ptr(),
        grad_y.data_ptr(),
        bool(accumulate),
        grad_gamma.data_ptr(),
        grad_beta.data_ptr(),
        0 if grad_y_sum is None else grad_y_sum.data_ptr(),
        FLOAT_CODES[y.dtype],
        INDEX_CODES[indices.dtype],
        *_stream_args(device),
    )
