"""Multiscale training: the schedules' phases, the telescoping gradient, and runs end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gsr_eda.errors import InputError
from gsr_eda.predict import load_predictor
from gsr_eda.train import TrainConfig, train

TINY = dict(model="gsr", hidden=16, layers=4, groups=2, k=4, lr=3e-3)


def _run(store, out, epochs, **kw):
    return train(
        TrainConfig(store=str(store), epochs=epochs, **(TINY | kw)), out, log=lambda _m: None, show_progress=False
    )


@pytest.mark.parametrize("schedule", ["coarse-to-fine", "sub-to-full", "gradients"])
def test_multiscale_runs_end_to_end_and_is_reproducible(four_design_store, tmp_path, schedule):
    kw = dict(multiscale=schedule, coarse_levels=2, multiscale_epochs=2, window_fraction=0.5)
    a = _run(four_design_store, tmp_path / "a", 4, **kw)
    b = _run(four_design_store, tmp_path / "b", 4, **kw)
    assert [r["train_loss"] for r in a.history] == [r["train_loss"] for r in b.history]
    assert len(a.history) == 4 and all(np.isfinite(r["val_loss"]) for r in a.history)
    assert load_predictor(tmp_path / "a" / "best.pt") is not None
    single = _run(four_design_store, tmp_path / "single", 4)
    # The cheap epochs train on other graphs than the full ones; the last epochs are full-graph epochs.
    assert a.history[0]["train_loss"] != single.history[0]["train_loss"]


def test_coarse_to_fine_visits_levels_coarsest_first(four_design_store, tmp_path):
    from gsr_eda.train import trainer

    seen = []
    original = trainer._step_terms

    def spy(s, g, epoch, rng):
        terms = original(s, g, epoch, rng)
        seen.append((epoch, int(terms[0].x.shape[0])))
        return terms

    trainer._step_terms = spy
    try:
        _run(four_design_store, tmp_path / "run", 4, multiscale="coarse-to-fine", coarse_levels=2, multiscale_epochs=2)
    finally:
        trainer._step_terms = original
    sizes = {e: max(n for ep, n in seen if ep == e) for e in range(4)}
    assert sizes[0] < sizes[1] < sizes[2] == sizes[3]  # level 2, level 1, then the full graph


def test_multiscale_gradient_telescopes_to_the_full_gradient_on_a_whole_die_window(four_design_store):
    from gsr_eda.models import build_model
    from gsr_eda.store import GraphStore
    from gsr_eda.train import trainer

    cfg = TrainConfig(store=str(four_design_store), multiscale="gradients", window_fraction=1.0, **TINY)
    with GraphStore(four_design_store) as store:
        record = store.read(store.designs[0])
    from gsr_eda.predict.normalization import Standardizer

    std = Standardizer.fit([record.features], [record.cell_labels])
    plan = trainer.plan_split({record.name: (record.num_nodes, None)}, mode="node", seed=0)
    assert cfg.graph_placement_neighbours() == 0  # multiscale runs on the netlist graph
    graph = trainer._to_graph(record, plan, std, torch.device("cpu"), "gsr", cfg.graph_placement_neighbours())
    schedule = trainer._multiscale_schedule(
        cfg, {record.name: record}, {record.name: graph}, std, torch.device("cpu"), lambda _m: None
    )
    terms = schedule.terms(record.name, 0, np.random.default_rng(0))
    torch.manual_seed(0)
    model = build_model("sage", len(std.feature_mean), hidden=16, layers=2)

    def grad(loss):
        model.zero_grad()
        loss.backward()
        return torch.cat([p.grad.flatten() for p in model.parameters()])

    mse = torch.nn.functional.mse_loss
    telescoped = grad(sum(t.weight * mse(model(t.x, t.adj), t.y) for t in terms))
    full = grad(mse(model(graph.x, graph.adj), graph.y))
    torch.testing.assert_close(telescoped, full, rtol=1e-4, atol=1e-6)


def test_multiscale_needs_a_design_split_and_valid_options(one_design_store, tmp_path):
    with pytest.raises(InputError, match="split by design"):
        _run(one_design_store, tmp_path / "a", 2, multiscale="coarse-to-fine")
    with pytest.raises(InputError, match="--multiscale"):
        TrainConfig(store="s.h5", multiscale="fast").validate()
    with pytest.raises(InputError, match="--window-fraction"):
        TrainConfig(store="s.h5", multiscale="sub-to-full", window_fraction=0.0).validate()
