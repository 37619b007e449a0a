"""flows/make: the Makefile step gates on `gsr-eda predict --fail-above` (exit 4)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MAKEFILE = Path(__file__).resolve().parents[2] / "flows" / "make" / "Makefile"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def run_make(tiny_design, checkpoint, out: Path, fail_above: str, threshold: str) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("gsr-eda")
    return subprocess.run(
        [
            "make",
            "-s",
            "-f",
            str(MAKEFILE),
            "route",
            f"GSR_EDA={exe}",
            f"CHECKPOINT={checkpoint}",
            f"DEF={tiny_design.def_path}",
            f"LEFS={tiny_design.lefs[0]} {tiny_design.lefs[1]}",
            f"OUT={out}",
            f"FAIL_ABOVE={fail_above}",
            f"HOTSPOT_THRESHOLD={threshold}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_gate_passes_then_trips(tiny_design, tiny_checkpoint, tmp_path):
    # Threshold above any prediction: no hotspot, the gate passes and `route` runs.
    ok = run_make(tiny_design, tiny_checkpoint, tmp_path / "pass", "0.0", "1e9")
    assert ok.returncode == 0, ok.stderr
    assert "routing" in ok.stdout
    summary = json.loads((tmp_path / "pass" / "congestion.json").read_text())
    assert summary["hotspot_fraction"] == 0.0 and summary["gate"]["tripped"] is False
    # Threshold below every prediction: every covered gcell is hot, the gate trips with 4.
    bad = run_make(tiny_design, tiny_checkpoint, tmp_path / "fail", "0.5", "-1e9")
    assert bad.returncode != 0 and "routing" not in bad.stdout
    assert "FAILED: hotspot fraction above 0.5" in bad.stderr
    assert not (tmp_path / "fail" / "congestion.json").exists()  # no stale pass left behind


def test_gate_script_exit_code_is_4(tiny_design, tiny_checkpoint, tmp_path):
    exe = Path(sys.executable).with_name("gsr-eda")
    result = subprocess.run(
        [
            "bash",
            str(MAKEFILE.with_name("congestion_gate.sh")),
            str(tiny_checkpoint),
            str(tiny_design.def_path),
            str(tmp_path),
            "0.5",
            *map(str, tiny_design.lefs),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={"GSR_EDA": str(exe), "HOTSPOT_THRESHOLD": "-1e9", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 4, result.stderr
