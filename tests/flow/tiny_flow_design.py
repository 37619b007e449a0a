"""A tiny DEF/LEF design for the flow-hook tests, written from scratch.

The design is small (about 150 cells on a 10 x 10 gcell grid) so the whole flow-hook suite,
including training the checkpoint once per session, stays within a few seconds of CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

TECH_LEF = """VERSION 5.8 ;
BUSBITCHARS "[]" ;
DIVIDERCHAR "/" ;
UNITS
  DATABASE MICRONS 1000 ;
END UNITS
MANUFACTURINGGRID 0.005 ;
SITE core
  CLASS CORE ;
  SIZE 0.2 BY 2.0 ;
END core
LAYER M1
  TYPE ROUTING ;
  DIRECTION HORIZONTAL ;
  PITCH 0.2 ;
  WIDTH 0.1 ;
END M1
LAYER M2
  TYPE ROUTING ;
  DIRECTION VERTICAL ;
  PITCH 0.2 ;
  WIDTH 0.1 ;
END M2
END LIBRARY
"""


def _macro(name: str, width: float, pins: list[str]) -> str:
    body = [f"MACRO {name}", "  CLASS CORE ;", "  ORIGIN 0 0 ;", f"  SIZE {width} BY 2.0 ;", "  SITE core ;"]
    for k, pin in enumerate(pins):
        x = 0.1 + 0.3 * k
        direction = "OUTPUT" if pin == "Y" else "INPUT"
        body += [
            f"  PIN {pin}",
            f"    DIRECTION {direction} ;",
            "    PORT",
            "      LAYER M1 ;",
            f"        RECT {x:.2f} 0.8 {x + 0.1:.2f} 1.2 ;",
            "    END",
            f"  END {pin}",
        ]
    body.append(f"END {name}")
    return "\n".join(body) + "\n"


CELLS_LEF = "VERSION 5.8 ;\n" + _macro("INV", 0.8, ["A", "Y"]) + _macro("NAND2", 1.2, ["A", "B", "Y"]) + "END LIBRARY\n"

DIE_UM = 40.0
GCELL_UM = 4.0


@dataclass(frozen=True)
class TinyDesign:
    """Paths of the generated design, its instances in DEF order and its nets (for rewriting it)."""

    def_path: Path
    tech_lef: Path
    cells_lef: Path
    names: list[str]
    masters: list[str]
    x: np.ndarray  # microns
    y: np.ndarray
    nets: list[list[tuple[int, str]]]  # (instance index, pin) per net

    @property
    def lefs(self) -> list[Path]:
        return [self.tech_lef, self.cells_lef]


def write_def(
    path: Path,
    names: list[str],
    masters: list[str],
    x: np.ndarray,
    y: np.ndarray,
    nets: list[list[tuple[int, str]]],
    orients: list[str] | None = None,
) -> None:
    """A placed DEF (UNITS 1000) with a 10 x 10 GCELLGRID, tracks, components and nets."""
    dbu = 1000
    die = int(DIE_UM * dbu)
    orients = orients or ["N"] * len(names)
    lines = [
        "VERSION 5.8 ;",
        'DIVIDERCHAR "/" ;',
        'BUSBITCHARS "[]" ;',
        "DESIGN tiny ;",
        f"UNITS DISTANCE MICRONS {dbu} ;",
        f"DIEAREA ( 0 0 ) ( {die} {die} ) ;",
        "TRACKS Y 100 DO 200 STEP 200 LAYER M1 ;",
        "TRACKS X 100 DO 200 STEP 200 LAYER M2 ;",
        f"GCELLGRID X 0 DO 11 STEP {int(GCELL_UM * dbu)} ;",
        f"GCELLGRID Y 0 DO 11 STEP {int(GCELL_UM * dbu)} ;",
        f"COMPONENTS {len(names)} ;",
    ]
    for name, master, xi, yi, orient in zip(names, masters, x, y, orients):
        lines.append(f"- {name} {master} + PLACED ( {int(round(xi * dbu))} {int(round(yi * dbu))} ) {orient} ;")
    lines += ["END COMPONENTS", f"NETS {len(nets)} ;"]
    for j, net in enumerate(nets):
        pins = " ".join(f"( {names[i]} {pin} )" for i, pin in net)
        lines.append(f"- n{j} {pins} + USE SIGNAL ;")
    lines += ["END NETS", "END DESIGN", ""]
    path.write_text("\n".join(lines))


def make_tiny_design(folder: Path, *, cells: int = 150, seed: int = 0) -> TinyDesign:
    """Write tech/cell LEFs and a placed DEF: cells crowd one corner so congestion varies."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    tech, lib = folder / "tech.lef", folder / "cells.lef"
    tech.write_text(TECH_LEF)
    lib.write_text(CELLS_LEF)
    masters = ["NAND2" if i % 3 == 0 else "INV" for i in range(cells)]
    names = [f"u{i}" for i in range(cells)]
    # Half the cells in a 12 um hot corner, half spread over the die.
    hot = rng.random(cells) < 0.5
    x = np.where(hot, rng.uniform(0, 12, cells), rng.uniform(0, DIE_UM - 1.2, cells))
    y = np.where(hot, rng.uniform(0, 12, cells), rng.uniform(0, DIE_UM - 2.0, cells))
    x, y = np.round(x / 0.2) * 0.2, np.round(y / 2.0) * 2.0
    nets = []
    for i in range(cells):  # every cell drives one net to 1-3 sinks
        sinks = rng.choice(np.delete(np.arange(cells), i), size=int(rng.integers(1, 4)), replace=False)
        nets.append([(i, "Y")] + [(int(s), "A") for s in sinks])
    path = folder / "tiny.def"
    write_def(path, names, masters, x, y, nets)
    return TinyDesign(path, tech, lib, names, masters, x, y, nets)
