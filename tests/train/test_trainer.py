"""Trainer: reproducibility, exact resume, design splits, outputs, and the Predictor."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gsr_eda.errors import InputError
from gsr_eda.predict import load_predictor
from gsr_eda.predict.checkpoint import load_checkpoint
from gsr_eda.train import TrainConfig, train

TINY = dict(model="gsr", hidden=16, layers=4, groups=2, k=4, lr=3e-3)


def _quiet(_msg: str) -> None:
    pass


def _run(store, out, epochs, **kw):
    return train(
        TrainConfig(store=str(store), epochs=epochs, **(TINY | kw)), out, log=_quiet, show_progress=False, **{}
    )


def _losses(history):
    return [(r["train_loss"], r["val_loss"], r["val_pearson"]) for r in history]


def _weights(run):
    return load_checkpoint(run / "last.pt")["model_state"]


def test_two_seeded_runs_are_identical(one_design_store, tmp_path):
    a = _run(one_design_store, tmp_path / "a", 3, dropout=0.1)
    b = _run(one_design_store, tmp_path / "b", 3, dropout=0.1)
    assert _losses(a.history) == _losses(b.history)
    wa, wb = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    c = _run(one_design_store, tmp_path / "c", 1, seed=5, dropout=0.1)
    assert _losses(c.history)[0] != _losses(a.history)[0]


@pytest.mark.parametrize("ema_decay", [0.0, 0.6])
def test_resume_continues_an_interrupted_run_exactly(one_design_store, tmp_path, ema_decay):
    full = _run(one_design_store, tmp_path / "full", 4, dropout=0.1, ema_decay=ema_decay)

    def interrupt(row):
        if row["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(
            TrainConfig(store=str(one_design_store), epochs=4, dropout=0.1, ema_decay=ema_decay, **TINY),
            tmp_path / "cut",
            log=_quiet,
            show_progress=False,
            on_epoch_end=interrupt,
        )
    assert load_checkpoint(tmp_path / "cut" / "last.pt")["train"]["epoch"] == 1
    resumed = train(
        TrainConfig(store=str(one_design_store), epochs=4),
        tmp_path / "cut",
        resume=True,
        log=_quiet,
        show_progress=False,
    )
    assert _losses(resumed.history) == _losses(full.history)
    wf, wr = _weights(tmp_path / "full"), _weights(tmp_path / "cut")
    assert all(torch.equal(wf[k], wr[k]) for k in wf)


def test_ema_weights_are_validated_saved_and_predicted(one_design_store, tmp_path):
    """With --ema-decay the checkpoint's weights are the average: beta * previous + (1 - beta) *
    trained, per optimiser step (one design, so one step an epoch, here), starting from the first step's."""
    decay = 0.5
    snapshots = []
    states = {}

    def keep(row):
        ckpt = load_checkpoint(tmp_path / "ema" / "last.pt")
        snapshots.append(ckpt["train"]["trained_state"])
        states[row["epoch"]] = ckpt["model_state"]

    train(
        TrainConfig(store=str(one_design_store), epochs=3, ema_decay=decay, **TINY),
        tmp_path / "ema",
        log=_quiet,
        show_progress=False,
        on_epoch_end=keep,
    )
    for name, first in snapshots[0].items():
        if not first.is_floating_point():
            continue
        expected = first.clone()
        for trained in snapshots[1:]:
            expected = decay * expected + (1 - decay) * trained[name]
        torch.testing.assert_close(states[3][name], expected)
        torch.testing.assert_close(states[1][name], first)
    assert any(not torch.equal(states[3][n], snapshots[-1][n]) for n in states[3])
    # The predictor reads the averaged weights.
    predictor = load_predictor(tmp_path / "ema" / "last.pt")
    for name, value in predictor.model.state_dict().items():
        assert torch.equal(value, states[3][name]), name
    with pytest.raises(InputError, match="--ema-decay"):
        TrainConfig(store=str(one_design_store), ema_decay=1.0).validate()


def test_design_split_outputs_and_predictor(four_design_store, tmp_path):
    result = _run(four_design_store, tmp_path / "run", 2, model="sage", layers=2)
    assert result.split.mode == "design"
    assert len(result.split.test_designs) == 1 and len(result.split.val_designs) == 1
    for name in ("best.pt", "last.pt", "metrics.csv", "metrics.json", "curves.png", "summary.json", "config.json"):
        assert (tmp_path / "run" / name).is_file(), name
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["split_mode"] == "design" and summary["test"]["n"] == 200
    assert (tmp_path / "run" / "metrics.csv").read_text().count("\n") == 3  # header + 2 epochs
    ckpt = torch.load(tmp_path / "run" / "best.pt", weights_only=True)
    assert ckpt["format_version"] == 1 and ckpt["model"]["name"] == "sage"

    from gsr_eda.store import GraphStore

    predictor = load_predictor(tmp_path / "run")
    with GraphStore(four_design_store) as store:
        record = store.read(result.split.test_designs[0])
    assert predictor.feature_names == record.feature_names
    adj = predictor.design_graph(record.design, record.indptr, record.indices)
    pred = predictor.predict(record.features, adj)
    assert pred.shape == (record.num_nodes,) and pred.dtype == np.float32 and np.isfinite(pred).all()
    # Predictions are in label units: same scale as the labels, not standardised.
    assert abs(float(pred.mean()) - float(record.cell_labels.mean())) < 3 * float(record.cell_labels.std()) + 0.1
    with pytest.raises(ValueError, match="expected features"):
        predictor.predict(record.features[:, :3], adj)


def test_node_split_stored_in_the_store_is_used(stored_split_store, tmp_path):
    """Masks stored with the designs decide the node split (and the records read to find them
    are the ones trained on)."""
    from gsr_eda.train.splits import SplitPlan

    store, stored = stored_split_store
    _run(store, tmp_path / "run", 1, split="node")
    plan = SplitPlan.from_state(load_checkpoint(tmp_path / "run" / "last.pt")["train"]["split"])
    assert plan.source == "stored"
    for name, split in stored.items():
        assert np.array_equal(plan.node_masks[name], split)


def test_per_design_scales_make_predictions_invariant_to_a_designs_feature_units(four_design_store, tmp_path):
    from gsr_eda.store import GraphStore

    run = tmp_path / "run"
    _run(four_design_store, run, 2, model="sage", layers=2, feature_scale="design", target_scale="design")
    predictor = load_predictor(run)
    assert (predictor.standardizer.feature_scale, predictor.standardizer.target_scale) == ("design", "design")
    with GraphStore(four_design_store) as store:
        record = store.read(store.designs[0])
    adj = predictor.design_graph(record.design, record.indptr, record.indices)
    # The same design in other units (every feature scaled and shifted) reads the same to the model.
    rescaled = record.features.astype(np.float64) * 3.0 + 5.0
    np.testing.assert_allclose(predictor.predict(rescaled, adj), predictor.predict(record.features, adj), atol=1e-4)
    with pytest.raises(InputError, match="--target-scale"):
        TrainConfig(store="s.h5", target_scale="global").validate()


def test_min_epochs_keeps_early_epochs_out_of_model_selection_and_patience(four_design_store, tmp_path):
    result = _run(four_design_store, tmp_path / "a", 6, model="sage", layers=2, patience=1, min_epochs=3)
    assert result.best_epoch >= 3
    assert len(result.history) >= 4  # epoch 3 sets the first best; patience starts counting after it
    # A run shorter than min_epochs chooses its last epoch.
    short = _run(four_design_store, tmp_path / "b", 2, model="sage", layers=2, min_epochs=10)
    assert short.best_epoch == 2 and len(short.history) == 2
    with pytest.raises(InputError, match="--min-epochs"):
        TrainConfig(store="s.h5", min_epochs=-1).validate()


def test_a_cellnet_run_learns_its_placement_relation_and_an_older_one_resumes_without(four_design_store, tmp_path):
    run = tmp_path / "run"
    _run(four_design_store, run, 1, model="gsr-cellnet", placement_neighbours=3)
    ckpt = load_checkpoint(run / "last.pt")
    assert ckpt["graph"]["placement_neighbours"] == 3 and ckpt["model"]["placement_groups"] == 1
    assert load_predictor(run).model.body.stack.placement_groups == 1
    # A run saved before the relation: its config said 8 neighbours, its graph and model had none.
    older = tmp_path / "older"
    _run(four_design_store, older, 1, model="gsr-cellnet", placement_neighbours=0)
    old = torch.load(older / "last.pt", weights_only=True)
    old["model"].pop("placement_groups")
    old["train"]["config"]["placement_neighbours"] = 8
    torch.save(old, older / "last.pt")
    train(TrainConfig(store="", epochs=2), older, resume=True, log=_quiet, show_progress=False)
    assert load_predictor(older / "last.pt").model.body.stack.placement_groups == 0
    assert load_checkpoint(older / "last.pt")["graph"]["placement_neighbours"] == 0


def test_resuming_a_run_saved_before_the_scales_keeps_its_pooled_statistics(four_design_store, tmp_path):
    from gsr_eda.train.trainer import OLD_RUN_DEFAULTS

    run = tmp_path / "run"
    _run(four_design_store, run, 2, model="sage", layers=2, **OLD_RUN_DEFAULTS)
    old = torch.load(run / "last.pt", weights_only=True)
    for key in OLD_RUN_DEFAULTS:  # as a checkpoint written before the options existed
        del old["train"]["config"][key]
    for key in ("feature_scale", "target_scale"):
        del old["standardizer"][key]
    torch.save(old, run / "last.pt")
    train(TrainConfig(store="", epochs=3), run, resume=True, log=_quiet, show_progress=False)
    saved = json.loads((run / "config.json").read_text())
    assert {key: saved[key] for key in OLD_RUN_DEFAULTS} == OLD_RUN_DEFAULTS
    assert load_predictor(run).standardizer.feature_scale == "pooled"
