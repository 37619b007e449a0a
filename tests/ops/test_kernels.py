"""The raw kernels of gsr_eda.ops.kernels against dense torch formulas (float64, exact paths)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gsr_eda.ops import CSRAdjacency, kernels, row_topk
from gsr_eda.ops.reference import scatter_cbsr


def setup(n: int = 90, dim: int = 20, k: int = 4, seed: int = 0, wide: bool = False
          ) -> tuple[CSRAdjacency, torch.Tensor, torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    degree = rng.integers(0, 6, n)
    degree[0], degree[n - 1] = 0, 4 * n  # an empty row and a hub row
    indptr = np.concatenate(([0], np.cumsum(degree)))
    adj = CSRAdjacency.from_csr(indptr, rng.integers(0, n, indptr[-1]), n, normalization="sym",
                                dtype=torch.float64)
    dense_a = adj.to_torch_sparse().to_dense()
    if wide:
        dim = 300  # int16 indices
    values, indices = row_topk(torch.randn(n, dim, dtype=torch.float64), k)
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
        kernels.cbsr_spmm_into(adj, values, indices.long(), 20,
                               torch.empty(n, 20, dtype=torch.float64))
    with pytest.raises(ValueError, match="unsupported device"):
        kernels._backend(torch.device("meta"))
