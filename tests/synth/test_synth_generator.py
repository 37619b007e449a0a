"""The synthetic design generator: legal rows, realistic nets, read back by the real DEF/LEF reader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gsr_eda.cli import app
from gsr_eda.ingest import read_def_design
from gsr_eda.synth import generate_design, write_design
from gsr_eda.synth.library import ROW_HEIGHT, SITE_WIDTH

CELLS = 1500


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    design = generate_design(CELLS, seed=7)
    lef, def_path = write_design(design, tmp_path_factory.mktemp("synth"))
    return design, lef, def_path


@pytest.fixture(scope="module")
def placed(written):
    _, lef, def_path = written
    return read_def_design(def_path, [lef], include_io_pins=True)


def test_round_trip_counts(written, placed):
    design, _, _ = written
    assert placed.name == design.name
    assert placed.dbu_per_micron == 1000.0
    assert placed.die == pytest.approx(design.die)
    # Taps have no nets and are dropped; every net comes back, with USE.
    assert not any(m == "TAPCELL" for m in placed.node_masters)
    assert placed.num_nets == len(design.nets)
    assert placed.num_pins == sum(len(n.pins) for n in design.nets)
    assert int(placed.is_io.sum()) == design.stats["io_pins"]
    assert int(placed.is_macro.sum()) == design.stats["macros"]
    assert placed.is_fixed[placed.is_macro].all()
    # Escaped register names survive in COMPONENTS and NETS alike.
    assert "state_reg\\[0\\]" in set(placed.node_names)
    assert placed.grid.x_edges[1] == pytest.approx(3.0)  # GCELLGRID: 15 M2 pitches
    assert placed.capacity is not None and placed.capacity.horizontal.min() > 0


def test_degree_distribution(placed):
    degree = np.diff(placed.net_ptr)
    assert degree.min() >= 2
    assert np.mean(degree <= 3) > 0.6  # mostly 2-3 pin nets
    assert 0.01 < np.mean(degree >= 10) < 0.15  # a tail to tens
    assert np.sum(degree >= 100) >= 2  # a few high-fan-out nets of hundreds
    clock = np.flatnonzero(placed.net_use == "CLOCK")
    assert len(clock) == 1
    j = clock[0]
    clock_nodes = placed.pin_node[placed.net_ptr[j] : placed.net_ptr[j + 1]]
    flops = np.flatnonzero(placed.node_masters == "DFF_X1")
    assert set(flops) <= set(clock_nodes) and len(clock_nodes) == len(flops) + 1  # + the clk IO pin


def test_no_pin_used_twice(written):
    design, _, _ = written
    terminals = [(inst, pin) for net in design.nets for inst, pin in net.pins]
    assert len(terminals) == len(set(terminals))


def test_rows_are_legal(written):
    design, _, _ = written
    std = ~design.inst_fixed
    x, y = design.inst_x[std], design.inst_y[std]
    width = np.array([design.cell_types[k].width for k in design.inst_type[std]])
    core_y0 = design.rows[0][0]
    assert np.allclose(((y - core_y0) / ROW_HEIGHT) % 1, 0, atol=1e-9)
    assert np.allclose(np.round((x - design.rows[0][1]) / SITE_WIDTH, 6) % 1, 0, atol=1e-6)
    order = np.lexsort((x, y))
    same_row = np.isclose(y[order][1:], y[order][:-1])
    gaps = x[order][1:] - (x[order][:-1] + width[order][:-1])
    assert np.all(gaps[same_row] > -1e-9), "standard cells overlap"
    # No standard cell overlaps a macro.
    for k in np.flatnonzero(design.inst_fixed & (design.inst_type >= len(design.cell_types) - design.stats["macros"])):
        mtype = design.cell_types[design.inst_type[k]]
        mx, my = design.inst_x[k], design.inst_y[k]
        inside = (x < mx + mtype.width) & (x + width > mx) & (y < my + mtype.height) & (y + ROW_HEIGHT > my)
        assert not inside.any()


def test_hotspot_is_denser(written):
    design, _, _ = written
    hx, hy, sigma = design.hotspot
    std = ~design.inst_fixed
    distance = np.hypot(design.inst_x[std] - hx, design.inst_y[std] - hy)
    near = np.sum(distance < sigma) / (np.pi * sigma**2)
    x0, y0, x1, y1 = design.die
    overall = std.sum() / ((x1 - x0) * (y1 - y0))
    assert near > 1.5 * overall


def test_deterministic_for_a_seed():
    a, b, c = generate_design(300, seed=3), generate_design(300, seed=3), generate_design(300, seed=4)
    np.testing.assert_array_equal(a.inst_x, b.inst_x)
    assert [n.pins for n in a.nets] == [n.pins for n in b.nets]
    assert not np.array_equal(a.inst_x, c.inst_x) or a.inst_x.shape != c.inst_x.shape


def test_cli_writes_and_verifies(tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(
        app, ["synth", "--cells", "200", "--seed", "2", "--name", "demo", "--out", str(tmp_path), "--verify", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert Path(summary["def"]) == tmp_path / "demo.def" and (tmp_path / "demo.lef").is_file()
    assert summary["read_back"]["nets"] == summary["nets"]
    again = runner.invoke(
        app, ["synth", "--cells", "200", "--seed", "2", "--name", "demo", "--out", str(tmp_path / "b")]
    )
    assert again.exit_code == 0
    assert (tmp_path / "b" / "demo.def").read_bytes() == (tmp_path / "demo.def").read_bytes()
    assert runner.invoke(app, ["synth", "--cells", "10", "--out", str(tmp_path)]).exit_code == 2


SAMPLES = Path(__file__).resolve().parents[2] / "sample_designs"


def test_sample_designs_are_current_and_parse():
    from gsr_eda.synth import def_text

    assert (SAMPLES / "synth_a.def").read_text() == def_text(generate_design(2000, seed=1, name="synth_a")), (
        "sample_designs/ is stale: run bash sample_designs/regenerate.sh"
    )
    for name in ("synth_a", "synth_b", "synth_c"):
        design = read_def_design(SAMPLES / f"{name}.def", [SAMPLES / f"{name}.lef"])
        assert 2000 <= design.num_nodes <= 4100 and design.num_nets > 1500
