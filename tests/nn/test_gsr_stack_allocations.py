"""GSRStack's layer loops allocate nothing per layer: workspaces are reused across layers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from gsr_eda.nn import GSRStack
from gsr_eda.ops import CSRAdjacency


def allocating_ops(layers: int, groups: int, adj: CSRAdjacency) -> list[str]:
    """Names of the torch ops that allocate during one forward + backward (after a warm-up)."""
    torch.manual_seed(0)
    stack = GSRStack(8 * groups, layers, groups=groups, k=3, dropout=0.1)
    x = torch.randn(adj.num_nodes, 8 * groups, requires_grad=True)
    stack(x, adj).sum().backward()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        stack(x, adj, seed=1).sum().backward()
    return sorted(event.name for event in prof.events() if event.self_cpu_memory_usage > 0)


@pytest.mark.parametrize("groups", [2, 3])
def test_allocations_do_not_grow_with_depth(groups: int) -> None:
    rng = np.random.default_rng(0)
    n = 300
    indptr = np.concatenate(([0], np.cumsum(rng.integers(0, 8, n))))
    adj = CSRAdjacency.from_csr(indptr, rng.integers(0, n, indptr[-1]), n)
    shallow = allocating_ops(1, groups, adj)
    deep = allocating_ops(4, groups, adj)
    assert shallow, "the profiler saw no allocation at all: the check would be vacuous"
    assert deep == shallow


def forward_allocated_bytes(stack: GSRStack, x: torch.Tensor, adj: CSRAdjacency) -> int:
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        stack(x, adj)
    return sum(event.self_cpu_memory_usage for event in prof.events() if event.self_cpu_memory_usage > 0)


def test_inference_keeps_no_indices_and_no_gradient_buffers() -> None:
    """Under no_grad the forward gives the same values and allocates at least the L*C*N*k
    saved indices and the workspace's gradient buffers (one N x d, one N x k, one d x d and
    the negated bias) less: a bound, so buffers the training forward adds later keep it true."""
    rng = np.random.default_rng(1)
    n, layers, groups, width, k = 400, 6, 2, 16, 3
    indptr = np.concatenate(([0], np.cumsum(rng.integers(0, 8, n))))
    adj = CSRAdjacency.from_csr(indptr, rng.integers(0, n, indptr[-1]), n)
    torch.manual_seed(0)
    stack = GSRStack(width, layers, groups=groups, k=k).eval()
    x = torch.randn(n, width)
    training = forward_allocated_bytes(stack, x, adj)
    with torch.no_grad():
        inference = forward_allocated_bytes(stack, x, adj)
        inferred = stack(x, adj)
    assert torch.equal(inferred, stack(x, adj).detach())  # the same values as with autograd
    dim = width // groups
    saved_indices = layers * groups * n * k
    gradient_buffers = (n * dim + n * k + dim * dim + dim) * 4
    assert training - inference >= saved_indices + gradient_buffers, (inference, training)
