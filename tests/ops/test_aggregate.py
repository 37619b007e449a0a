"""CBSR aggregation (forward, both association orders, fused add) and its autograd."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gsr_eda.ops.aggregate as aggregate_module
from gsr_eda.ops import CSRAdjacency, association_order, cbsr_aggregate, row_topk
from gsr_eda.ops.aggregate import AGGREGATE_FIRST, GATHER_FIRST
from gsr_eda.ops.reference import cbsr_aggregate_reference


def random_adjacency(
    n: int, seed: int, dtype: torch.dtype = torch.float64, normalization: str = "mean"
) -> CSRAdjacency:
    """Random graph with empty rows, an isolated column and one hub row."""
    rng = np.random.default_rng(seed)
    degree = rng.integers(0, 5, n)
    degree[1] = 0
    degree[n // 2] = 3 * n
    indptr = np.concatenate(([0], np.cumsum(degree)))
    return CSRAdjacency.from_csr(indptr, rng.integers(0, n, indptr[-1]), n, normalization=normalization, dtype=dtype)


def cbsr_inputs(n: int, dim: int, k: int, dtype: torch.dtype, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    P = torch.randn(n, dim, dtype=dtype, generator=torch.Generator().manual_seed(seed))
    return row_topk(P, k)


@pytest.fixture(params=[GATHER_FIRST, AGGREGATE_FIRST])
def order(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Force one association order so both code paths are checked on small graphs."""
    monkeypatch.setattr(aggregate_module, "association_order", lambda *args: request.param)
    return request.param


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("normalization", ["mean", "sym", "none"])
def test_forward_matches_reference(dtype: torch.dtype, normalization: str, order: str) -> None:
    adj = random_adjacency(120, seed=5, dtype=dtype, normalization=normalization)
    values, indices = cbsr_inputs(120, 32, 5, dtype)
    weight = torch.randn(32, 24, dtype=dtype)
    # Unnormalised sums over the hub row reach ~100: float32 rounding differs by ~1e-5 there.
    tol = dict(rtol=1e-4, atol=5e-4) if dtype == torch.float32 else dict(rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(
        cbsr_aggregate(adj, values, indices, 32), cbsr_aggregate_reference(adj, values, indices, 32), **tol
    )
    torch.testing.assert_close(
        cbsr_aggregate(adj, values, indices, 32, weight),
        cbsr_aggregate_reference(adj, values, indices, 32, weight),
        **tol,
    )
    residual = torch.randn(120, 24, dtype=dtype)
    expected = cbsr_aggregate_reference(adj, values, indices, 32, weight, out=residual)
    out = residual.clone()
    result = cbsr_aggregate(adj, values, indices, 32, weight, out=out)
    assert result is out
    torch.testing.assert_close(out, expected, **tol)


def test_gradcheck_without_weight() -> None:
    adj = random_adjacency(30, seed=2)
    values, indices = cbsr_inputs(30, 12, 3, torch.float64)
    values.requires_grad_()
    assert torch.autograd.gradcheck(lambda v: cbsr_aggregate(adj, v, indices, 12), (values,))


def test_gradcheck_with_weight_and_out(order: str) -> None:
    adj = random_adjacency(30, seed=4)
    values, indices = cbsr_inputs(30, 12, 3, torch.float64)
    values.requires_grad_()
    weight = torch.randn(12, 7, dtype=torch.float64, requires_grad=True)
    residual = torch.randn(30, 7, dtype=torch.float64, requires_grad=True)

    def fn(v: torch.Tensor, w: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        return cbsr_aggregate(adj, v, indices, 12, w, out=r.clone())

    assert torch.autograd.gradcheck(fn, (values, weight, residual))


def test_gradients_match_reference_float32(order: str) -> None:
    adj = random_adjacency(300, seed=8, dtype=torch.float32)
    values, indices = cbsr_inputs(300, 64, 8, torch.float32)
    weight = torch.randn(64, 64)
    grad = torch.randn(300, 64)
    ours = [t.clone().requires_grad_() for t in (values, weight)]
    ref = [t.clone().requires_grad_() for t in (values, weight)]
    cbsr_aggregate(adj, ours[0], indices, 64, ours[1]).backward(grad)
    cbsr_aggregate_reference(adj, ref[0], indices, 64, ref[1]).backward(grad)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-4)


def test_association_order_follows_cost() -> None:
    n, k, d = 38656, 8, 128
    assert association_order(n, 2 * n, k, d, d) == GATHER_FIRST  # very sparse graphs
    assert association_order(n, 20 * n, k, d, d) == GATHER_FIRST  # capped cliques
    assert association_order(n, 150 * n, k, d, d) == AGGREGATE_FIRST  # full cliques
    assert association_order(n, 150 * n, k, d, 4) == GATHER_FIRST  # narrow output
    assert association_order(n, 150 * n, 64, d, d) == GATHER_FIRST  # dense-ish CBSR rows


def test_real_circuit_graph(shared_data) -> None:  # noqa: ANN001 - pytest fixture
    """zero-riscy-b: nets up to 8 pins as cliques, larger nets as stars (clock hubs)."""
    pins = np.load(
        shared_data / "circuitnet/graph_information/pin_attr/zero-riscy-b-1-c2_pin_attr.npy", allow_pickle=True
    )
    scalar = np.array([not isinstance(net, (list, np.ndarray)) for net in pins[1]])
    net = pins[1][scalar].astype(np.int64)
    node = pins[2][scalar].astype(np.int64)
    num_nodes = int(pins[2].max()) + 1 + 3  # three extra isolated nodes: empty rows for sure
    pairs = np.unique(np.stack([net, node], axis=1), axis=0)
    order = np.argsort(pairs[:, 0], kind="stable")
    net, node = pairs[order, 0], pairs[order, 1]
    starts = np.flatnonzero(np.r_[True, net[1:] != net[:-1]])
    sizes = np.diff(np.r_[starts, net.size])
    src, dst = [], []
    for start, size in zip(starts, sizes):
        members = node[start : start + size]
        if size <= 8:
            a, b = np.meshgrid(members, members)
            keep = a != b
            src.append(a[keep])
            dst.append(b[keep])
        else:  # star around the first pin: a hub row of degree size - 1
            src.append(np.r_[members[1:], np.repeat(members[0], size - 1)])
            dst.append(np.r_[np.repeat(members[0], size - 1), members[1:]])
    src, dst = np.concatenate(src), np.concatenate(dst)
    order = np.lexsort((src, dst))
    indptr = np.r_[0, np.cumsum(np.bincount(dst, minlength=num_nodes))]
    adj = CSRAdjacency.from_csr(indptr, src[order], num_nodes)
    degree = np.diff(indptr)
    assert degree.max() > 30 * np.median(degree) and (degree == 0).sum() >= 3

    values, indices = cbsr_inputs(num_nodes, 128, 8, torch.float32)
    weight = torch.randn(128, 128) / 8
    for w in (None, weight):
        torch.testing.assert_close(
            cbsr_aggregate(adj, values, indices, 128, w),
            cbsr_aggregate_reference(adj, values, indices, 128, w),
            rtol=1e-4,
            atol=1e-5,
        )
    grad = torch.randn(num_nodes, 128)
    ours, ref = values.clone().requires_grad_(), values.clone().requires_grad_()
    cbsr_aggregate(adj, ours, indices, 128).backward(grad)
    cbsr_aggregate_reference(adj, ref, indices, 128).backward(grad)
    torch.testing.assert_close(ours.grad, ref.grad, rtol=1e-4, atol=1e-5)


def test_errors() -> None:
    adj = random_adjacency(10, seed=1, dtype=torch.float32)
    values, indices = cbsr_inputs(10, 8, 2, torch.float32)
    with pytest.raises(ValueError, match="indices must be < dim"):
        cbsr_aggregate(adj, values, indices, 4)
    with pytest.raises(ValueError, match="rows but the graph has"):
        cbsr_aggregate(adj, values[:5], indices[:5], 8)
    with pytest.raises(ValueError, match="N x k"):
        cbsr_aggregate(adj, values, indices[:, :1], 8)
    with pytest.raises(ValueError, match="weight must be"):
        cbsr_aggregate(adj, values, indices, 8, torch.randn(7, 3))
    with pytest.raises(TypeError, match="CSRAdjacency"):
        cbsr_aggregate("graph", values, indices, 8)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="dtype"):
        cbsr_aggregate(adj, values.double(), indices, 8, torch.randn(8, 3))
