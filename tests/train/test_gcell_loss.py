"""The gcell term of the training loss (``--gcell-loss-weight``): the map it scores is the map
predict builds, no validation label leaks into it, and it changes training only when asked."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from gsr_eda.errors import InputError
from gsr_eda.ingest.build import build_record
from gsr_eda.labels.proxy import proxy_congestion
from gsr_eda.predict.core import gcell_map_of_cells
from gsr_eda.predict.normalization import Standardizer
from gsr_eda.train import TrainConfig, train
from gsr_eda.train.gcell_loss import GcellTarget
from tests.train.conftest import random_design

IDENTITY = Standardizer(np.zeros(1), np.ones(1), 0.0, 1.0, target_scale="pooled")


def _record(reduce: str = "max", macros: int = 3):
    design = random_design("d", 300, seed=4)
    is_macro = np.zeros(design.num_nodes, bool)
    is_macro[:macros] = True
    design = dataclasses.replace(design, is_macro=is_macro)
    record = build_record(design, label=proxy_congestion(design, measure="utilisation"))
    return dataclasses.replace(record, label_reduce=reduce)


@pytest.mark.parametrize("reduce", ["max", "mean"])
def test_the_pooled_map_is_the_map_predict_builds(reduce: str) -> None:
    record = _record(reduce)
    target = GcellTarget.of_record(record, IDENTITY, "cpu")
    cells = np.random.default_rng(0).normal(size=record.num_nodes).astype(np.float32)
    expected, covered = gcell_map_of_cells(record.design, cells, reduce)
    pooled = target.pool(torch.from_numpy(cells)).numpy()
    # Covered gcells in row-major order on both sides, macros left out of both.
    np.testing.assert_allclose(pooled, expected[covered], rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(target.y.numpy(), record.gcell_labels[covered])


def test_the_max_passes_its_gradient_to_the_cells_that_attain_it() -> None:
    target = GcellTarget.of_record(_record(), IDENTITY, "cpu")
    pred = torch.randn(300, requires_grad=True)
    target.pool(pred).sum().backward()
    winners = torch.zeros(300, dtype=torch.bool)
    best = target.pool(pred.detach())
    winners[target.cells[pred.detach()[target.cells] == best[target.gcells]]] = True
    assert torch.equal(pred.grad != 0, winners)


def test_in_a_split_by_node_no_gcell_touched_by_another_cell_is_kept() -> None:
    record = _record()
    train_nodes = np.random.default_rng(1).random(record.num_nodes) < 0.7
    target = GcellTarget.of_record(record, IDENTITY, "cpu", train_nodes)
    everything = GcellTarget.of_record(record, IDENTITY, "cpu")
    assert train_nodes[target.cells.numpy()].all()
    assert 0 < len(target.y) < len(everything.y)


def test_the_weight_is_checked_and_changes_training_only_when_set(four_design_store, tmp_path) -> None:
    base = dict(store=str(four_design_store), model="gsr", hidden=16, layers=4, groups=2, k=4, epochs=2)
    with pytest.raises(InputError, match=r"--gcell-loss-weight must be in \[0, 1\)"):
        TrainConfig(**base, gcell_loss_weight=1.0).validate()
    losses = {}
    for weight in (0.0, 0.0, 0.5):
        out = tmp_path / f"w{weight}-{len(losses)}"
        result = train(TrainConfig(**base, gcell_loss_weight=weight), out, log=lambda _m: None, show_progress=False)
        losses.setdefault(weight, []).append([row["train_loss"] for row in result.history])
    assert losses[0.0][0] == losses[0.0][1]  # deterministic, so a difference below is the term's
    assert losses[0.5][0] != losses[0.0][0]
