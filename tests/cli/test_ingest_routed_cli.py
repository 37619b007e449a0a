"""``gsr-eda ingest design`` with a real router label: the qflow serv designs (.def.gz) and option errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gsr_eda.store import GraphStore

GSR_EDA = Path(sys.executable).with_name("gsr-eda")
OSU018_LEF = Path("/usr/share/qflow/tech/osu018/osu018_stdcells.lef")


def run_cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([str(GSR_EDA), *map(str, args)], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def serv(shared_data: Path) -> Path:
    if not OSU018_LEF.is_file():
        pytest.skip(f"{OSU018_LEF} not installed (apt-get install qflow-tech-osu018; make setup does it as root)")
    return shared_data / "qflow"


def test_qflow_designs_ingest_with_the_routed_overflow_label(serv, tmp_path):
    store = tmp_path / "qflow.h5"
    for variant in ("A", "B"):
        d = serv / f"serv-{variant}"
        result = run_cli(
            "ingest", "design", "--def", d / "placed.def.gz", "--lef", OSU018_LEF, "--name", f"serv-{variant}",
            "--store", store, "--labels", d / "routed.def.gz", "--label-kind", "routed-def",
            "--label-option", "measure=overflow", "--label-option", "tool=qrouter",
            "--label-option", "tool_version=1.4.71", "--label-option", f"failed_nets={d / 'fail.out'}", "--json",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        (entry,) = json.loads(result.stdout)["designs"]
        assert entry["label"]["name"] == "routed_overflow" and entry["label"]["is_proxy"] is False
    with GraphStore(store) as opened:
        dense, spread = opened.read("serv-A"), opened.read("serv-B")
    provenance = dense.metadata["label_provenance"]
    assert provenance["tool"] == "qrouter" and provenance["tool_version"] == "1.4.71"
    assert provenance["failed_fraction"] == 0.0 and provenance["capacity_fraction"] == 0.5
    assert dense.design.source["def"].endswith("placed.def.gz")
    # The dense placement (utilisation 0.95) overflows half the tracks in more gcells than the spread one.
    dense_share = (dense.gcell_labels > 0).mean()
    assert dense_share > (spread.gcell_labels > 0).mean() and dense_share > 0.1


@pytest.mark.parametrize(
    "option, message",
    [
        ("measure", "--label-option must be KEY=VALUE, got 'measure'"),
        ("detour=1", "label kind 'routed-def' has no option 'detour'"),
    ],
)
def test_bad_label_option_is_one_line_exit_3(serv, tmp_path, option, message):
    d = serv / "serv-A"
    result = run_cli(
        "ingest", "design", "--def", d / "placed.def.gz", "--lef", OSU018_LEF, "--store", tmp_path / "s.h5",
        "--labels", d / "routed.def.gz", "--label-kind", "routed-def", "--label-option", option,
    )  # fmt: skip
    assert result.returncode == 3 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s.h5").exists()
