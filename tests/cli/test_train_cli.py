"""End to end through the CLI: synth -> ingest -> train (2 epochs) -> resume -> evaluate -> predict -> gate."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from gsr_eda.errors import EXIT_BAD_INPUT, EXIT_GATE


def run_cli(args: list[str], capsys, monkeypatch) -> tuple[int, str, str]:
    """Run ``gsr-eda ARGS`` in-process through the real entry point (exit codes included)."""
    from gsr_eda.cli import main

    monkeypatch.setattr(sys, "argv", ["gsr-eda", *map(str, args)])
    code = 0
    try:
        main()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 0
    out = capsys.readouterr()
    return code, out.out, out.err


def synth_store(root: Path, *ingest_options: str) -> Path:
    """Two small synthetic designs, ingested with proxy labels (a node split: fewer than 3 designs)."""
    mp = pytest.MonkeyPatch()
    from gsr_eda.cli import main

    for seed in (1, 2):
        for argv in (
            ["synth", "--cells", "150", "--seed", seed, "--name", f"d{seed}", "--out", root],
            [
                "ingest",
                "design",
                "--def",
                root / f"d{seed}.def",
                "--lef",
                root / f"d{seed}.lef",
                "--store",
                root / "s.h5",
                *ingest_options,
            ],
        ):
            mp.setattr(sys, "argv", ["gsr-eda", *map(str, argv)])
            try:
                main()
            except SystemExit as stop:
                assert not stop.code, argv
    mp.undo()
    return root / "s.h5"


def forget_option(run: Path, section: str, key: str) -> None:
    """Make ``run``'s checkpoints look written before option ``key`` existed (in its checkpoint
    ``section`` and in the saved training config)."""
    import torch

    for name in ("last.pt", "best.pt"):
        state = torch.load(run / name, weights_only=True)
        del state[section][key], state["train"]["config"][key]
        torch.save(state, run / name)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return synth_store(tmp_path_factory.mktemp("cli"))


def test_train_resume_evaluate_predict_and_gate(store, tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    common = ["--model", "gsr", "--layers", "3", "--hidden", "16", "--k", "4", "--seed", "1"]
    code, out, err = run_cli(["train", "--store", store, "--out", run, "--epochs", "2", *common], capsys, monkeypatch)
    assert code == 0, err
    assert "split by node over 2 design(s)" in out
    import torch

    assert torch.load(run / "best.pt", weights_only=True)["graph"]["placement_neighbours"] == 8
    assert len((run / "metrics.csv").read_text().splitlines()) == 3

    code, out, err = run_cli(["train", "--resume", run, "--epochs", "3", "--json"], capsys, monkeypatch)
    assert code == 0, err
    summary = json.loads(out)
    assert summary["epochs_run"] == 3 and summary["config"]["layers"] == 3
    assert "resuming" in err

    code, out, err = run_cli(["evaluate", "--checkpoint", run, "--store", store, "--json"], capsys, monkeypatch)
    assert code == 0, err
    result = json.loads(out)
    assert set(result["designs"]) == {"d1", "d2"}
    for entry in result["designs"].values():
        assert entry["role"] == "node split"
        assert {"cells", "gcells", "cells_test"} <= set(entry)
        assert -1.0 <= entry["cells"]["pearson"] <= 1.0
    assert result["overall"]["cells"]["n"] == sum(e["cells"]["n"] for e in result["designs"].values())
    assert result["gcell_map"] == "mapped cells"  # a split by node has no validation design to fit a gcell head on

    for ext in ("csv", "npy", "json"):
        target = tmp_path / f"pred.{ext}"
        code, out, err = run_cli(
            ["predict", "-c", run / "best.pt", "--store", store, "--design", "d1", "--out", target], capsys, monkeypatch
        )
        assert code == 0, err
        assert target.is_file() and (tmp_path / f"pred.gcell.{ext}").is_file()
    cells = np.load(tmp_path / "pred.npy")
    grid = np.load(tmp_path / "pred.gcell.npy")
    as_json = json.loads((tmp_path / "pred.json").read_text())["cells"]
    assert cells.shape == (len(as_json),) and grid.ndim == 2
    first_row = (tmp_path / "pred.csv").read_text().splitlines()[1].split(",")
    assert float(first_row[1]) == pytest.approx(as_json[first_row[0]], rel=1e-4, abs=1e-6)

    # From DEF (the same ingest code, no labels), with a heatmap and the gate tripped on purpose.
    def_path = store.parent / "d2.def"
    gate_args = [
        "predict",
        "-c",
        run,
        "--def",
        def_path,
        "--lef",
        store.parent / "d2.lef",
        "--json",
        "--heatmap",
        tmp_path / "map.png",
        "--hotspot-threshold",
        "-1e9",
        "--fail-above",
        "0.5",
    ]
    code, out, err = run_cli(gate_args, capsys, monkeypatch)
    assert code == EXIT_GATE, err
    summary = json.loads(out)
    assert summary["hotspot_fraction"] == 1.0 and summary["gate"]["tripped"]
    assert summary["values"] == "relative"  # trained with the default --target-scale design
    assert (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    gate_args[gate_args.index("-1e9")] = "1e9"
    code, out, _ = run_cli(gate_args, capsys, monkeypatch)
    assert code == 0 and json.loads(out)["hotspot_fraction"] == 0.0


def test_user_errors_are_one_line_with_exit_code_3(store, tmp_path, capsys, monkeypatch):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    code, _, err = run_cli(["evaluate", "--checkpoint", bad, "--store", store], capsys, monkeypatch)
    assert code == EXIT_BAD_INPUT and err.startswith(f"gsr-eda: error: {bad}:") and err.count("\n") == 1
    code, _, err = run_cli(["train", "--store", store, "--out", tmp_path / "r", "--model", "mlp"], capsys, monkeypatch)
    assert code == EXIT_BAD_INPUT and "unknown model 'mlp'" in err
    code, _, err = run_cli(["train", "--store", store, "--out", tmp_path / "r", "--designs", "zz"], capsys, monkeypatch)
    assert code == EXIT_BAD_INPUT and "no design 'zz'" in err
    code, _, err = run_cli(["predict", "-c", bad, "--store", store], capsys, monkeypatch)
    assert code == EXIT_BAD_INPUT and "--store and --design go together" in err
    assert not (tmp_path / "r").exists()


def test_checkpoint_with_other_features_is_refused(store, tmp_path, capsys, monkeypatch):
    import torch

    from gsr_eda.models import build_model
    from gsr_eda.predict.checkpoint import save_checkpoint
    from gsr_eda.predict.normalization import Standardizer

    std = Standardizer.fit([np.zeros((2, 2)) + [[0, 1], [1, 0]]], [np.arange(2.0)])
    path = tmp_path / "other.pt"
    save_checkpoint(
        path,
        {
            "model": {"name": "sage", "in_channels": 2, "hidden": 4, "layers": 1, "groups": 2, "k": 2, "dropout": 0.0},
            "graph": {"net_model": "capped-clique", "net_cap": 8, "normalization": "mean"},
            "label": {"name": "x", "reduce": "max", "is_proxy": True},
            "feature_names": ["width", "colour"],
            "standardizer": std.to_state(),
            "model_state": build_model("sage", 2, hidden=4, layers=1).state_dict(),
        },
    )
    for argv in (
        ["evaluate", "-c", path, "--store", store],
        ["predict", "-c", path, "--store", store, "--design", "d1"],
    ):
        code, _, err = run_cli(argv, capsys, monkeypatch)
        assert code == EXIT_BAD_INPUT, err
        assert "checkpoint does not fit design 'd1'" in err and "missing colour" in err
    assert torch.load(path, weights_only=True)["format_version"] == 1


def test_held_out_design_is_reported_apart_next_to_the_baselines(store, tmp_path, capsys, monkeypatch):
    run = tmp_path / "held_out"
    code, out, err = run_cli(
        [
            "train",
            "--store",
            store,
            "--out",
            run,
            "--val-designs",
            "d2",
            "--epochs",
            "2",
            "--model",
            "gcn",
            "--layers",
            "2",
            "--hidden",
            "8",
        ],
        capsys,
        monkeypatch,
    )
    assert code == 0, err
    assert "held-out designs named by the user" in out and "train 1 (d1); val 1 (d2)" in out
    ckpt = torch_load(run / "best.pt")
    assert ckpt["model"]["in_channels"] == len(ckpt["feature_names"]) - 2  # no absolute die position
    kept = [ckpt["feature_names"][i] for i in ckpt["standardizer"]["columns"].tolist()]
    assert "x_norm" not in kept and "y_norm" not in kept and "rudy_max" in kept

    code, out, err = run_cli(["evaluate", "--checkpoint", run, "--store", store, "--json"], capsys, monkeypatch)
    assert code == 0, err
    result = json.loads(out)
    assert {n: e["role"] for n, e in result["designs"].items()} == {"d1": "train", "d2": "val"}
    assert set(result["roles"]) == {"train", "val"}
    assert result["roles"]["val"]["cells"]["n"] == result["designs"]["d2"]["cells"]["n"]
    baselines = result["designs"]["d2"]["baselines"]
    assert set(baselines) == {"rudy", "pin_rudy", "density"}  # no proxy baseline on proxy labels
    assert baselines["rudy"]["gcells"]["n"] == result["designs"]["d2"]["gcells"]["n"]

    code, out, err = run_cli(["evaluate", "--checkpoint", run, "--store", store], capsys, monkeypatch)
    assert code == 0, err
    assert "pin_rudy" in out and "pooled: val" in out


def torch_load(path: Path) -> dict:
    import torch

    return torch.load(path, weights_only=True)


def test_cellnet_model_with_a_narrower_net_state(tmp_path_factory, tmp_path, capsys, monkeypatch):
    import torch

    store = synth_store(tmp_path_factory.mktemp("cellnet"), "--net-model", "cell-net")
    run = tmp_path / "run"
    common = ["--model", "gsr-cellnet", "--layers", "2", "--hidden", "16", "--k", "4", "--epochs", "2"]
    code, _, err = run_cli(["train", "--store", store, "--out", run, *common, "--net-hidden", "8"], capsys, monkeypatch)
    assert code == 0, err
    checkpoint = torch.load(run / "best.pt", weights_only=True)
    assert checkpoint["model"]["net_hidden"] == 8
    # The default placement neighbours, as the cell -> cell relation of the first group of each layer.
    assert checkpoint["graph"]["placement_neighbours"] == 8 and checkpoint["model"]["placement_groups"] == 1
    assert checkpoint["model_state"]["body.stack.to_net_weight"].shape == (2, 2, 8, 4)
    assert checkpoint["model_state"]["body.stack.placement_weight"].shape == (2, 1, 8, 8)
    code, out, err = run_cli(
        ["predict", "-c", run, "--store", store, "--design", "d1", "--out", tmp_path / "p.npy"], capsys, monkeypatch
    )
    assert code == 0, err
    assert np.isfinite(np.load(tmp_path / "p.npy")).all()

    # The default: half of --hidden. A run saved before --net-hidden existed (no such key, nets as
    # wide as cells) resumes with its own width.
    code, _, err = run_cli(["train", "--store", store, "--out", tmp_path / "default", *common], capsys, monkeypatch)
    assert code == 0, err
    assert torch.load(tmp_path / "default" / "last.pt", weights_only=True)["model"]["net_hidden"] == 8
    old = tmp_path / "old"
    code, _, err = run_cli(
        ["train", "--store", store, "--out", old, *common, "--net-hidden", "16"], capsys, monkeypatch
    )
    assert code == 0, err
    forget_option(old, "model", "net_hidden")
    code, out, err = run_cli(["train", "--resume", old, "--epochs", "3", "--json"], capsys, monkeypatch)
    assert code == 0, err
    assert json.loads(out)["config"]["net_hidden"] == 16

    code, _, err = run_cli(
        ["train", "--store", store, "--out", tmp_path / "bad", *common, "--net-hidden", "7"], capsys, monkeypatch
    )
    assert code == EXIT_BAD_INPUT and "--net-hidden 7" in err and "net_channels (7)" in err and err.count("\n") == 1
    assert not (tmp_path / "bad").exists()


def test_a_run_from_before_placement_neighbours_resumes_on_the_netlist_alone(store, tmp_path, capsys, monkeypatch):
    import torch

    run = tmp_path / "old"
    common = ["--model", "gsr", "--layers", "2", "--hidden", "16", "--k", "4", "--placement-neighbours", "0"]
    code, _, err = run_cli(["train", "--store", store, "--out", run, "--epochs", "2", *common], capsys, monkeypatch)
    assert code == 0, err
    forget_option(run, "graph", "placement_neighbours")
    code, out, err = run_cli(["train", "--resume", run, "--epochs", "3", "--json"], capsys, monkeypatch)
    assert code == 0, err
    assert json.loads(out)["config"]["placement_neighbours"] == 0
    assert torch.load(run / "last.pt", weights_only=True)["graph"]["placement_neighbours"] == 0
    code, _, err = run_cli(
        ["train", "--store", store, "--out", tmp_path / "bad", "--placement-neighbours", "-1"], capsys, monkeypatch
    )
    assert code == EXIT_BAD_INPUT and "--placement-neighbours must be >= 0" in err
