"""Real labels from routed DEFs: tracks used per gcell by hand, both measures, provenance, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from gsr_eda.design import GcellGrid, RoutingCapacity
from gsr_eda.errors import InputError
from gsr_eda.ingest.routed_def import read_routed_wiring
from gsr_eda.labels import read_routed_def, routed_usage

HEADER = "VERSION 5.8 ;\nDESIGN t ;\nUNITS DISTANCE MICRONS 100 ;\nDIEAREA ( 0 0 ) ( 2000 1000 ) ;\n"
# Two gcells of 10 x 10 um side by side.
GRID = GcellGrid(np.array([0.0, 10.0, 20.0]), np.array([0.0, 10.0]))
CAPACITY = RoutingCapacity(np.full((2, 1), 4.0), np.full((2, 1), 2.0))
# Net a: a horizontal wire x 5..15 um on metal3 (half of each gcell's width), a vertical wire
# y 0..10 um on metal2 in gcell 1 (the gcell's full height), two vias in gcell 0.
# Net b: a horizontal wire across gcell 1 (x 10..20) and a wrong-way one on metal2, x 12..16.
NETS = """NETS 3 ;
- a ( u1 Y ) ( u2 A )
+ ROUTED metal1 ( 500 500 ) M2_M1
  NEW metal2 ( 500 500 ) M3_M2
  NEW metal3 ( 500 500 ) ( 1500 * )
  NEW metal2 ( 1800 0 ) ( * 1000 ) ;
- b ( u3 Y ) ( u4 A )
+ ROUTED metal3 ( 1000 200 ) ( 2000 * )
  NEW metal2 ( 1200 300 ) ( 1600 * ) ;
- c ( u5 Y ) ( u6 A ) ;
END NETS
"""


@pytest.fixture
def routed(tmp_path: Path) -> Path:
    path = tmp_path / "routed.def"
    path.write_text(HEADER + NETS + "END DESIGN\n")
    return path


def test_usage_per_gcell_by_hand(routed):
    usage = routed_usage(read_routed_wiring(routed), GRID)
    # Horizontal tracks: gcell 0 holds 5 um of net a over a 10 um width; gcell 1 holds 5 + 10 + 4 um.
    np.testing.assert_allclose(usage.horizontal[:, 0], [0.5, 1.9])
    np.testing.assert_allclose(usage.vertical[:, 0], [0.0, 1.0])
    np.testing.assert_allclose(usage.length["metal3"][:, 0], [5.0, 15.0])
    np.testing.assert_allclose(usage.length["metal2"][:, 0], [0.0, 14.0])
    assert usage.vias["M2_M1"][:, 0].tolist() == [1.0, 0.0] and usage.vias["M3_M2"][:, 0].tolist() == [1.0, 0.0]


def test_utilisation_and_overflow_measures(routed):
    label = read_routed_def(routed, GRID, CAPACITY)
    # max(U_h / 4, U_v / 2): gcell 0 max(0.125, 0), gcell 1 max(0.475, 0.5).
    np.testing.assert_allclose(label.values[:, 0], [0.125, 0.5])
    assert label.name == "routed_utilisation" and not label.is_proxy and label.source == str(routed)
    overflow = read_routed_def(routed, GRID, CAPACITY, measure="overflow", capacity_fraction="0.25")
    # Against 1 horizontal and 0.5 vertical track: gcell 0: 0.5 - 1 < 0; gcell 1: 0.9 + 1.0.
    np.testing.assert_allclose(overflow.values[:, 0], [0.0, 1.9], rtol=1e-6)
    assert overflow.provenance["capacity_fraction"] == 0.25


def test_provenance_from_wiring_options_and_route_record(routed, tmp_path):
    label = read_routed_def(routed, GRID, CAPACITY)
    assert label.provenance == {
        "tool": "unknown",
        "tool_version": "unknown",
        "nets": 3,
        "failed_nets": 1,
        "failed_fraction": pytest.approx(1 / 3),
        "failed_from": "nets without wiring",
    }
    failed = tmp_path / "fail.out"
    failed.write_text("3 nets failed to route:\n b\n c\n b\n")  # b twice: once per failed connection
    given = read_routed_def(routed, GRID, CAPACITY, tool="qrouter", tool_version="1.4.71", failed_nets=failed)
    assert given.provenance["failed_nets"] == 2 and given.provenance["tool"] == "qrouter"
    assert "qrouter 1.4.71, 2 of 3 nets failed" in given.description
    routed.with_name("routed.def.json").write_text(
        json.dumps({"tool": "qrouter", "tool_version": "1.4.71.T", "failed_nets": []})
    )
    recorded = read_routed_def(routed, GRID, CAPACITY)
    assert recorded.provenance["tool_version"] == "1.4.71.T" and recorded.provenance["failed_nets"] == 0


def test_bad_inputs_are_refused(routed, tmp_path):
    with pytest.raises(InputError, match="track capacity"):
        read_routed_def(routed, GRID, None)
    with pytest.raises(InputError, match="unknown routed-label measure"):
        read_routed_def(routed, GRID, CAPACITY, measure="detour")
    with pytest.raises(InputError, match="capacity_fraction"):
        read_routed_def(routed, GRID, CAPACITY, measure="overflow", capacity_fraction="2")
    placed = tmp_path / "placed.def"
    placed.write_text(HEADER + "NETS 1 ;\n- c ( u5 Y ) ( u6 A ) ;\nEND NETS\nEND DESIGN\n")
    with pytest.raises(InputError, match="no ROUTED wiring"):
        read_routed_def(placed, GRID, CAPACITY)
    small = GcellGrid(np.array([0.0, 2.0]), np.array([0.0, 2.0]))
    with pytest.raises(InputError, match="another design"):
        read_routed_def(routed, small, RoutingCapacity(np.ones((1, 1)), np.ones((1, 1))))


def test_qflow_serv_label_is_real_and_tracks_the_proxy(shared_data):
    from scipy.stats import pearsonr

    from gsr_eda.ingest import read_def_design
    from gsr_eda.labels import proxy_congestion, read_labels

    lef = Path("/usr/share/qflow/tech/osu018/osu018_stdcells.lef")
    if not lef.is_file():
        pytest.skip(f"{lef} not installed (apt-get install qflow-tech-osu018)")
    serv = shared_data / "qflow" / "serv-A"
    design = read_def_design(serv / "placed.def.gz", [lef])
    label = read_labels("routed-def", serv / "routed.def.gz", design=design, failed_nets=str(serv / "fail.out"))
    assert label.provenance["failed_nets"] == 0 and label.provenance["nets"] == 8058
    # A legal detail route never fills every track; the densest gcell of serv-A uses 0.79 of them.
    assert 0.5 < label.values.max() < 1.0
    assert pearsonr(label.values.ravel(), proxy_congestion(design).values.ravel())[0] > 0.7
