"""The DEF rewrites qrouter needs, on the OpenROAD-style test design (no router needed)."""

from __future__ import annotations

import re

from osu018_design import osu018_def

from gsr_eda.ingest.def_text import net_statements
from gsr_eda.route import fix_def_for_qrouter

DIRECTIONS = {
    "metal1": "HORIZONTAL",
    "metal2": "VERTICAL",
    "metal3": "HORIZONTAL",
    "metal4": "VERTICAL",
    "metal5": "HORIZONTAL",
    "metal6": "VERTICAL",
}


def test_every_quirk_is_fixed_and_nets_keep_their_connections():
    text = osu018_def()
    fixed, report = fix_def_for_qrouter(text, DIRECTIONS)
    # One TRACKS line per layer, across the preferred direction's tracks.
    tracks = re.findall(r"^TRACKS ([XY]) .* LAYER (\S+) ;", fixed, re.MULTILINE)
    assert sorted(tracks, key=lambda t: t[1]) == [
        ("Y", "metal1"),
        ("X", "metal2"),
        ("Y", "metal3"),
        ("X", "metal4"),
        ("Y", "metal5"),
        ("X", "metal6"),
    ]
    assert len(report.tracks_dropped) == 6
    # No + SHAPE left, NETS before SPECIALNETS.
    assert "SHAPE" not in fixed and report.shapes_dropped == 2
    assert fixed.index("\nNETS ") < fixed.index("\nSPECIALNETS ") and report.nets_moved_first
    # One connection or property per line; the same nets and connections as before.
    nets_body = fixed[fixed.index("\nNETS ") : fixed.index("END NETS")]
    assert all(line.count("(") <= 1 for line in nets_body.splitlines())
    assert net_statements(fixed) == [[t for t in s] for s in net_statements(text)]
    assert report.nets_rewritten == 23 and report.wiring_dropped == 0


def test_input_wiring_is_dropped_and_a_def_in_order_is_left_in_order():
    text = (
        "TRACKS Y 50 DO 10 STEP 100 LAYER metal1 ;\nNETS 1 ;\n"
        "- a ( u1 Y ) ( u2 A ) + ROUTED metal2 ( 0 0 ) ( 0 100 ) + USE CLOCK ;\nEND NETS\n"
        "SPECIALNETS 1 ;\n- vdd + USE POWER ;\nEND SPECIALNETS\n"
    )
    fixed, report = fix_def_for_qrouter(text, DIRECTIONS)
    assert "ROUTED" not in fixed and "+ USE CLOCK" in fixed and report.wiring_dropped == 1
    assert not report.nets_moved_first and fixed.index("NETS 1") < fixed.index("SPECIALNETS")
    assert "TRACKS Y 50 DO 10 STEP 100 LAYER metal1" in fixed
