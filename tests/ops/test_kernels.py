"""The raw kernels of gsr_eda.ops.kernels against dense torch formulas (float64, exact paths)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gsr_eda import _core
from gsr_eda.ops import CSRAdjacency, kernels, row_topk
from gsr_eda.ops.reference import scatter_cbsr


def setup(
    n: int = 90, dim: int = 20, k: int = 4, seed: int = 0, wide: bool = False, dtype: torch.dtype = torch.float64
) -> tuple[CSRAdjacency, torch.Tensor, torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    degree = rng.integers(0, 6, n)
    degree[0], degree[n - 1] = 0, 4 * n  # an empty row and a hub row
    indptr = np.concatenate(([0], np.cumsum(degree)))
    adj = CSRAdjacency.from_csr(indptr, rng.integers(0, n, indptr[-1]), n, normalization="sym", dtype=dtype)
    dense_a = adj.to_torch_sparse().to_dense()
    if wide:
        dim = 300  # int16 indices
    values, indices = row_topk(torch.randn(n, dim, dtype=dtype), k)
    return adj, dense_a, values, indices


@pytest.mark.parametrize("wide", [False, True])
def test_forward_kernels(wide: bool) -> None:
    adj, A, values, indices = setup(wide=wide)
    n, dim = adj.num_nodes, (300 if wide else 20)
    S = scatter_cbsr(values, indices, dim)
    out = torch.full((n, dim), 2.0, dtype=torch.float64)
    kernels.cbsr_spmm_into(adj, values, indices, dim, out, accumulate=True)
    torch.testing.assert_close(out, 2.0 + A @ S)
    kernels.cbsr_spmm_into(adj, values, indices, dim, out)
    torch.testing.assert_close(out, A @ S)
    dense = torch.randn(n, 7, dtype=torch.float64)
    result = torch.empty(n, 7, dtype=torch.float64)
    kernels.csr_spmm_into(adj, dense, result)
    torch.testing.assert_close(result, A @ dense)
    kernels.csr_spmm_into(adj, dense, result, transpose=True)
    torch.testing.assert_close(result, A.t() @ dense)
    weight = torch.randn(dim, 9, dtype=torch.float64)
    hidden = torch.empty(n, 9, dtype=torch.float64)
    kernels.cbsr_linear_into(values, indices, weight, hidden)
    torch.testing.assert_close(hidden, S @ weight)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("accumulate", [False, True])
def test_csr_spmm_bias(dtype: torch.dtype, accumulate: bool) -> None:
    """The bias is added once to every row, the empty row and the hub row included."""
    adj, A, _, _ = setup()
    n = adj.num_nodes
    dense = torch.randn(n, 16, dtype=dtype)
    bias = torch.randn(16, dtype=dtype)
    start = torch.randn(n, 16, dtype=dtype)
    out = start.clone()
    kernels.csr_spmm_into(adj, dense, out, accumulate=accumulate, bias=bias)
    expected = (A @ dense.double() + bias.double()).to(dtype)
    if accumulate:
        expected = expected + start
    tolerance = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(out, expected, rtol=tolerance, atol=tolerance)
    with pytest.raises(ValueError, match="bias has shape"):
        kernels.csr_spmm_into(adj, dense, out, bias=bias[:-1])


@pytest.mark.parametrize("out_dim", [8, 12, 32, 40, 72, 104, 128])
def test_cbsr_linear_float32_widths(out_dim: int) -> None:
    """S @ W in float32 at every column split of the vectorised path (64-, 32- and 8-column
    blocks, then a scalar tail) against a float64 dense product."""
    generator = torch.Generator().manual_seed(out_dim)
    n, dim, k = 200, 48, 6
    values, indices = row_topk(torch.randn(n, dim, generator=generator), k)
    weight = torch.randn(dim, out_dim, generator=generator)
    out = torch.full((n, out_dim), float("nan"))
    kernels.cbsr_linear_into(values, indices, weight, out)
    expected = scatter_cbsr(values.double(), indices, dim) @ weight.double()
    torch.testing.assert_close(out.double(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dim", [4, 8, 12, 32, 44, 72, 128])
def test_csr_spmm_float32_widths(dim: int) -> None:
    """A @ H (+ b, + out) and A^T @ H in float32 at every column split of the vectorised row
    product (32- and 8-column register strips, then a scalar tail), with an empty row and a
    hub row, against float64 dense algebra; the fused backward, which builds each row of
    A^T G with the same product, at the same widths."""
    adj, A, values, indices = setup(dim=16, k=4, seed=dim)
    generator = torch.Generator().manual_seed(dim)
    n = adj.num_nodes
    dense = torch.randn(n, dim, generator=generator)
    bias = torch.randn(dim, generator=generator)
    start = torch.randn(n, dim, generator=generator)
    out = start.clone()
    kernels.csr_spmm_into(adj, dense, out, accumulate=True, bias=bias)
    expected = start.double() + A @ dense.double() + bias.double()
    torch.testing.assert_close(out.double(), expected, rtol=1e-5, atol=1e-5)
    kernels.csr_spmm_into(adj, dense, out, transpose=True)
    torch.testing.assert_close(out.double(), A.t() @ dense.double(), rtol=1e-5, atol=1e-5)

    weight = torch.randn(16, dim, generator=generator)
    dV, dW = torch.empty(n, 4), torch.empty(16, dim)
    kernels.cbsr_linear_backward_into(adj, dense, values.float(), indices, weight, dV, dW, torch.empty(n, dim))
    dH = A.t() @ dense.double()
    torch.testing.assert_close(dV.double(), (dH @ weight.double().t()).gather(1, indices.long()), rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(dW.double(), scatter_cbsr(values, indices, 16).t() @ dH, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("wide", [False, True])
def test_backward_kernels(wide: bool) -> None:
    adj, A, values, indices = setup(wide=wide)
    n, dim, k = adj.num_nodes, (300 if wide else 20), values.shape[1]
    S = scatter_cbsr(values, indices, dim)
    grad = torch.randn(n, dim, dtype=torch.float64)
    dV = torch.empty(n, k, dtype=torch.float64)
    kernels.sampled_spmm_into(adj, grad, indices, dV)
    torch.testing.assert_close(dV, (A.t() @ grad).gather(1, indices.long()))
    weight = torch.randn(dim, 9, dtype=torch.float64)
    grad_h = torch.randn(n, 9, dtype=torch.float64)
    kernels.cbsr_rowdot_into(grad_h, weight, indices, dV)
    torch.testing.assert_close(dV, (grad_h @ weight.t()).gather(1, indices.long()))
    dW = torch.ones(dim, 9, dtype=torch.float64)
    kernels.cbsr_weight_grad_into(values, indices, grad_h, dW, accumulate=True)
    torch.testing.assert_close(dW, 1.0 + S.t() @ grad_h)
    kernels.cbsr_weight_grad_into(values, indices, grad_h, dW)
    torch.testing.assert_close(dW, S.t() @ grad_h)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("k", [1, 4, 5, 8, 16])
def test_cbsr_gathers_for_every_k(dtype: torch.dtype, k: int) -> None:
    """A @ S(V, I) and (A^T G) at I keep a gathered row in registers when k is 4, 8 or 16 and
    go through memory otherwise: both forms, with the empty row and the hub row of setup()."""
    adj, A, values, indices = setup(n=200, dim=40, k=k, seed=k, dtype=dtype)
    n, dim = adj.num_nodes, 40
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else {}
    out = torch.full((n, dim), 2.0, dtype=dtype)
    kernels.cbsr_spmm_into(adj, values, indices, dim, out, accumulate=True)
    torch.testing.assert_close(out, 2.0 + A @ scatter_cbsr(values, indices, dim), **tol)
    grad = torch.randn(n, dim, dtype=dtype)
    dV = torch.full((n, k), float("nan"), dtype=dtype)
    kernels.sampled_spmm_into(adj, grad, indices, dV)
    torch.testing.assert_close(dV, (A.t() @ grad).gather(1, indices.long()), **tol)


def test_parallel_path_matches_serial() -> None:
    """A graph large enough for the OpenMP path, checked against dense float64 algebra."""
    adj, A, values, indices = setup(n=3000, dim=64, k=8, seed=3)
    S = scatter_cbsr(values, indices, 64)
    out = torch.empty(3000, 64, dtype=torch.float64)
    kernels.cbsr_spmm_into(adj, values, indices, 64, out)
    torch.testing.assert_close(out, A @ S)
    grad = torch.randn(3000, 64, dtype=torch.float64)
    dW = torch.empty(64, 64, dtype=torch.float64)
    kernels.cbsr_weight_grad_into(values, indices, grad, dW)
    torch.testing.assert_close(dW, S.t() @ grad)


@pytest.mark.parametrize("n,dim,wide", [(90, 20, False), (90, 20, True), (3000, 64, False)])
def test_fused_linear_backward_equals_the_three_kernels(n: int, dim: int, wide: bool) -> None:
    """dV and dW of A @ (S @ W) in one call (serial and OpenMP paths, uint8 and int16 indices),
    against dense float64 algebra; accumulate adds into dW."""
    adj, A, values, indices = setup(n=n, dim=dim, k=4, seed=5, wide=wide)
    dim = 300 if wide else dim
    S = scatter_cbsr(values, indices, dim)
    weight = torch.randn(dim, 9, dtype=torch.float64)
    grad = torch.randn(n, 9, dtype=torch.float64)
    dV = torch.empty_like(values)
    dW = torch.full((dim, 9), 3.0, dtype=torch.float64)
    workspace = torch.zeros(n, 9, dtype=torch.float64)
    kernels.cbsr_linear_backward_into(adj, grad, values, indices, weight, dV, dW, workspace, accumulate=True)
    dH = A.t() @ grad
    torch.testing.assert_close(dV, (dH @ weight.t()).gather(1, indices.long()))
    torch.testing.assert_close(dW, 3.0 + S.t() @ dH)
    kernels.cbsr_linear_backward_into(adj, grad, values, indices, weight, dV, dW, workspace)
    torch.testing.assert_close(dW, S.t() @ dH)
    with pytest.raises(ValueError, match="shape"):
        kernels.cbsr_linear_backward_into(
            adj, grad, values, indices, weight, dV, dW, torch.empty(n, 8, dtype=torch.float64)
        )


@pytest.mark.skipif(not hasattr(_core, "cpu_baseline"), reason="single CPU variant build")
def test_isa_variants_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    """The AVX2 + FMA build of the CPU kernels (picked at import when the CPU has it) and the
    portable build give the same results (float32, up to FMA rounding; identical top-k)."""
    adj, _, _, _ = setup(n=3000, dim=64, k=8, seed=7)
    generator = torch.Generator().manual_seed(7)
    y = torch.randn(3000, 64, generator=generator)
    weight = torch.randn(64, 64, generator=generator)
    grad = torch.randn(3000, 64, generator=generator)

    def run() -> list[torch.Tensor]:
        values = torch.empty(3000, 8)
        indices = torch.empty(3000, 8, dtype=torch.uint8)
        mean, rstd = torch.empty(3000), torch.empty(3000)
        kernels.layernorm_topk_into(y, torch.ones(64), torch.zeros(64), 1e-5, values, indices, mean, rstd)
        hidden, out = torch.empty(3000, 64), torch.empty(3000, 64)
        kernels.cbsr_linear_into(values, indices, weight, hidden)
        kernels.csr_spmm_into(adj, hidden, out)
        dV, dW = torch.empty(3000, 8), torch.empty(64, 64)
        kernels.cbsr_linear_backward_into(adj, grad, values, indices, weight, dV, dW, torch.empty(3000, 64))
        grad_y = torch.empty(3000, 64)
        kernels.layernorm_topk_backward_into(
            y, torch.ones(64), mean, rstd, indices, dV, grad_y, torch.empty(64), torch.empty(64)
        )
        return [values, indices, out, dV, dW, grad_y]

    best = run()
    monkeypatch.setattr(_core, "cpu", _core.cpu_baseline)
    portable = run()
    assert torch.equal(best[1], portable[1])
    for ours, theirs in zip(best, portable):
        torch.testing.assert_close(ours.float(), theirs.float(), rtol=1e-4, atol=1e-4)


def test_argument_checks() -> None:
    adj, _, values, indices = setup()
    n = adj.num_nodes
    with pytest.raises(ValueError, match="contiguous"):
        kernels.cbsr_spmm_into(adj, values, indices, 20, torch.empty(20, n, dtype=torch.float64).t())
    with pytest.raises(ValueError, match="shape"):
        kernels.cbsr_spmm_into(adj, values, indices, 20, torch.empty(n, 19, dtype=torch.float64))
    with pytest.raises(TypeError, match="dtype"):
        kernels.cbsr_spmm_into(adj, values, indices, 20, torch.empty(n, 20))
    with pytest.raises(TypeError, match="dtype"):
        kernels.cbsr_spmm_into(adj, values, indices.long(), 20, torch.empty(n, 20, dtype=torch.float64))
    with pytest.raises(ValueError, match="unsupported device"):
        kernels._backend(torch.device("meta"))
