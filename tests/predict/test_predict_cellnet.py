"""Prediction with the cell-net models: the predictor builds the same graph the trainer's hook does."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gsr_eda.ingest.build import build_record
from gsr_eda.models import build_model, model_graph
from gsr_eda.predict import Predictor, predict_design
from gsr_eda.predict.normalization import Standardizer
from placed_design_builder import random_design


def _predictor(name: str, record) -> Predictor:
    torch.manual_seed(0)
    f = record.features.shape[1]
    model = build_model(name, f, hidden=16, layers=3, k=4).eval()
    std = Standardizer(record.features.mean(0).astype(np.float64), record.features.std(0) + 1.0, 0.5, 2.0)
    return Predictor(
        config={"name": name},
        feature_names=list(record.feature_names),
        net_model=record.net_model,
        net_cap=record.net_cap,
        label_reduce="max",
        device=torch.device("cpu"),
        model=model,
        standardizer=std,
    )


@pytest.mark.parametrize("name", ["gsr-cellnet", "hetero-sage", "gsr"])
def test_predict_design_equals_the_model_on_the_hook_graph(name):
    record = build_record(random_design(50, 60, seed=3), net_model="cell-net")
    predictor = _predictor(name, record)
    with torch.no_grad():
        x = predictor.standardizer.features(record.features)
        expected = predictor.standardizer.untarget(predictor.model(x, model_graph(name, record)))
    # From the design alone (a DEF): net nodes computed, equal to the stored ones.
    got = predict_design(predictor, record.design, record.indptr, record.indices, record.features)
    np.testing.assert_array_equal(got.cells, expected)
    stored = predict_design(
        predictor, record.design, record.indptr, record.indices, record.features, net_nodes=record.net_nodes
    )
    np.testing.assert_array_equal(stored.cells, expected)
    assert predictor.needs_net_nodes == (name != "gsr")
