"""gsr-eda route with the real qrouter binary: a small OSU 0.18 um design, then its label; errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from osu018_design import OSU018_LEF, write_osu018_design

from gsr_eda.route.qrouter import RouterError, RouteResult, _run

GSR_EDA = Path(sys.executable).with_name("gsr-eda")
needs_qrouter = pytest.mark.skipif(
    shutil.which("qrouter") is None or not OSU018_LEF.is_file(),
    reason="qrouter or the OSU 0.18 um LEF is not installed (apt-get install qrouter qflow-tech-osu018; "
    "make setup does it as root)",
)


def run_cli(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(GSR_EDA), *map(str, args)], capture_output=True, text=True, timeout=120, env=env)


@needs_qrouter
def test_route_small_design_then_ingest_its_real_label(tmp_path):
    placed = write_osu018_design(tmp_path)
    routed = tmp_path / "routed.def"
    result = run_cli("route", "--def", placed, "--lef", OSU018_LEF, "--out", routed, "--timeout", 60, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["tool_version"].startswith("1.4") and summary["failed_nets"] == 0
    assert set(summary["stages"]) == {"stage1", "stage2"}
    record = json.loads(routed.with_name("routed.def.json").read_text())
    assert record["tool"] == "qrouter" and record["failed_nets"] == []
    # Every one of the 23 signal nets got wiring (a net written on one line would get none).
    from gsr_eda.ingest.routed_def import read_routed_wiring

    wiring = read_routed_wiring(routed)
    assert wiring.nets == 23 and wiring.unrouted == [] and len(wiring.via) > 0

    store = tmp_path / "real.h5"
    ingest = run_cli(
        "ingest",
        "design",
        "--def",
        placed,
        "--lef",
        OSU018_LEF,
        "--store",
        store,
        "--labels",
        routed,
        "--label-kind",
        "routed-def",
        "--json",
    )
    assert ingest.returncode == 0, ingest.stderr
    label = json.loads(ingest.stdout)["designs"][0]["label"]
    assert label["name"] == "routed_utilisation" and label["is_proxy"] is False

    from gsr_eda.store import GraphStore

    with GraphStore(store) as opened:
        stored = opened.read("osu_tiny")
    assert stored.metadata["label_provenance"]["tool_version"] == record["tool_version"]
    assert stored.metadata["label_provenance"]["failed_fraction"] == 0.0
    assert np.all(stored.gcell_labels > 0) and np.all(stored.gcell_labels < 1)


def test_missing_qrouter_is_one_line_exit_3(tmp_path):
    placed = write_osu018_design(tmp_path)
    env = dict(os.environ, PATH=str(tmp_path))  # no qrouter there
    result = run_cli("route", "--def", placed, "--lef", placed, "--out", tmp_path / "r.def", env=env)
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        "gsr-eda: error: qrouter is not installed (not on PATH): install it with 'apt-get install qrouter' "
        "(Debian/Ubuntu), or run 'make setup' as root"
    ]
    assert not (tmp_path / "r.def").exists()


def test_a_run_past_its_time_limit_is_stopped(tmp_path):
    result = RouteResult(tool_version="unknown", nets=0, failed_nets=[])
    with pytest.raises(RouterError, match="did not finish within 0.5 s"):
        _run(["sleep", "30"], tmp_path, 0.5, lambda *_: None, result)
    assert result.seconds < 10
