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


@pytest.mark.parametrize("name", CELLNET_MODELS)
def test_cellnet_models_refuse_a_plain_adjacency_and_learn(name, record):
    torch.manual_seed(0)
    model = build_model(name, record.features.shape[1], hidden=16, layers=4, k=4)
    x = torch.from_numpy((record.features - record.features.mean(0)) / (record.features.std(0) + 1e-6))
    with pytest.raises(TypeError, match="CellNetGraph"):
        model(x, model_graph("gsr", record))
    graph = model_graph(name, record)
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
