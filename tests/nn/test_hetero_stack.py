"""HeteroGSRStack: gradients equal plain autograd (sequential and concurrent), flat memory, errors."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from gsr_eda.graph.net_nodes import NET_FEATURES, NetNodes
from gsr_eda.graph.placement_edges import placement_neighbours_csr
from gsr_eda.models.inputs import CellNetGraph
from gsr_eda.nn import HeteroGSRStack, gsr_block, hetero_stack_reference
from gsr_eda.ops import CSRAdjacency
from gsr_eda.ops.aggregate import AGGREGATE_FIRST, GATHER_FIRST


@pytest.fixture(autouse=True)
def single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def random_cellnet(n: int = 40, m: int = 25, seed: int = 0, placement: int = 0) -> CellNetGraph:
    """Nets of 2-5 distinct cells, one net of 30 (a clock), a few cells on no net; with
    ``placement``, each cell's nearest cells at random positions as the cell -> cell relation."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 6, m)
    sizes[3] = min(30, n - 3)
    cells = [rng.choice(n - 3, size=int(s), replace=False) for s in sizes]  # cells n-3.. on no net
    indptr = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    nets = NetNodes(
        net=np.arange(m, dtype=np.int64),
        indptr=indptr,
        cells=np.concatenate(cells).astype(np.int32),
        pin=np.arange(indptr[-1], dtype=np.int64),
        features=rng.uniform(0, 5, (m, len(NET_FEATURES))).astype(np.float32),
        feature_names=list(NET_FEATURES),
    )
    near = None
    if placement:
        p_indptr, p_indices = placement_neighbours_csr(rng.uniform(0, 100, (n, 2)), placement)
        near = CSRAdjacency.from_csr(p_indptr, p_indices, n, symmetric=True)
    return CellNetGraph.from_net_nodes(nets, n, placement=near)


def gradients(stack, x_c, x_n, graph, grad_c, grad_n, reference: bool, seed: int):
    stack.zero_grad()
    x_c = x_c.clone().requires_grad_()
    x_n = x_n.clone().requires_grad_()
    run = hetero_stack_reference if reference else (lambda s, a, b, g, seed: s(a, b, g, seed=seed))
    out_c, out_n = run(stack, x_c, x_n, graph, seed=seed)
    torch.autograd.backward([out_c, out_n], [grad_c, grad_n])
    return (out_c.detach(), out_n.detach()), [x_c.grad, x_n.grad] + [p.grad.clone() for p in stack.parameters()]


@pytest.mark.parametrize("concurrent", [False, True])
@pytest.mark.parametrize(
    "groups,layers,k,dropout,save_indices,order,net_group_width,placement",
    [
        (2, 40, 3, 0.0, True, GATHER_FIRST, 8, 0),
        (3, 8, 2, 0.3, True, AGGREGATE_FIRST, 8, 0),
        (4, 5, 4, 0.0, False, GATHER_FIRST, 8, 0),
        (2, 12, 3, 0.2, True, GATHER_FIRST, 4, 0),  # nets narrower than cells
        (3, 6, 2, 0.0, True, AGGREGATE_FIRST, 12, 0),  # nets wider than cells
        # The cell -> cell placement relation, (K neighbours, groups that take it):
        (2, 20, 3, 0.0, True, GATHER_FIRST, 4, (4, 2)),  # in every group
        (2, 12, 3, 0.2, True, GATHER_FIRST, 4, (4, 1)),  # in the first group of each layer
        (3, 6, 2, 0.3, True, AGGREGATE_FIRST, 8, (3, 1)),  # ... the summed first group, dropout
        (4, 4, 3, 0.0, False, GATHER_FIRST, 8, (5, 3)),
    ],
)
def test_gradients_equal_plain_autograd(
    groups, layers, k, dropout, save_indices, order, net_group_width, placement, concurrent, monkeypatch
):
    monkeypatch.setattr(gsr_block, "association_order", lambda *args: order)
    torch.manual_seed(0)
    neighbours, placement_groups = placement or (0, 0)
    graph = random_cellnet(placement=neighbours)
    width, net_width = 8 * groups, net_group_width * groups
    stack = HeteroGSRStack(
        width,
        layers,
        groups=groups,
        k=k,
        dropout=dropout,
        save_indices=save_indices,
        concurrent=concurrent,
        net_channels=net_width,
        placement_groups=placement_groups,
    )
    with torch.no_grad():
        for p in stack.parameters():
            if p.dim() == 3:  # LayerNorm and bias stacks: off their defaults
                p.add_(0.1 * torch.randn_like(p))
    x_c, x_n = torch.randn(graph.num_nodes, width), torch.randn(graph.num_nets, net_width)
    grad_c, grad_n = torch.randn_like(x_c), torch.randn_like(x_n)
    out, ours = gradients(stack, x_c, x_n, graph, grad_c, grad_n, reference=False, seed=7)
    ref, theirs = gradients(stack, x_c, x_n, graph, grad_c, grad_n, reference=True, seed=7)
    for a, b in zip(out, ref):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * b.abs().max().item())
    names = ["x_cell", "x_net"] + [name for name, _ in stack.named_parameters()]
    for name, a, b in zip(names, ours, theirs):
        scale = b.abs().max().item()
        assert scale > 0, name
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * scale, msg=name)


def test_concurrent_equals_sequential_bit_for_bit():
    graph = random_cellnet(seed=3)
    torch.manual_seed(1)
    stack = HeteroGSRStack(16, 6, k=3)
    x_c, x_n = torch.randn(graph.num_nodes, 16), torch.randn(graph.num_nets, 16)
    grad = (torch.randn_like(x_c), torch.randn_like(x_n))
    seq = gradients(stack, x_c, x_n, graph, *grad, reference=False, seed=0)
    stack.concurrent = True
    par = gradients(stack, x_c, x_n, graph, *grad, reference=False, seed=0)
    for a, b in zip([*seq[0], *seq[1]], [*par[0], *par[1]]):
        assert torch.equal(a, b)


def test_placement_relation_carries_messages_between_near_cells():
    """Without the relation a cell hears only its nets; with it, its placement neighbours too."""
    graph = random_cellnet(seed=5, placement=3)
    torch.manual_seed(2)
    stack = HeteroGSRStack(16, 1, k=4, placement_groups=1).eval()
    x_c, x_n = torch.randn(graph.num_nodes, 16), torch.randn(graph.num_nets, 16)
    lonely = graph.num_nodes - 1  # on no net: only the placement relation reaches it
    x_c2 = x_c.clone()
    indptr, indices, _ = graph.placement.csr()
    near = indices[indptr[lonely] : indptr[lonely + 1]]
    x_c2[near] += torch.randn(len(near), 16)  # not a constant shift: LayerNorm would erase it
    assert (stack(x_c2, x_n, graph)[0][lonely] != stack(x_c, x_n, graph)[0][lonely]).any()
    stack.placement_groups = 0  # the same first two relations alone
    assert torch.equal(stack(x_c2, x_n, graph)[0][lonely], stack(x_c, x_n, graph)[0][lonely])


def test_placement_relation_needs_the_graphs_matrix():
    stack = HeteroGSRStack(16, 2, placement_groups=1)
    assert len(stack.stacked_parameters()) == 9 and stack.placement_weight.shape == (
        2,
        1,
        8,
        8,
    )  # W'' alone: LN and code shared
    graph = random_cellnet()
    with pytest.raises(ValueError, match="placement relation"):
        stack(torch.randn(graph.num_nodes, 16), torch.randn(graph.num_nets, 16), graph)
    with pytest.raises(ValueError, match="placement_groups"):
        HeteroGSRStack(16, 2, placement_groups=3)


def test_float64_gradcheck():
    graph = random_cellnet(12, 7, seed=2)

    # float64 kernels need float64 weights in the matrices: rebuild both as float64.
    def as64(adj):
        indptr, indices, _ = adj.csr()
        return CSRAdjacency.from_csr(indptr, indices, adj.num_rows, num_cols=adj.num_cols, dtype=torch.float64)

    graph = CellNetGraph(as64(graph.net_from_cell), as64(graph.cell_from_net), graph.net_x.double())
    stack = HeteroGSRStack(6, 2, groups=2, k=2).double()
    x_c = torch.randn(12, 6, dtype=torch.float64, requires_grad=True)
    x_n = torch.randn(7, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: stack(a, b, graph), (x_c, x_n))


def test_dropout_reproducible_and_messages_cross_types():
    graph = random_cellnet(seed=4)
    stack = HeteroGSRStack(16, 3, k=4, dropout=0.5)
    x_c, x_n = torch.randn(graph.num_nodes, 16), torch.randn(graph.num_nets, 16)
    assert torch.equal(stack(x_c, x_n, graph, seed=1)[0], stack(x_c, x_n, graph, seed=1)[0])
    assert not torch.equal(stack(x_c, x_n, graph, seed=1)[0], stack(x_c, x_n, graph, seed=2)[0])
    stack.eval()
    base = stack(x_c, x_n, graph)[0]
    # Nets reach cells: changing one net's input changes the cells on it.
    x_n2 = x_n.clone()
    x_n2[0] += 1.0
    changed = (stack(x_c, x_n2, graph)[0] - base).abs().sum(1) > 0
    members = graph.cell_from_net.to_torch_sparse().to_dense()[:, 0] > 0
    assert changed[members].all()


def test_forward_errors():
    graph = random_cellnet()
    stack = HeteroGSRStack(16, 2)
    with pytest.raises(ValueError, match="x_cell must be"):
        stack(torch.randn(3, 16), torch.randn(graph.num_nets, 16), graph)
    with pytest.raises(ValueError, match="x_net must be"):
        stack(torch.randn(graph.num_nodes, 16), torch.randn(graph.num_nets, 8), graph)
    with pytest.raises(TypeError, match="dtype"):
        stack(torch.randn(graph.num_nodes, 16).double(), torch.randn(graph.num_nets, 16).double(), graph)
    with pytest.raises(ValueError, match="groups must be"):
        HeteroGSRStack(16, 2, groups=1)
    with pytest.raises(ValueError, match="net_channels"):
        HeteroGSRStack(16, 2, groups=2, net_channels=9)
    with pytest.raises(ValueError, match="k must be"):
        HeteroGSRStack(16, 2, groups=2, k=8, net_channels=8)
    narrow = HeteroGSRStack(16, 2, k=2, net_channels=8)
    with pytest.raises(ValueError, match="x_net must be"):
        narrow(torch.randn(graph.num_nodes, 16), torch.randn(graph.num_nets, 16), graph)


_PEAK_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np, torch
    from gsr_eda.graph.net_nodes import NET_FEATURES, NetNodes
    from gsr_eda.models.inputs import CellNetGraph
    from gsr_eda.nn import HeteroGSRStack
    layers = int(sys.argv[1])
    torch.set_num_threads(1)
    n, m = 10000, 9000
    rng = np.random.default_rng(0)
    indptr = np.arange(0, 3 * m + 1, 3)
    nets = NetNodes(np.arange(m), indptr, rng.integers(0, n, 3 * m).astype(np.int32), np.arange(3 * m),
                    np.ones((m, len(NET_FEATURES)), np.float32), list(NET_FEATURES))
    graph = CellNetGraph.from_net_nodes(nets, n)
    stack = HeteroGSRStack(64, layers, groups=2, k=8)
    x_c = torch.randn(n, 64, requires_grad=True)
    x_n = torch.randn(m, 64, requires_grad=True)
    def peak_kib():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    before = peak_kib()
    out_c, out_n = stack(x_c, x_n, graph)
    (out_c.sum() + out_n.sum()).backward()
    print(json.dumps({"growth_kib": peak_kib() - before}))
""")


def _peak_growth_mib(layers: int) -> float:
    result = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, str(layers)],
        capture_output=True,
        text=True,
        env={"OMP_NUM_THREADS": "1", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])["growth_kib"] / 1024


def test_activation_memory_is_flat_in_depth():
    """Plain autograd would keep ~6 (N + M) x d activations per group and layer (~14 MiB a layer here)."""
    low, high = _peak_growth_mib(8), _peak_growth_mib(64)
    saved_indices_mib = (64 - 8) * 2 * (10000 + 9000) * 8 / 2**20
    assert high - low < saved_indices_mib + 16, (low, high)
