"""evaluate_records: the model and the baselines are scored on one gcell lookup per design."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gsr_eda.design import GcellGrid
from gsr_eda.store import GraphStore
from gsr_eda.train.baselines import score_baselines
from gsr_eda.train.evaluation import evaluate_records


class _FeatureSumModel:
    """A stand-in predictor: each cell's 'prediction' is a fixed function of its features."""

    label_reduce = "max"
    gcell_head = None

    def design_graph(self, design, indptr, indices, net_nodes=None):
        return None

    def predict(self, features, graph):
        return np.asarray(features, np.float32).sum(axis=1)


def _same(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return (isinstance(a, float) and math.isnan(a) and math.isnan(b)) or a == b


@pytest.fixture(scope="module")
def records(four_design_store):
    with GraphStore(four_design_store) as store:
        return [store.read(name) for name in store.designs]


def test_given_spans_score_the_baselines_as_computed_ones(records):
    record = records[0]
    covered = np.ones(record.design.grid.shape, bool)
    kwargs = {"reduce": "max", "label_is_proxy": True}
    computed = score_baselines(record.design, record.cell_labels, record.gcell_labels, covered, **kwargs)
    given = score_baselines(
        record.design, record.cell_labels, record.gcell_labels, covered, spans=record.design.gcell_spans(), **kwargs
    )
    assert _same(computed, given)


def test_each_design_gcell_spans_are_looked_up_once(records, monkeypatch):
    lookups = []
    span = GcellGrid.span

    def counted(self, x0, y0, x1, y1):
        lookups.append(len(x0))
        return span(self, x0, y0, x1, y1)

    monkeypatch.setattr(GcellGrid, "span", counted)
    result = evaluate_records(_FeatureSumModel(), records)
    assert lookups == [r.design.num_nodes for r in records]
    assert set(result["designs"]) == {r.name for r in records}
    assert all(set(e["baselines"]) == {"rudy", "pin_rudy", "density"} for e in result["designs"].values())
