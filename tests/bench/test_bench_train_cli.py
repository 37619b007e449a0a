"""``gsr-eda bench train``: JSON output on a tiny labelled store, one-line errors for bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from gsr_eda.cli import main


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory) -> Path:
    """One labelled 150-cell design (proxy congestion label), written with the real store writer."""
    from gsr_eda.ingest.build import build_record
    from gsr_eda.labels.proxy import proxy_congestion
    from gsr_eda.store import write_designs
    from placed_design_builder import make_design

    rng = np.random.default_rng(3)
    boxes = [(float(x), float(y), 1.0, 1.0) for x, y in rng.uniform(0, 18, (150, 2))]
    nets = [sorted(set(rng.integers(0, 150, int(rng.integers(2, 6))).tolist())) for _ in range(140)]
    nets = [net for net in nets if len(net) >= 2]
    design = make_design(boxes, nets, die=(0.0, 0.0, 20.0, 20.0), gcell=2.0)
    design.name = "tiny"
    path = tmp_path_factory.mktemp("bench_store") / "tiny.h5"
    write_designs(path, [build_record(design, label=proxy_congestion(design, measure="utilisation"))])
    return path


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    old_argv = sys.argv
    sys.argv = ["gsr-eda", *args]
    try:
        with pytest.raises(SystemExit) as exit_info:
            main()
    finally:
        sys.argv = old_argv
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def test_json_output_of_a_real_two_model_run(tiny_store, tmp_path, capsys):
    out = tmp_path / "bench"
    code, stdout, stderr = run_cli(
        [
            "bench",
            "train",
            "--store",
            str(tiny_store),
            "--design",
            "tiny",
            "--models",
            "gsr,gcn",
            "--layers",
            "2",
            "--hidden",
            "16",
            "--k",
            "4",
            "--steps",
            "1",
            "--warmup",
            "1",
            "--epochs",
            "3",
            "--threads",
            "1",
            "--profile",
            "--out",
            str(out),
            "--json",
        ],
        capsys,
    )
    assert code == 0, stderr
    document = json.loads(stdout)
    assert [r["label"] for r in document["records"]] == ["gsr L2 k4", "gcn L2"]
    for record in document["records"]:
        assert record["status"] == "ok", record.get("log")
        figures = record["figures"]
        assert figures["graph"]["nodes"] == 150 and figures["graph"]["labelled"]
        assert figures["step_s"] > 0 and figures["epochs_trained"] == 3
        assert figures["val_pearson"] is None or -1 <= figures["val_pearson"] <= 1
    kernels = {k["name"] for k in document["records"][0]["figures"]["profile"]["kernels"]}
    assert any(name.startswith("gsr_core::") for name in kernels), "compiled kernels are named in the profile"
    assert "profile" not in document["records"][1]["figures"]  # --profile is for gsr only
    assert document["graph"]["name"] == "tiny" and document["settings"]["hidden"] == 16
    assert document["machine"]["command"].startswith("gsr-eda bench train --store")
    assert {Path(f).name for f in document["files"]} >= {"results.json", "report.md", "time_vs_depth.png"}
    assert json.loads((out / "results.json").read_text())["records"] == document["records"]
    assert "gsr L2 k4" in stderr  # progress lines go to stderr, never into the JSON


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--models", "gsr,transformer"], "--models: unknown model 'transformer'"),
        (["--design", "nope"], "no design 'nope' in the store"),
        (["--layers", "16,x"], "--layers: expected comma-separated positive integers"),
        (["--k", "200"], "--k 200 is larger than the 128 channels of each group"),
        (["--hidden", "255"], "--hidden 255 is not divisible by --groups 2"),
        (["--device", "tpu"], "--device: expected cpu, cuda or cuda:N"),
    ],
)
def test_bad_arguments_are_one_line_errors_with_exit_code_3(tiny_store, tmp_path, capsys, args, message):
    out = tmp_path / "never"
    code, stdout, stderr = run_cli(["bench", "train", "--store", str(tiny_store), "--out", str(out), *args], capsys)
    assert code == 3
    assert stderr.count("\n") == 1 and stderr.startswith("gsr-eda: error: ")
    assert message in stderr
    assert stdout == "" and not out.exists()


def test_missing_store_names_the_file(tmp_path, capsys):
    missing = tmp_path / "missing.h5"
    code, _, stderr = run_cli(["bench", "train", "--store", str(missing), "--out", str(tmp_path / "o")], capsys)
    assert code == 3 and stderr == f"gsr-eda: error: {missing}: no such graph store\n"


def test_cuda_request_without_cuda_is_a_clear_error(tiny_store, tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, _, stderr = run_cli(
        ["bench", "train", "--store", str(tiny_store), "--device", "cuda", "--out", str(tmp_path / "o")], capsys
    )
    assert code == 3 and "--device cuda: CUDA is not available" in stderr and stderr.count("\n") == 1
