"""The targeted DEF scans skip comments, which may hold a ';' or look like statements."""

from __future__ import annotations

from gsr_eda.ingest.def_text import scan_net_uses, scan_placed_io_pins, section_statements

DEF_WITH_COMMENTS = """\
PINS 2 ;
- clk + NET clk + DIRECTION INPUT # moved; was + PLACED ( 0 0 ) N
  + USE CLOCK ;
- rst + NET rst + PLACED ( 10 20 ) N ; # - fake + PLACED ( 1 1 ) N ;
END PINS
NETS 2 ;
- n1 ( u1 A ) ( u2 Y ) # + USE POWER ; no
  + USE SIGNAL ;
- clk ( PIN clk ) ( u1 CK ) + USE CLOCK ;
END NETS
"""


def test_scans_ignore_comments() -> None:
    assert scan_placed_io_pins(DEF_WITH_COMMENTS) == {"rst"}
    assert scan_net_uses(DEF_WITH_COMMENTS) == {"n1": "SIGNAL", "clk": "CLOCK"}


def test_a_hash_inside_a_token_is_not_a_comment() -> None:
    assert section_statements("- a#1 + PLACED ( 1 2 ) N ;") == [["-", "a#1", "+", "PLACED", "(", "1", "2", ")", "N"]]
