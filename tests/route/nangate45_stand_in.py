"""A stand-in Nangate45 LEF for ``grt_reports/gcd.def``, whose real LEF is not shipped.

Ten routing layers with Nangate45's pitches (metal1 horizontal, 0.14 um; they match the DEF's
TRACKS), cut layers and one via per layer pair, so qrouter can route; every master the DEF uses,
with the pins its nets name spread along the cell on metal1. Cell sizes and pin places are made
up: the placement, the nets and OpenROAD's guides are real.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

SITE = "FreePDK45_38x28_10R_NP_162NW_34O"
PITCHES = [0.14, 0.19, 0.14, 0.28, 0.28, 0.28, 0.8, 0.8, 1.6, 1.6]


def _width(layer: int) -> float:
    return 0.07 if layer < 4 else 0.14 if layer < 7 else 0.4 if layer < 9 else 0.8


def _masters_and_pins(def_path: Path) -> dict[str, list[str]]:
    text = def_path.read_text()
    components = text[text.index("\nCOMPONENTS") : text.index("END COMPONENTS")]
    master = dict(re.findall(r"^- (\S+) (\S+)", components, re.M))
    nets = text[text.index("\nNETS") : text.index("END NETS")]
    pins: dict[str, set[str]] = defaultdict(set)
    for inst, pin in re.findall(r"\( (\S+) (\S+) \)", nets):
        if inst != "PIN":
            pins[master[inst]].add(pin)
    return {name: sorted(pins[name]) for name in sorted(set(master.values()))}


def write_nangate45_stand_in(def_path: Path, out: Path) -> Path:
    """Write the stand-in LEF for ``def_path`` to ``out`` and return ``out``."""
    lines = ["VERSION 5.8 ;", "UNITS", "  DATABASE MICRONS 2000 ;", "END UNITS"]
    for i, pitch in enumerate(PITCHES, 1):
        if i > 1:
            lines += [f"LAYER via{i - 1}", "  TYPE CUT ;", f"END via{i - 1}"]
        direction = "HORIZONTAL" if i % 2 else "VERTICAL"
        lines += [f"LAYER metal{i}", "  TYPE ROUTING ;", f"  DIRECTION {direction} ;", f"  PITCH {pitch} ;",
                  f"  WIDTH {_width(i)} ;", f"  SPACING {_width(i)} ;", f"END metal{i}"]  # fmt: skip
    for i in range(1, len(PITCHES)):
        h = _width(i) / 2
        rect = f"    RECT {-h} {-h} {h} {h} ;"
        lines += [f"VIA M{i + 1}_M{i} DEFAULT", f"  LAYER metal{i} ;", rect, f"  LAYER via{i} ;", rect,
                  f"  LAYER metal{i + 1} ;", rect, f"END M{i + 1}_M{i}"]  # fmt: skip
    lines += [f"SITE {SITE}", "  CLASS CORE ;", "  SIZE 0.19 BY 1.4 ;", f"END {SITE}"]
    for name, pins in _masters_and_pins(def_path).items():
        lines += [f"MACRO {name}", "  CLASS CORE ;", "  ORIGIN 0 0 ;", f"  SIZE {0.38 * (1 + len(pins)):.2f} BY 1.4 ;"]
        for k, pin in enumerate(pins):
            x = 0.38 * (k + 1)
            lines += [f"  PIN {pin}", "    DIRECTION INOUT ;", "    PORT", "      LAYER metal1 ;",
                      f"        RECT {x - 0.035:.3f} 0.42 {x + 0.035:.3f} 0.98 ;", "    END", f"  END {pin}"]  # fmt: skip
        lines.append(f"END {name}")
    out.write_text("\n".join(lines + ["END LIBRARY", ""]))
    return out
