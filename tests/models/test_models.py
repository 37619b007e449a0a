"""Every architecture: forward/backward shapes, the shared normalisation, config errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gsr_eda.graph import build_adjacency
from gsr_eda.models import MODEL_NAMES, build_model, design_graph
from gsr_eda.models.base import mean_aggregate
from gsr_eda.ops import CSRAdjacency
from placed_design_builder import random_design


def random_graph(num_nodes: int = 40, degree: int = 3, seed: int = 0) -> CSRAdjacency:
    """A symmetric random graph without self loops, with one isolated node (an empty row)."""
    rng = np.random.default_rng(seed)
    src = rng.integers(0, num_nodes - 1, num_nodes * degree)
    dst = rng.integers(0, num_nodes - 1, num_nodes * degree)
    keep = src != dst
    pairs = np.unique(np.concatenate([np.stack([src, dst], 1)[keep], np.stack([dst, src], 1)[keep]]), axis=0)
    indptr = np.zeros(num_nodes + 1, dtype=np.int64)
    np.add.at(indptr, pairs[:, 0] + 1, 1)
    return CSRAdjacency.from_csr(np.cumsum(indptr), pairs[:, 1].astype(np.int32), num_nodes, normalization="mean")


@pytest.mark.parametrize("name", sorted(MODEL_NAMES))
def test_forward_backward_shapes(name):
    torch.manual_seed(0)
    design = random_design(40, 50, seed=0)
    adj = design_graph(name, design, *build_adjacency(design, "cell-net", 8))
    model = build_model(name, 5, hidden=16, layers=3, groups=2, k=4)
    x = torch.randn(adj.num_nodes, 5, requires_grad=True)
    out = model(x, adj)
    assert out.shape == (adj.num_nodes,)
    out.square().sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
    assert model.encoder.weight.grad.abs().sum() > 0


def test_mean_aggregation_is_the_row_mean_of_neighbours():
    adj = random_graph(12, 2, seed=1)
    h = torch.randn(12, 3)
    indptr, indices, _ = adj.csr()
    expected = torch.zeros(12, 3)
    for i in range(12):
        nbrs = indices[indptr[i] : indptr[i + 1]].long()
        if len(nbrs):
            expected[i] = h[nbrs].mean(0)
    torch.testing.assert_close(mean_aggregate(adj, h), expected)


def test_gcn_body_sees_the_shared_normalisation():
    """GCNConv(normalize=False) with the adjacency weights equals the shared mean aggregation."""
    from torch_geometric.nn import GCNConv

    adj = random_graph(15, 2, seed=2)
    conv = GCNConv(4, 4, normalize=False, add_self_loops=False, bias=False)
    h = torch.randn(15, 4)
    torch.testing.assert_close(conv(h, adj.edge_index(), adj.edge_weight()), mean_aggregate(adj, conv.lin(h)))


def revgnn_gradients(model: torch.nn.Module, x: torch.Tensor, adj: CSRAdjacency, *, reversible: bool) -> list:
    """Parameter gradients of one training step; ``reversible=False`` stores activations instead."""
    for layer in model.body.layers:
        layer.disable = not reversible
    model.zero_grad()
    torch.manual_seed(1)  # the same dropout masks in both runs
    model(x, adj).sum().backward()
    return [p.grad.clone() for p in model.parameters()]


def test_revgnn_dropout_keeps_inversion_exact():
    """With dropout, the backward that rebuilds each layer's input by inversion gives the
    gradients of plain autograd over stored activations: the recomputation reuses the forward's
    mask. A fresh mask in the recomputation would change every gradient below the top layer."""
    torch.manual_seed(0)
    adj = random_graph(20, 2)
    model = build_model("revgnn", 4, hidden=8, layers=4, dropout=0.3).train()
    x = torch.randn(20, 4)
    stored = revgnn_gradients(model, x, adj, reversible=False)
    inverted = revgnn_gradients(model, x, adj, reversible=True)
    assert any(p.grad.abs().sum() > 0 for p in model.parameters())
    for got, expected in zip(inverted, stored):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError, match="unknown model"):
        build_model("transformer", 4)
    with pytest.raises(ValueError, match="groups"):
        build_model("revgnn", 4, hidden=9, groups=2)
    model = build_model("sage", 4, hidden=8, layers=1)
    with pytest.raises(ValueError, match="expected features"):
        model(torch.randn(10, 3), random_graph(10))


@pytest.mark.parametrize(
    "hidden,groups,k,expected",
    [(128, 2, 8, 64), (256, 4, 8, 128), (16, 2, 8, 16), (24, 4, 4, 16), (30, 3, 2, 15 // 3 * 3)],
)
def test_default_net_state_is_half_the_cells_but_keeps_k_per_group(hidden, groups, k, expected):
    from gsr_eda.models.gsr_cellnet import default_net_hidden

    assert default_net_hidden(hidden, groups, k) == expected
    stack = build_model("gsr-cellnet", 3, hidden=hidden, layers=1, groups=groups, k=k).body.stack
    assert stack.net_channels == expected and stack.net_group_dim >= k
