"""The model-input hook: which graph each model takes, from a record or a design."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from gsr_eda.graph import NET_FEATURES, build_net_nodes
from gsr_eda.ingest.build import build_record
from gsr_eda.models import CELLNET_MODELS, MODEL_NAMES, CellNetGraph, build_model, model_graph, needs_net_nodes
from gsr_eda.models.inputs import net_inputs
from gsr_eda.ops import CSRAdjacency
from placed_design_builder import random_design


@pytest.fixture(scope="module")
def record():
    return build_record(random_design(60, 70, seed=2), net_model="cell-net", cap=8)


def test_homogeneous_models_get_the_record_adjacency(record):
    for name in sorted(set(MODEL_NAMES) - set(CELLNET_MODELS)):
        adj = model_graph(name, record, "cpu")
        assert isinstance(adj, CSRAdjacency) and adj.num_nodes == record.num_nodes
        assert adj.nnz == len(record.indices) and not needs_net_nodes(name)


def test_cellnet_graph_is_both_mean_incidences_and_log_net_inputs(record):
    graph = model_graph("gsr-cellnet", record, "cpu")
    assert isinstance(graph, CellNetGraph) and needs_net_nodes("hetero-sage")
    nets = record.net_nodes
    n, m = record.num_nodes, nets.num_nets
    assert graph.num_nodes == n and graph.num_nets == m
    b = torch.zeros(m, n)
    b[
        torch.repeat_interleave(torch.arange(m), torch.from_numpy(np.diff(nets.indptr))),
        torch.from_numpy(nets.cells).long(),
    ] = 1
    net_from_cell = graph.net_from_cell.to_torch_sparse().to_dense()
    cell_from_net = graph.cell_from_net.to_torch_sparse().to_dense()
    torch.testing.assert_close(net_from_cell, b / b.sum(1, keepdim=True))
    on_nets = b.sum(0) > 0
    torch.testing.assert_close(cell_from_net[on_nets], (b.t() / b.sum(0)[:, None].clamp(min=1))[on_nets])
    torch.testing.assert_close(graph.net_x, torch.log1p(torch.from_numpy(nets.features)))
    assert graph.net_x.shape[1] == len(NET_FEATURES)
    # The cell adjacency is there on demand: the record's capped clique.
    assert graph.cells.nnz == len(record.indices)


def test_store_without_net_nodes_computes_the_same_graph(record):
    plain = dataclasses.replace(record, net_model="capped-clique", net_nodes=None)
    a, b = model_graph("gsr-cellnet", record), model_graph("gsr-cellnet", plain)
    assert torch.equal(a.net_x, b.net_x)
    assert torch.equal(a.net_from_cell.csr()[1], b.net_from_cell.csr()[1])


def test_net_inputs_checks_width():
    with pytest.raises(ValueError, match="net features"):
        net_inputs(np.zeros((3, 2)))
    assert net_inputs(np.full((1, len(NET_FEATURES)), np.e - 1))[0, 0] == pytest.approx(1.0)


@pytest.mark.parametrize("two_pin_nets", ["nodes", "edges"])
@pytest.mark.parametrize("name", CELLNET_MODELS)
def test_cellnet_models_refuse_a_plain_adjacency_and_learn(name, two_pin_nets, record):
    torch.manual_seed(0)
    model = build_model(name, record.features.shape[1], hidden=16, layers=4, k=4, two_pin_nets=two_pin_nets)
    x = torch.from_numpy((record.features - record.features.mean(0)) / (record.features.std(0) + 1e-6))
    with pytest.raises(TypeError, match="CellNetGraph"):
        model(x, model_graph("gsr", record))
    graph = model_graph(name, record, two_pin_nets=two_pin_nets)
    target = torch.from_numpy(build_net_nodes(record.design).features[:, 0]).new_zeros(record.num_nodes)
    target[graph.cell_from_net.csr()[0].diff() > 0] = 1.0  # a target only the graph knows
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x, graph), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_two_pin_nets_as_edges_become_cell_pairs(record):
    nets = record.net_nodes
    degree = np.diff(nets.indptr)
    two, kept = np.flatnonzero(degree == 2), np.flatnonzero(degree != 2)
    assert len(two) and len(kept)  # the fixture has both kinds
    graph = model_graph("gsr-cellnet", record, two_pin_nets="edges")
    nodes = model_graph("gsr-cellnet", record)
    assert graph.two_pin_nets == "edges" and nodes.two_pin_nets == "nodes" and nodes.pairs is None
    n = record.num_nodes
    assert graph.num_nets == len(kept) and graph.pairs.shape == (n, n)
    # Net nodes: the nets of three or more cells, their rows and inputs unchanged.
    torch.testing.assert_close(graph.net_x, nodes.net_x[torch.from_numpy(kept)])
    keep_rows = nodes.net_from_cell.to_torch_sparse().to_dense()[torch.from_numpy(kept)]
    torch.testing.assert_close(graph.net_from_cell.to_torch_sparse().to_dense(), keep_rows)
    # Pairs: both directions of every two-pin net, each row a mean (a pair on two nets counts twice).
    counts = torch.zeros(n, n)
    for j in two:
        a, b = nets.cells[nets.indptr[j] : nets.indptr[j] + 2]
        counts[a, b] += 1
        counts[b, a] += 1
    pairs = graph.pairs.to_torch_sparse().to_dense()
    has = counts.sum(1) > 0
    torch.testing.assert_close(pairs[has], (counts / counts.sum(1, keepdim=True).clamp(min=1))[has])
    assert not pairs[~has].any()
    # The cell -> net relation's matrix: the pairs' rows, then the nets'.
    joint = graph.pairs_and_nets.to_torch_sparse().to_dense()
    torch.testing.assert_close(joint, torch.cat([pairs, keep_rows]))
    assert graph.to("cpu") is graph


def test_a_model_refuses_a_graph_with_other_two_pin_nets(record):
    x = torch.zeros(record.num_nodes, record.features.shape[1])
    for name in CELLNET_MODELS:
        model = build_model(name, record.features.shape[1], hidden=8, layers=2, k=2, two_pin_nets="edges")
        with pytest.raises(ValueError, match="two-pin nets as edges"):
            model(x, model_graph(name, record))
        assert model(x, model_graph(name, record, two_pin_nets="edges")).shape == (record.num_nodes,)
    with pytest.raises(ValueError, match="cell-net models"):
        build_model("gsr", 4, two_pin_nets="edges")
    with pytest.raises(ValueError, match="two_pin_nets must be"):
        build_model("gsr-cellnet", 4, two_pin_nets="wires")
