"""The flow session with a cell-net model: net-node features follow the cells, as at ingest."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from gsr_eda.flow import CongestionSession
from gsr_eda.graph import build_adjacency, build_net_nodes, node_features
from gsr_eda.ingest import read_def_design
from gsr_eda.ingest.build import build_record
from gsr_eda.models import build_model
from gsr_eda.predict import load_predictor, predict_design
from gsr_eda.predict.checkpoint import save_checkpoint
from gsr_eda.predict.normalization import Standardizer


@pytest.fixture(
    scope="module",
    params=[("gsr-cellnet", 0), ("hetero-sage", 0), ("gsr-cellnet", 3), ("hetero-sage", 3)],
    ids=lambda p: f"{p[0]}-placement{p[1]}",
)
def cellnet_checkpoint(request, tiny_design, tmp_path_factory):
    """An untrained cell-net model (the session's job is the inputs, not the weights), with
    and without the placement relation."""
    name, neighbours = request.param
    design = read_def_design(tiny_design.def_path, tiny_design.lefs)
    record = build_record(design, net_model="cell-net", cap=8)
    torch.manual_seed(0)
    f = record.features.shape[1]
    model = build_model(name, f, hidden=16, layers=3, k=4, net_hidden=8, placement_groups=int(bool(neighbours)))
    std = Standardizer(record.features.mean(0).astype(np.float64), record.features.std(0) + 1e-3, 0.0, 1.0)
    path = tmp_path_factory.mktemp("cellnet") / "best.pt"
    config = {"name": name, "in_channels": f, "hidden": 16, "layers": 3, "groups": 2, "k": 4, "dropout": 0.0}
    config["net_hidden"] = 8  # as the trainer writes it (gsr-cellnet's option; hetero-sage ignores it)
    config["placement_groups"] = int(bool(neighbours))
    save_checkpoint(
        path,
        {
            "model": config,
            "graph": {
                "net_model": "cell-net",
                "net_cap": 8,
                "normalization": "mean",
                "placement_neighbours": neighbours,
            },
            "label": {"name": "test", "reduce": "max", "is_proxy": True},
            "feature_names": list(record.feature_names),
            "standardizer": std.to_state(),
            "model_state": model.state_dict(),
        },
    )
    return path


def test_estimate_recomputes_net_features_and_placement_like_ingest(tiny_design, cellnet_checkpoint):
    session = CongestionSession.from_def(tiny_design.def_path, tiny_design.lefs, cellnet_checkpoint)
    predictor = load_predictor(cellnet_checkpoint)
    x0, y0 = session.positions
    rng = np.random.default_rng(3)
    moves = [
        (x0, y0),
        (np.clip(x0 + rng.uniform(-4, 4, x0.size), 0, 38), np.clip(y0 + rng.uniform(-4, 4, y0.size), 0, 38)),
    ]
    seen = []
    for x, y in moves:
        est = session.estimate(x, y)
        moved = dataclasses.replace(session.design, x=x, y=y)
        # What ingest would store for the moved design, and what predict would then say (with
        # the placement neighbours at the moved positions).
        np.testing.assert_allclose(session.net_features(), build_net_nodes(moved).features, rtol=1e-6)
        want = predict_design(predictor, moved, *build_adjacency(moved, "cell-net", 8), node_features(moved).values)
        np.testing.assert_allclose(est.cell_scores, want.cells, rtol=1e-5, atol=1e-5)
        seen.append(est.cell_scores)
    assert not np.allclose(seen[0], seen[1])  # the moves changed the inputs


def test_homogeneous_session_has_no_net_features(tiny_design, tiny_checkpoint):
    session = CongestionSession.from_def(tiny_design.def_path, tiny_design.lefs, tiny_checkpoint)
    assert session.net_features() is None
