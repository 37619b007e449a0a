"""Data-parallel training: 2 CPU processes (gloo, loopback) launched by torch.distributed.run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from gsr_eda.predict.checkpoint import load_checkpoint


def test_two_cpu_ranks_train_one_model(four_design_store, tmp_path):
    run = tmp_path / "ddp"
    gsr_eda = Path(sys.executable).with_name("gsr-eda")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "--no-python",
        str(gsr_eda),
        "train",
        "--store",
        str(four_design_store),
        "--out",
        str(run),
        "--model",
        "gsr",
        "--layers",
        "2",
        "--hidden",
        "16",
        "--k",
        "4",
        "--epochs",
        "2",
        "--threads",
        "1",
        "--json",
    ]
    env = os.environ | {"GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "data-parallel over 2 ranks" in proc.stderr
    summary = json.loads(proc.stdout)  # one JSON document: only rank 0 reports
    assert summary["world_size"] == 2 and summary["split_mode"] == "design"
    assert summary["epochs_run"] == 2 and summary["test"]["n"] > 0
    ckpt = load_checkpoint(run / "last.pt")
    assert all(torch.isfinite(v).all() for v in ckpt["model_state"].values())
    history = json.loads((run / "metrics.json").read_text())
    assert all(row["train_loss"] > 0 for row in history)
