"""Every CUDA kernel against the CPU path on the same inputs (run with ``pytest -m cuda``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gsr_eda import _core
from gsr_eda.graph.net_nodes import NET_FEATURES, NetNodes
from gsr_eda.graph.placement_edges import placement_neighbours_csr
from gsr_eda.models.inputs import CellNetGraph
from gsr_eda.nn import GSRStack, HeteroGSRStack
from gsr_eda.ops import CSRAdjacency, cbsr_aggregate, kernels, row_topk

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not (_core.has_cuda() and torch.cuda.is_available() and _core.cuda_device_count() > 0),
        reason="needs an NVIDIA GPU, a CUDA build of torch and the CUDA kernels",
    ),
]


def graph(n: int, seed: int = 0, hub: int = 5000) -> CSRAdjacency:
    """Degree-0 and degree-1 rows next to a hub longer than a GPU part (split-row path)."""
    rng = np.random.default_rng(seed)
    degree = rng.integers(0, 4, n)
    degree[0] = 0
    degree[n // 2] = hub
    indptr = np.concatenate(([0], np.cumsum(degree)))
    return CSRAdjacency.from_csr(indptr, rng.integers(0, n, indptr[-1]), n)


@pytest.mark.parametrize("dim", [16, 128, 300])
def test_row_topk(dim: int) -> None:
    P = torch.randn(5000, dim)
    P[:, 3] = P[:, 7]  # exact ties
    P[10, 5], P[11], P[12, ::3] = float("nan"), float("nan"), float("nan")  # NaN ranks first
    cpu = row_topk(P, 8)
    gpu = row_topk(P.cuda(), 8)
    assert torch.equal(gpu[1].cpu(), cpu[1])
    torch.testing.assert_close(gpu[0].cpu(), cpu[0], rtol=0, atol=0, equal_nan=True)


@pytest.mark.parametrize("dim", [64, 128])
def test_forward_kernels(dim: int) -> None:
    adj = graph(20000)
    gadj = adj.to("cuda")
    values, indices = row_topk(torch.randn(20000, dim), 8)
    gv, gi = values.cuda(), indices.cuda()
    for accumulate in (False, True):
        out = torch.randn(20000, dim)
        gout = out.cuda()
        kernels.cbsr_spmm_into(adj, values, indices, dim, out, accumulate)
        kernels.cbsr_spmm_into(gadj, gv, gi, dim, gout, accumulate)
        torch.testing.assert_close(gout.cpu(), out, rtol=1e-4, atol=1e-5)
        dense = torch.randn(20000, dim)
        kernels.csr_spmm_into(adj, dense, out, accumulate, transpose=accumulate)
        kernels.csr_spmm_into(gadj, dense.cuda(), gout, accumulate, transpose=accumulate)
        torch.testing.assert_close(gout.cpu(), out, rtol=1e-4, atol=1e-5)
        bias = torch.randn(dim)  # once per row, also on the hub rows split between warps
        kernels.csr_spmm_into(adj, dense, out, accumulate, bias=bias)
        kernels.csr_spmm_into(gadj, dense.cuda(), gout, accumulate, bias=bias.cuda())
        torch.testing.assert_close(gout.cpu(), out, rtol=1e-4, atol=1e-5)
    weight = torch.randn(dim, dim)
    hidden, ghidden = torch.empty(20000, dim), torch.empty(20000, dim, device="cuda")
    kernels.cbsr_linear_into(values, indices, weight, hidden)
    kernels.cbsr_linear_into(gv, gi, weight.cuda(), ghidden)
    torch.testing.assert_close(ghidden.cpu(), hidden, rtol=1e-4, atol=1e-5)


def test_backward_kernels() -> None:
    adj = graph(20000)
    gadj = adj.to("cuda")
    values, indices = row_topk(torch.randn(20000, 128), 8)
    grad = torch.randn(20000, 128)
    dv, gdv = torch.empty(20000, 8), torch.empty(20000, 8, device="cuda")
    kernels.sampled_spmm_into(adj, grad, indices, dv)
    kernels.sampled_spmm_into(gadj, grad.cuda(), indices.cuda(), gdv)
    torch.testing.assert_close(gdv.cpu(), dv, rtol=1e-4, atol=1e-5)
    weight = torch.randn(128, 128)
    kernels.cbsr_rowdot_into(grad, weight, indices, dv)
    kernels.cbsr_rowdot_into(grad.cuda(), weight.cuda(), indices.cuda(), gdv)
    torch.testing.assert_close(gdv.cpu(), dv, rtol=1e-4, atol=1e-4)
    for accumulate in (False, True):
        dw = torch.randn(128, 128)
        gdw = dw.cuda()
        kernels.cbsr_weight_grad_into(values, indices, grad, dw, accumulate)
        kernels.cbsr_weight_grad_into(values.cuda(), indices.cuda(), grad.cuda(), gdw, accumulate)
        torch.testing.assert_close(gdw.cpu(), dw, rtol=1e-4, atol=1e-3)


def test_fused_linear_backward() -> None:
    adj = graph(20000)
    gadj = adj.to("cuda")
    values, indices = row_topk(torch.randn(20000, 128), 8)
    grad, weight = torch.randn(20000, 128), torch.randn(128, 128)
    dv, dw = torch.empty(20000, 8), torch.randn(128, 128)
    gdv, gdw = torch.empty(20000, 8, device="cuda"), dw.cuda()
    kernels.cbsr_linear_backward_into(
        adj, grad, values, indices, weight, dv, dw, torch.empty(20000, 128), accumulate=True
    )
    kernels.cbsr_linear_backward_into(
        gadj,
        grad.cuda(),
        values.cuda(),
        indices.cuda(),
        weight.cuda(),
        gdv,
        gdw,
        torch.empty(20000, 128, device="cuda"),
        accumulate=True,
    )
    torch.testing.assert_close(gdv.cpu(), dv, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(gdw.cpu(), dw, rtol=1e-4, atol=1e-2)


def test_autograd_op_and_stack_match_cpu() -> None:
    adj = graph(3000, hub=1000)
    gadj = adj.to("cuda")
    values, indices = row_topk(torch.randn(3000, 64), 8)
    weight = torch.randn(64, 64)
    grads = []
    for a, dev in ((adj, "cpu"), (gadj, "cuda")):
        # detach: on the CPU .to() returns the tensor itself, whose grad would leak into the GPU pass.
        v = values.detach().to(dev).requires_grad_()
        w = weight.detach().to(dev).requires_grad_()
        cbsr_aggregate(a, v, indices.to(dev), 64, w).sum().backward()
        grads.append((v.grad.cpu(), w.grad.cpu()))
    for cpu_grad, gpu_grad in zip(*grads):
        torch.testing.assert_close(gpu_grad, cpu_grad, rtol=1e-4, atol=1e-3)

    torch.manual_seed(0)
    stack = GSRStack(32, 16, groups=2, k=4)
    x = torch.randn(3000, 32)
    out = stack(x, adj)
    out.sum().backward()
    cpu_grads = [p.grad.clone() for p in stack.parameters()]
    stack.zero_grad()
    stack.cuda()
    out_gpu = stack(x.cuda(), gadj)
    out_gpu.sum().backward()
    torch.testing.assert_close(out_gpu.cpu(), out, rtol=1e-3, atol=1e-3)
    for a, p in zip(cpu_grads, stack.parameters()):
        torch.testing.assert_close(p.grad.cpu(), a, rtol=1e-3, atol=1e-2)


def layernorm_topk_forward(y: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, k: int) -> tuple:
    """``(values, indices, mean, rstd)`` of the fused LayerNorm + top-k on ``y``'s device, on the CPU."""
    n, dev = y.shape[0], y.device
    values, indices = torch.empty(n, k, device=dev), torch.empty(n, k, dtype=torch.uint8, device=dev)
    mean, rstd = torch.empty(n, device=dev), torch.empty(n, device=dev)
    kernels.layernorm_topk_into(y, gamma, beta, 1e-5, values, indices, mean, rstd)
    return tuple(t.cpu() for t in (values, indices, mean, rstd))


def layernorm_topk_backward(y: torch.Tensor, gamma: torch.Tensor, forward: tuple, dev: str) -> tuple:
    """``(grad_y, grad_gamma, grad_beta, grad_y_sum)`` on ``dev`` for the kept entries of ``forward``."""
    _, indices, mean, rstd = (t.to(dev) for t in forward)
    (n, d), k = y.shape, indices.shape[1]
    grad_y, grad_y_sum = torch.empty(n, d, device=dev), torch.empty(d, device=dev)
    grad_gamma, grad_beta = torch.empty(d, device=dev), torch.empty(d, device=dev)
    kernels.layernorm_topk_backward_into(
        y.to(dev),
        gamma.to(dev),
        mean,
        rstd,
        indices,
        torch.ones(n, k, device=dev),
        grad_y,
        grad_gamma,
        grad_beta,
        grad_y_sum=grad_y_sum,
    )
    return tuple(t.cpu() for t in (grad_y, grad_gamma, grad_beta, grad_y_sum))


def test_layernorm_topk() -> None:
    n, d, k = 20000, 128, 8
    y, gamma, beta = torch.randn(n, d), torch.rand(d) + 0.5, torch.randn(d)
    cpu = layernorm_topk_forward(y, gamma, beta, k)
    gpu = layernorm_topk_forward(y.cuda(), gamma.cuda(), beta.cuda(), k)
    for a, b in zip(cpu[2:], gpu[2:]):  # mean, rstd
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-3)
    # Same arithmetic on both sides, but a 1-ulp difference may pick the other of a near-tie:
    # a rare row keeps another column (its column-ordered values shift), with the same k values.
    same = (gpu[1] == cpu[1]).all(dim=1)
    assert (~same).sum() <= n * 1e-4
    torch.testing.assert_close(gpu[0][same], cpu[0][same], rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(gpu[0][~same].sort(dim=1).values, cpu[0][~same].sort(dim=1).values, rtol=1e-4, atol=1e-3)
    # The backward from one forward's choice on both devices, so every entry compares.
    cpu_grads = layernorm_topk_backward(y, gamma, cpu, "cpu")
    gpu_grads = layernorm_topk_backward(y, gamma, cpu, "cuda")
    for a, b in zip(cpu_grads[:-1], gpu_grads[:-1]):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-3)
    # Column sums over 20,000 rows, in another order on each side (per-block atomics).
    torch.testing.assert_close(gpu_grads[-1], cpu_grads[-1], rtol=1e-3, atol=1e-2)


def test_rectangular_kernels_match_cpu() -> None:
    """M x N pin incidences (and N x M): the cell-net graph's two relation products."""
    rng = np.random.default_rng(3)
    rows, cols = 9000, 20000
    degree = rng.integers(0, 5, rows)
    degree[rows // 2] = 5000  # a clock net: split over warps
    indptr = np.concatenate(([0], np.cumsum(degree)))
    adj = CSRAdjacency.from_csr(indptr, rng.integers(0, cols, indptr[-1]), rows, num_cols=cols)
    for a in (adj, CSRAdjacency.from_csr(*[t.cpu() for t in adj.csr(transpose=True)[:2]], cols, num_cols=rows)):
        gadj = a.to("cuda")
        values, indices = row_topk(torch.randn(a.num_cols, 64), 8)
        weight = torch.randn(64, 64) / 8
        out = cbsr_aggregate(a, values, indices, 64, weight)
        gout = cbsr_aggregate(gadj, values.cuda(), indices.cuda(), 64, weight.cuda())
        torch.testing.assert_close(gout.cpu(), out, rtol=1e-4, atol=1e-4)
        grad = torch.randn(a.num_rows, 64)
        dv, gdv = torch.empty(a.num_cols, 8), torch.empty(a.num_cols, 8, device="cuda")
        kernels.sampled_spmm_into(a, grad, indices, dv)
        kernels.sampled_spmm_into(gadj, grad.cuda(), indices.cuda(), gdv)
        torch.testing.assert_close(gdv.cpu(), dv, rtol=1e-4, atol=1e-4)
        dw, gdw = torch.empty(64, 64), torch.empty(64, 64, device="cuda")
        ws, gws = torch.empty(a.num_cols, 64), torch.empty(a.num_cols, 64, device="cuda")
        kernels.cbsr_linear_backward_into(a, grad, values, indices, weight, dv, dw, ws)
        kernels.cbsr_linear_backward_into(
            gadj, grad.cuda(), values.cuda(), indices.cuda(), weight.cuda(), gdv, gdw, gws
        )
        torch.testing.assert_close(gdv.cpu(), dv, rtol=1e-4, atol=1e-3)
        torch.testing.assert_close(gdw.cpu(), dw, rtol=1e-4, atol=1e-2)


@pytest.mark.parametrize("net_channels,placement_groups", [(64, 0), (32, 0), (32, 1)])
def test_hetero_stack_on_cuda_matches_cpu_and_streams_change_nothing(net_channels: int, placement_groups: int) -> None:
    """gsr-cellnet's stack: CUDA against the CPU path, and the two-stream pair against one stream;
    nets as wide as the cells and half as wide (gsr-cellnet's default), with and without the
    placement relation."""
    rng = np.random.default_rng(1)
    n, m = 6000, 5000
    sizes = rng.integers(2, 6, m)
    sizes[7] = 3000
    indptr = np.concatenate(([0], np.cumsum(sizes)))
    cells = np.concatenate([rng.choice(n, size=int(s), replace=False) for s in sizes]).astype(np.int32)
    nets = NetNodes(
        np.arange(m),
        indptr,
        cells,
        np.arange(indptr[-1]),
        np.ones((m, len(NET_FEATURES)), np.float32),
        list(NET_FEATURES),
    )
    near = None
    if placement_groups:
        p_indptr, p_indices = placement_neighbours_csr(rng.uniform(0, 500, (n, 2)), 8)
        near = CSRAdjacency.from_csr(p_indptr, p_indices, n, symmetric=True)
    graph = CellNetGraph.from_net_nodes(nets, n, placement=near)
    torch.manual_seed(0)
    stack = HeteroGSRStack(64, 6, k=8, concurrent=False, net_channels=net_channels, placement_groups=placement_groups)
    x_c, x_n = torch.randn(n, 64), torch.randn(m, net_channels)
    results = []
    for device, concurrent in (("cpu", False), ("cuda", False), ("cuda", True)):
        stack = stack.to(device)
        stack.concurrent = concurrent
        stack.zero_grad()
        a = x_c.detach().to(device).requires_grad_()
        b = x_n.detach().to(device).requires_grad_()
        out_c, out_n = stack(a, b, graph.to(device))
        (out_c.square().sum() + out_n.sum()).backward()
        grads = [stack.to_net_weight.grad] + ([stack.placement_weight.grad] if placement_groups else [])
        results.append([t.detach().cpu() for t in (out_c, out_n, a.grad, b.grad, *grads)])
    for other in results[1:]:
        for want, got in zip(results[0], other):
            torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-3 * want.abs().max().item())
