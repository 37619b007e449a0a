"""Rectangular (bipartite) matrices through every CBSR kernel: M x N pin incidences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gsr_eda.ops.aggregate as aggregate_module
from gsr_eda import _core
from gsr_eda.ops import CSRAdjacency, cbsr_aggregate, kernels, row_topk
from gsr_eda.ops.aggregate import AGGREGATE_FIRST, GATHER_FIRST
from gsr_eda.ops.reference import cbsr_aggregate_reference, spmm_reference


def incidence(rows: int, cols: int, seed: int, dtype=torch.float64, normalization: str = "mean") -> CSRAdjacency:
    """``rows x cols`` with empty rows, unused columns and one hub row (a clock net)."""
    rng = np.random.default_rng(seed)
    degree = rng.integers(0, 6, rows)
    degree[0] = 0
    degree[rows // 2] = 2 * cols
    indptr = np.concatenate(([0], np.cumsum(degree)))
    indices = rng.integers(0, cols - 2, indptr[-1])  # the last two columns are never used
    return CSRAdjacency.from_csr(indptr, indices, rows, num_cols=cols, normalization=normalization, dtype=dtype)


def dense(adj: CSRAdjacency) -> torch.Tensor:
    indptr, indices, weight = adj.csr()
    out = torch.zeros(adj.num_rows, adj.num_cols, dtype=weight.dtype)
    rows = torch.repeat_interleave(torch.arange(adj.num_rows), indptr.diff())
    out.index_put_((rows, indices.long()), weight, accumulate=True)
    return out


@pytest.mark.parametrize("normalization", ["mean", "sym", "none"])
@pytest.mark.parametrize("shape", [(37, 90), (90, 37)])
def test_rectangular_from_csr_and_its_transpose(normalization: str, shape: tuple[int, int]) -> None:
    adj = incidence(*shape, seed=1, normalization=normalization)
    assert adj.shape == shape and not adj.is_square
    with pytest.raises(ValueError, match="no single node count"):
        _ = adj.num_nodes
    a = dense(adj)
    if normalization == "mean":
        nonempty = (a != 0).any(1)
        torch.testing.assert_close(a.sum(1)[nonempty], torch.ones(int(nonempty.sum()), dtype=a.dtype))
    t_indptr, t_indices, t_weight = adj.csr(transpose=True)
    at = torch.zeros(shape[1], shape[0], dtype=a.dtype)
    rows = torch.repeat_interleave(torch.arange(shape[1]), t_indptr.diff())
    at.index_put_((rows, t_indices.long()), t_weight, accumulate=True)
    torch.testing.assert_close(at, a.t())
    torch.testing.assert_close(adj.to_torch_sparse().to_dense(), a)
    x = torch.randn(shape[1], 5, dtype=a.dtype)
    torch.testing.assert_close(spmm_reference(adj, x), a @ x)
    assert "shape=" in repr(adj)


def test_rectangular_structure_errors() -> None:
    with pytest.raises(ValueError, match="indices must lie in"):
        CSRAdjacency.from_csr([0, 1], [5], 1, num_cols=5)
    with pytest.raises(ValueError, match="self loops need a square"):
        CSRAdjacency.from_csr([0, 1], [2], 1, num_cols=5, add_self_loops=True)
    square = CSRAdjacency.from_csr([0, 1, 1], [1], 2, num_cols=2)
    assert square.is_square and square.num_nodes == 2


@pytest.fixture(params=[GATHER_FIRST, AGGREGATE_FIRST])
def order(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(aggregate_module, "association_order", lambda *args: request.param)
    return request.param


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(60, 150), (150, 60)])
def test_aggregate_forward_and_backward_match_reference(dtype, shape, order: str) -> None:
    rows, cols = shape
    adj = incidence(rows, cols, seed=3, dtype=dtype)
    values, indices = row_topk(torch.randn(cols, 32, dtype=dtype), 6)
    weight = torch.randn(32, 24, dtype=dtype)
    residual = torch.randn(rows, 24, dtype=dtype)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)
    for w in (None, weight):
        ours = [t.clone().requires_grad_() for t in (values, weight)]
        ref = [t.clone().requires_grad_() for t in (values, weight)]
        width = 32 if w is None else 24
        out_ours = cbsr_aggregate(adj, ours[0], indices, 32, None if w is None else ours[1])
        out_ref = cbsr_aggregate_reference(adj, ref[0], indices, 32, None if w is None else ref[1])
        assert out_ours.shape == (rows, width)
        torch.testing.assert_close(out_ours, out_ref, **tol)
        g = torch.randn(rows, width, dtype=dtype)
        out_ours.backward(g)
        out_ref.backward(g)
        torch.testing.assert_close(ours[0].grad, ref[0].grad, **tol)
        if w is not None:
            torch.testing.assert_close(ours[1].grad, ref[1].grad, **tol)
    out = residual.clone()
    cbsr_aggregate(adj, values, indices, 32, weight, out=out)
    torch.testing.assert_close(out, cbsr_aggregate_reference(adj, values, indices, 32, weight, out=residual), **tol)


def test_gradcheck_rectangular(order: str) -> None:
    adj = incidence(20, 33, seed=5)
    values, indices = row_topk(torch.randn(33, 10, dtype=torch.float64), 3)
    values.requires_grad_()
    weight = torch.randn(10, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v, w: cbsr_aggregate(adj, v, indices, 10, w), (values, weight))


@pytest.mark.parametrize("variant", ["cpu", "cpu_baseline"])
def test_raw_kernels_rectangular(variant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every kernel that takes the matrix, on both CPU builds, against dense products."""
    if not hasattr(_core, variant):
        pytest.skip(f"no {variant} build")
    monkeypatch.setattr(_core, "cpu", getattr(_core, variant))
    rows, cols, d, k = 70, 130, 64, 8
    adj = incidence(rows, cols, seed=7, dtype=torch.float32)
    a = dense(adj).double()
    values, indices = row_topk(torch.randn(cols, d), k)
    s = torch.zeros(cols, d).scatter(1, indices.long(), values).double()
    out = torch.empty(rows, d)
    kernels.cbsr_spmm_into(adj, values, indices, d, out)
    torch.testing.assert_close(out.double(), a @ s, rtol=1e-4, atol=1e-4)
    h = torch.randn(cols, d)
    kernels.csr_spmm_into(adj, h, out, bias=torch.ones(d))
    torch.testing.assert_close(out.double(), a @ h.double() + 1, rtol=1e-4, atol=1e-4)
    g = torch.randn(rows, d)
    back = torch.empty(cols, d)
    kernels.csr_spmm_into(adj, g, back, transpose=True)
    torch.testing.assert_close(back.double(), a.t() @ g.double(), rtol=1e-4, atol=1e-4)
    sampled = torch.empty(cols, k)
    kernels.sampled_spmm_into(adj, g, indices, sampled)
    torch.testing.assert_close(sampled.double(), (a.t() @ g.double()).gather(1, indices.long()), rtol=1e-4, atol=1e-4)
    w = torch.randn(d, d) / 8
    grad_values, grad_weight, workspace = torch.empty(cols, k), torch.empty(d, d), torch.empty(cols, d)
    kernels.cbsr_linear_backward_into(adj, g, values, indices, w, grad_values, grad_weight, workspace)
    dh = a.t() @ g.double()
    torch.testing.assert_close(grad_weight.double(), s.t() @ dh, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(
        grad_values.double(), (dh @ w.double().t()).gather(1, indices.long()), rtol=1e-4, atol=1e-3
    )
    with pytest.raises(ValueError, match="shape"):
        kernels.cbsr_spmm_into(adj, values[:rows], indices[:rows], d, out)


def test_empty_side() -> None:
    """No sources (a design without wired nets): products are zero, nothing breaks."""
    adj = CSRAdjacency.from_csr(np.zeros(5, np.int64), np.zeros(0, np.int64), 4, num_cols=0)
    values, indices = row_topk(torch.randn(0, 8), 2)
    out = cbsr_aggregate(adj, values, indices, 8, torch.randn(8, 8))
    assert out.shape == (4, 8) and not out.any()
    empty = CSRAdjacency.from_csr([0], [], 0, num_cols=4)
    values, indices = row_topk(torch.randn(4, 8), 2)
    assert cbsr_aggregate(empty, values, indices, 8).shape == (0, 8)
