"""The routed-DEF wiring scanner: segments, vias, '*' coordinates, connections inside wiring, bad input."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from gsr_eda.errors import InputError
from gsr_eda.ingest.routed_def import read_routed_wiring

HEADER = "VERSION 5.8 ;\nDESIGN t ;\nUNITS DISTANCE MICRONS 100 ;\nDIEAREA ( 0 0 ) ( 1000 1000 ) ;\n"


def write_def(tmp_path: Path, nets: str, name: str = "routed.def") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + nets + "END DESIGN\n")
    return path


def test_segments_vias_and_star_coordinates(tmp_path):
    path = write_def(
        tmp_path,
        """NETS 2 ;
- a ( u1 Y ) ( u2 A ) + USE SIGNAL
+ ROUTED metal1 ( 100 200 ) M2_M1
  NEW metal2 ( 100 200 ) ( * 500 ) M3_M2
  NEW metal3 ( 100 500 ) ( 400 * ) ( * 300 ) # a comment ; with a semicolon
  ( PIN out )
;
- lonely ( u3 A ) ( u4 B ) ;
END NETS
SPECIALNETS 1 ;
- vdd + ROUTED metal1 40 ( 0 0 ) ( 1000 0 ) ;
END SPECIALNETS
""",
    )
    wiring = read_routed_wiring(path)
    assert wiring.dbu_per_micron == 100
    layers = [wiring.layers[k] for k in wiring.layer]
    assert layers == ["metal2", "metal3", "metal3"]  # SPECIALNETS wiring is not read
    segments = np.stack([wiring.x0, wiring.y0, wiring.x1, wiring.y1], axis=1)
    np.testing.assert_allclose(segments, [[1, 2, 1, 5], [1, 5, 4, 5], [4, 3, 4, 5]])
    assert wiring.vertical.tolist() == [True, False, True]
    assert wiring.horizontal.tolist() == [False, True, False]
    assert [wiring.via_names[k] for k in wiring.via] == ["M2_M1", "M3_M2"]
    np.testing.assert_allclose(np.stack([wiring.via_x, wiring.via_y], axis=1), [[1, 2], [1, 5]])
    # "( PIN out )" inside the wiring is a third connection of net a; net lonely has no wiring.
    assert wiring.nets == 2 and wiring.unrouted == ["lonely"]


def test_gzip_input_reads_the_same(tmp_path):
    nets = "NETS 1 ;\n- a ( u1 Y ) ( u2 A ) + ROUTED metal2 ( 0 0 ) ( 0 700 ) ;\nEND NETS\n"
    plain = write_def(tmp_path, nets)
    packed = tmp_path / "routed.def.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    a, b = read_routed_wiring(plain), read_routed_wiring(packed)
    np.testing.assert_array_equal(a.y1, b.y1)
    assert b.y1.tolist() == [7.0]


@pytest.mark.parametrize(
    "wiring, message",
    [
        ("+ ROUTED metal2 ( 0 0 ) ( 300 300 )", "non-rectilinear"),
        ("+ ROUTED metal2 ( 0 0 ) M2_M1 ( 0 300 )", "continues after a via"),
        ("+ ROUTED metal2 ( * 0 )", "'*' in the first point"),
        ("+ ROUTED metal2 ( 0 zero )", "expected a coordinate"),
        ("+ ROUTED metal2 M2_M1", "before any point"),
    ],
)
def test_unreadable_wiring_is_refused_naming_the_net(tmp_path, wiring, message):
    path = write_def(tmp_path, f"NETS 1 ;\n- bad ( u1 Y ) ( u2 A ) {wiring} ;\nEND NETS\n")
    with pytest.raises(InputError, match=message) as info:
        read_routed_wiring(path)
    assert "net bad" in str(info.value) and str(path) in str(info.value)


def test_def_without_nets_and_corrupt_gzip_are_refused(tmp_path):
    with pytest.raises(InputError, match="no NETS section"):
        read_routed_wiring(write_def(tmp_path, ""))
    broken = tmp_path / "cut.def.gz"
    broken.write_bytes(gzip.compress((HEADER * 50).encode())[:60])
    with pytest.raises(InputError, match="corrupt or truncated gzip"):
        read_routed_wiring(broken)


def test_qflow_serv_routed_def(shared_data):
    wiring = read_routed_wiring(shared_data / "qflow" / "serv-A" / "routed.def.gz")
    # 8,140 nets: the 82 not counted have a single pin; qrouter routed all the others.
    assert wiring.nets == 8058 and wiring.unrouted == []
    assert sorted(wiring.layers) == [f"metal{k}" for k in range(1, 7)]
    assert len(wiring.via) > 60_000
    # Every segment is horizontal or vertical, and preferred directions dominate each layer.
    assert np.all(wiring.horizontal | wiring.vertical)
    metal3 = wiring.layer == wiring.layers.index("metal3")
    assert wiring.horizontal[metal3].mean() > 0.9
