"""Training loss (``TrainConfig.loss``, ``gsr-eda train --loss``): MSE or 1 - Pearson per design."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gsr_eda.errors import EXIT_BAD_INPUT, InputError
from gsr_eda.predict.checkpoint import load_checkpoint
from gsr_eda.train import TrainConfig, train
from gsr_eda.train.trainer import LOSSES, pearson_loss, step_loss_fn

TINY = dict(model="gsr", hidden=16, layers=4, groups=2, k=4, lr=3e-3)


def _run(store, out, epochs, **kw):
    return train(
        TrainConfig(store=str(store), epochs=epochs, **(TINY | kw)), out, log=lambda _m: None, show_progress=False
    )


def _rescaled_store(path: Path, scale: dict[str, tuple[float, float]]) -> Path:
    """Four small designs (as ``four_design_store``) with design ``n``'s labels mapped to ``a * y + b``."""
    from gsr_eda.ingest.build import build_record
    from gsr_eda.labels.proxy import proxy_congestion
    from gsr_eda.store import write_designs
    from tests.train.conftest import random_design

    records = []
    for i in range(4):
        design = random_design(f"design{i}", 200, seed=i)
        record = build_record(design, label=proxy_congestion(design, measure="utilisation"))
        a, b = scale.get(record.name, (1.0, 0.0))
        records.append(
            dataclasses.replace(
                record,
                cell_labels=(a * record.cell_labels.astype(np.float64) + b).astype(np.float32),
                gcell_labels=(a * record.gcell_labels.astype(np.float64) + b).astype(np.float32),
            )
        )
    write_designs(path, records)
    return path


def test_pearson_loss_is_one_minus_the_correlation_and_scale_free():
    gen = torch.Generator().manual_seed(0)
    y = torch.randn(500, generator=gen, dtype=torch.float64)
    pred = 0.6 * y + torch.randn(500, generator=gen, dtype=torch.float64)
    r = np.corrcoef(pred.numpy(), y.numpy())[0, 1]
    assert float(pearson_loss(pred, y)) == pytest.approx(1 - r, abs=1e-7)
    # Exact up to eps / variance (1e-8 here against variances of 0.01 and more).
    for a, b in ((3.0, -2.0), (0.1, 5.0), (250.0, 1e3)):
        assert float(pearson_loss(pred, a * y + b)) == pytest.approx(float(pearson_loss(pred, y)), abs=1e-6)
        assert float(pearson_loss(a * pred + b, y)) == pytest.approx(float(pearson_loss(pred, y)), abs=1e-6)
    assert float(pearson_loss(y, y)) == pytest.approx(0.0, abs=1e-7)
    assert float(pearson_loss(-y, y)) == pytest.approx(2.0, abs=1e-7)
    assert float(step_loss_fn(pred, y, "mse")) == pytest.approx(float(torch.mean((pred - y) ** 2)))


def test_pearson_loss_of_a_constant_side_is_finite_with_finite_gradients():
    pred = torch.zeros(10, requires_grad=True)
    loss = pearson_loss(pred, torch.arange(10.0))
    loss.backward()
    assert float(loss.detach()) == pytest.approx(1.0)
    assert torch.isfinite(pred.grad).all()
    assert float(pearson_loss(torch.arange(10.0), torch.full((10,), 3.0))) == pytest.approx(1.0)


def test_training_with_pearson_is_invariant_to_an_affine_rescale_of_a_design(tmp_path):
    """Rescaling one training design's labels (a y + b) leaves every Pearson training step unchanged,
    while MSE steps on pooled targets change (that design weighs a^2 as much)."""
    plain = _rescaled_store(tmp_path / "plain.h5", {})
    scaled = _rescaled_store(tmp_path / "scaled.h5", {"design1": (7.0, 3.0), "design3": (0.2, -1.0)})
    common = dict(val_designs=["design0"], test_designs=["design2"], seed=3)
    p_plain = _run(plain, tmp_path / "pp", 3, loss="pearson", **common)
    p_scaled = _run(scaled, tmp_path / "ps", 3, loss="pearson", **common)
    assert p_plain.split.train_designs == ["design1", "design3"]
    np.testing.assert_allclose(
        [r["train_loss"] for r in p_scaled.history], [r["train_loss"] for r in p_plain.history], rtol=1e-4
    )
    # The validation design is not rescaled: the model ranks it the same either way.
    np.testing.assert_allclose(
        [r["val_pearson"] for r in p_scaled.history], [r["val_pearson"] for r in p_plain.history], atol=1e-4
    )
    m_plain = _run(plain, tmp_path / "mp", 3, loss="mse", target_scale="pooled", **common)
    m_scaled = _run(scaled, tmp_path / "ms", 3, loss="mse", target_scale="pooled", **common)
    assert abs(m_scaled.history[0]["train_loss"] - m_plain.history[0]["train_loss"]) > 1e-2
    # With each design's labels standardised on their own (the default), MSE is invariant too.
    d_plain = _run(plain, tmp_path / "dp", 3, loss="mse", **common)
    d_scaled = _run(scaled, tmp_path / "ds", 3, loss="mse", **common)
    np.testing.assert_allclose(
        [r["train_loss"] for r in d_scaled.history], [r["train_loss"] for r in d_plain.history], rtol=1e-4
    )


def test_pearson_training_runs_is_reproducible_and_saves_its_loss(four_design_store, tmp_path):
    a = _run(four_design_store, tmp_path / "a", 3, loss="pearson", dropout=0.1)
    b = _run(four_design_store, tmp_path / "b", 3, loss="pearson", dropout=0.1)
    mse = _run(four_design_store, tmp_path / "mse", 3, dropout=0.1)
    rows = [(r["train_loss"], r["val_loss"], r["val_pearson"]) for r in a.history]
    assert rows == [(r["train_loss"], r["val_loss"], r["val_pearson"]) for r in b.history]
    assert all(np.isfinite(v) for row in rows for v in row)
    assert all(0.0 <= r["train_loss"] <= 2.0 for r in a.history)  # 1 - r
    assert rows != [(r["train_loss"], r["val_loss"], r["val_pearson"]) for r in mse.history]
    wa, wb = (load_checkpoint(tmp_path / n / "last.pt")["model_state"] for n in ("a", "b"))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert load_checkpoint(tmp_path / "a" / "best.pt")["train"]["config"]["loss"] == "pearson"
    assert json.loads((tmp_path / "a" / "config.json").read_text())["loss"] == "pearson"
    assert json.loads((tmp_path / "mse" / "config.json").read_text())["loss"] == "mse"


def test_resume_keeps_the_pearson_loss(four_design_store, tmp_path):
    full = _run(four_design_store, tmp_path / "full", 3, loss="pearson")

    def interrupt(row):
        if row["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(
            TrainConfig(store=str(four_design_store), epochs=3, loss="pearson", **TINY),
            tmp_path / "cut",
            log=lambda _m: None,
            show_progress=False,
            on_epoch_end=interrupt,
        )
    resumed = train(
        TrainConfig(store=str(four_design_store), epochs=3), tmp_path / "cut", resume=True, log=lambda _m: None
    )
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in full.history]


def test_old_checkpoint_config_without_loss_means_mse():
    config = dataclasses.asdict(TrainConfig(store="s.h5"))
    del config["loss"]
    assert TrainConfig(**config).loss == "mse"
    assert LOSSES == ("mse", "pearson")


def test_unknown_loss_is_an_input_error_naming_the_option():
    with pytest.raises(InputError, match="--loss") as err:
        TrainConfig(store="s.h5", loss="huber").validate()
    assert "mse" in str(err.value) and "pearson" in str(err.value)


def test_cli_refuses_an_unknown_loss_with_exit_code_3(one_design_store, tmp_path, capsys, monkeypatch):
    from gsr_eda.cli import main

    argv = ["train", "--store", one_design_store, "--out", tmp_path / "run", "--loss", "l1", "--epochs", "1"]
    monkeypatch.setattr(sys, "argv", ["gsr-eda", *map(str, argv)])
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "--loss" in err and "'l1'" in err
    assert not (tmp_path / "run" / "last.pt").exists()
