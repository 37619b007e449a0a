"""Hostile training and prediction options (issue 20): exit codes, run folders, tiny designs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from records import chain_record

from gsr_eda.errors import InputError
from gsr_eda.store import write_designs

GSR_EDA = Path(sys.executable).with_name("gsr-eda")


def _gsr_eda(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([str(GSR_EDA), *map(str, args)], capture_output=True, text=True, timeout=300)


def _config(**options):
    from gsr_eda.train.trainer import TrainConfig

    return TrainConfig(**{"store": "unused.h5", "ignore_features": [], **options})


@pytest.mark.parametrize(
    "options, message",
    [
        ({"k": 64, "hidden": 32}, "k must be in"),
        ({"hidden": 33, "groups": 2}, "multiple of groups"),
        ({"model": "revgnn", "hidden": 33, "groups": 2}, "dividing hidden"),
        ({"lr": float("nan")}, "--lr must be a finite number"),
        ({"weight_decay": float("inf")}, "--weight-decay must be a finite number"),
        ({"dropout": 2.0}, r"dropout must be in \[0, 1\)"),
    ],
)
def test_inconsistent_model_options_are_input_errors_before_any_data(options, message):
    # Before: these failed deep in model or optimiser construction: "internal error", exit 1.
    with pytest.raises(InputError, match=message):
        _config(**options).validate()


def test_the_cli_reports_a_model_option_error_as_exit_3(tmp_path):
    run = _gsr_eda("train", "--store", tmp_path / "none.h5", "--out", tmp_path / "run", "--k", 64, "--hidden", 32)
    assert run.returncode == 3 and run.stderr.startswith("gsr-eda: error: --model gsr with --hidden 32"), run.stderr
    assert not (tmp_path / "run").exists()


def test_train_out_into_an_existing_run_is_refused_without_force(tmp_path):
    # Before: a second train --out silently replaced the run's best.pt and last.pt.
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "best.pt").write_bytes(b"the first run's model")
    result = _gsr_eda("train", "--store", tmp_path / "s.h5", "--out", run_dir)
    assert result.returncode == 3, result.stderr
    assert "already holds a training run (best.pt)" in result.stderr and "--resume" in result.stderr
    assert (run_dir / "best.pt").read_bytes() == b"the first run's model"


def test_force_lets_a_new_run_replace_the_folder(tmp_path):
    from gsr_eda.cli.train import check_new_run_folder

    (tmp_path / "last.pt").write_bytes(b"old")
    check_new_run_folder(tmp_path, force=True)


def test_a_forced_new_run_never_leaves_the_old_runs_best_pt(tmp_path):
    # Before: --force replaced last.pt, but a new run that never improved (its validation
    # Pearson undefined) left the first run's best.pt in the folder as if it were its own.
    import numpy as np

    from gsr_eda.train.trainer import train

    record = chain_record("flat", 60, labelled=True)
    record.cell_labels = np.full(60, 0.5, np.float32)  # constant: every validation Pearson is nan
    store = tmp_path / "flat.h5"
    write_designs(store, [record])
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "best.pt").write_bytes(b"the first run's model")
    config = _config(store=str(store), model="sage", hidden=8, layers=1, epochs=2, split="node")
    result = train(config, run_dir, log=lambda _msg: None, show_progress=False)
    assert result.best_epoch == -1
    assert not (run_dir / "best.pt").exists() and (run_dir / "last.pt").exists()


def test_train_out_on_a_read_only_mount_is_exit_3(read_only_dir, tmp_path):
    # Before: creating the folder raised EROFS: "internal error", exit 1.
    result = _gsr_eda("train", "--store", tmp_path / "s.h5", "--out", read_only_dir / "run")
    assert result.returncode == 3, result.stderr
    assert "is not writable" in result.stderr and str(read_only_dir / "run") in result.stderr


@pytest.mark.parametrize("cells", [1, 2, 7])
def test_a_design_too_small_to_split_is_refused_before_training(tmp_path, cells):
    # Before: 1 cell exited 0 with "best epoch -1" and a summary.json naming a best.pt never written.
    from gsr_eda.train.trainer import train

    store = tmp_path / "tiny.h5"
    write_designs(store, [chain_record("tiny", cells, labelled=True)])
    config = _config(store=str(store), model="sage", hidden=8, layers=1, epochs=2, split="node")
    with pytest.raises(InputError, match="too small to split by node"):
        train(config, tmp_path / "run", log=lambda _msg: None, show_progress=False)
    assert not (tmp_path / "run").exists()


def test_predict_heatmap_into_a_missing_folder_is_exit_3_naming_it(tmp_path):
    # Before: the heatmap's temporary file could not be opened: "internal error", exit 1.
    result = _gsr_eda(
        "predict",
        "--checkpoint",
        tmp_path / "ck.pt",
        "--store",
        tmp_path / "s.h5",
        "--design",
        "d",
        "--heatmap",
        "/missing/dir/h.png",
    )
    assert result.returncode == 3 and "/missing/dir: the heatmap's folder does not exist" in result.stderr


def test_an_unwritable_target_of_an_atomic_write_is_an_input_error(read_only_dir):
    from gsr_eda.atomic import write_text_atomically

    with pytest.raises(InputError, match="cannot write: read-only file system"):
        write_text_atomically(read_only_dir / "x.txt", "text")
    with pytest.raises(InputError, match="cannot write: no such file or directory"):
        write_text_atomically(read_only_dir / "missing" / "x.txt", "text")
