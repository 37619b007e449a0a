"""flows/openroad/gsr_eda.tcl run by the real tclsh against a real `gsr-eda serve`."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

TCL_PROCS = Path(__file__).resolve().parents[2] / "flows" / "openroad" / "gsr_eda.tcl"

pytestmark = pytest.mark.skipif(shutil.which("tclsh") is None, reason="tclsh (Tcl 8.6) is not installed")


def run_tcl(script: str) -> subprocess.CompletedProcess:
    """Run a script file (tclsh reading stdin would exit 0 even after an error)."""
    with tempfile.NamedTemporaryFile("w", suffix=".tcl", delete=False) as handle:
        handle.write(f"source {{{TCL_PROCS}}}\n{script}")
    try:
        return subprocess.run(["tclsh", handle.name], capture_output=True, text=True, timeout=120)
    finally:
        Path(handle.name).unlink()


def test_json_round_trip_in_tcl():
    out = run_tcl(r"""
set o [gsr_eda::json_object [list id n 3 op s "a\"b\\c\n" lefs l {x.lef {y z.lef}} reuse b 1]]
puts $o
set d [gsr_eda::json_decode {{"id":3,"ok":true,"v":-1.5e-3,"n":null,"l":["a","b\"c"],"u":"\u00e9"}}]
puts "[dict get $d v]|[dict get $d n]|[lindex [dict get $d l] 1]|[dict get $d u]|[dict get $d ok]"
""")
    assert out.returncode == 0, out.stderr
    import json

    first, second = out.stdout.splitlines()
    assert json.loads(first) == {"id": 3, "op": 'a"b\\c\n', "lefs": ["x.lef", "y z.lef"], "reuse": True}
    assert second == '-1.5e-3||b"c|é|1'


def test_staged_flow_procs_end_to_end(served, tiny_design, tmp_path):
    lefs = " ".join(f"{{{p}}}" for p in tiny_design.lefs)
    out = run_tcl(f"""
gsr_eda::connect -port {served.port}
puts "health [dict get [gsr_eda::health] status]"
set r [gsr_eda::load_design tcl_tiny {{{tiny_design.def_path}}} [list {lefs}]]
puts "cells [dict get $r cells]"
set u [gsr_eda::update_from_def tcl_tiny {{{tiny_design.def_path}}}]
puts "matched [dict get $u matched]"
set s [gsr_eda::estimate tcl_tiny {{{tmp_path / "iter1"}}} -threshold 0]
set scores [gsr_eda::read_scores [dict get $s cells_path]]
puts "scores [dict size $scores]"
set hot [gsr_eda::hotspots $scores [dict get $s p99]]
puts "hot [llength $hot] [dict get $s hotspot_cells]"
puts "worst [lindex $hot 0] [dict get $scores [lindex $hot 0]] [dict get $s max]"
if {{[catch {{gsr_eda::estimate nope {{{tmp_path / "x"}}}}} msg]}} {{ puts "error $msg" }}
puts "designs [gsr_eda::designs]"
gsr_eda::disconnect
""")
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert lines["health"] == "ok"
    assert lines["cells"] == "150" and lines["matched"] == "150" and lines["scores"] == "150"
    n_hot, n_above_zero = (int(v) for v in lines["hot"].split())
    assert 1 <= n_hot <= 2 and n_above_zero >= n_hot  # strictly above the 99th percentile
    _, worst, maximum = lines["worst"].split()
    assert float(worst) == pytest.approx(float(maximum), rel=1e-4)
    assert lines["error"].startswith("gsr-eda: unknown design 'nope'")
    assert "tcl_tiny" in lines["designs"].split()


def test_connect_without_port_is_a_tcl_error():
    out = run_tcl("gsr_eda::connect")
    assert out.returncode != 0 and "needs -port" in out.stderr
