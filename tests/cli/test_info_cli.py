"""``gsr-eda info``: listings of a store, and one clear line for a bad one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import h5py
import pytest
from typer.testing import CliRunner

from gsr_eda.cli import app
from gsr_eda.errors import InputError
from gsr_eda.ingest.build import build_record
from gsr_eda.labels import proxy_congestion
from gsr_eda.store import write_designs
from placed_design_builder import random_design

GSR_EDA = Path(sys.executable).with_name("gsr-eda")


@pytest.fixture
def store(tmp_path) -> Path:
    path = tmp_path / "s.h5"
    labelled = random_design(40, 30, seed=5)
    labelled.name = "labelled"
    plain = random_design(25, 20, seed=6)
    plain.name = "plain"
    write_designs(
        path,
        [
            build_record(labelled, label=proxy_congestion(labelled), metadata={"sources": {"def": "a.def"}}),
            build_record(plain, net_model="clique"),
        ],
    )
    return path


def test_info_json_lists_every_design(store):
    result = CliRunner().invoke(app, ["info", str(store), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["schema_version"] == 1 and info["store"] == str(store)
    labelled, plain = info["designs"]
    assert (labelled["name"], labelled["nodes"], labelled["label"]["is_proxy"]) == ("labelled", 40, True)
    assert (plain["name"], plain["nodes"], plain["label"], plain["net_model"]) == ("plain", 25, None, "clique")
    assert labelled["grid_shape"] == [20, 20] and labelled["die_um"] == [0.0, 0.0, 20.0, 20.0]


def test_info_table_and_detail(store):
    table = CliRunner().invoke(app, ["info", str(store)])
    assert table.exit_code == 0
    assert "2 design(s)" in table.stdout and "[proxy]" in table.stdout and "plain" in table.stdout
    detail = CliRunner().invoke(app, ["info", str(store), "--design", "labelled"])
    assert detail.exit_code == 0
    assert "width [um]" in detail.stdout and "proxy estimate" in detail.stdout and "a.def" in detail.stdout
    assert "plain" not in detail.stdout


def test_unknown_design_through_the_real_entry_point(store):
    result = subprocess.run([str(GSR_EDA), "info", str(store), "--design", "nope"], capture_output=True, text=True)
    assert result.returncode == 3 and result.stdout == ""
    assert result.stderr == f"gsr-eda: error: {store}: no design 'nope' in the store (available: labelled, plain)\n"


def test_foreign_and_corrupt_files_are_one_line(tmp_path):
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["data"] = [1, 2, 3]
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    for path, message in [(foreign, "not a gsr-eda graph store"), (junk, "not a readable HDF5 file")]:
        result = subprocess.run([str(GSR_EDA), "info", str(path)], capture_output=True, text=True)
        assert result.returncode == 3
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"gsr-eda: error: {path}: ") and message in lines[0]


def test_missing_store_raises_input_error(tmp_path):
    result = CliRunner().invoke(app, ["info", str(tmp_path / "none.h5")])
    assert isinstance(result.exception, InputError) and "no such graph store" in str(result.exception)
