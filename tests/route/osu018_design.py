"""A small placed design on the OSU 0.18 um cells of the Debian package qflow-tech-osu018.

It is written the way OpenROAD writes DEF 5.8, with every quirk qrouter 1.4 trips on: both
TRACKS directions per layer, SPECIALNETS (with ``+ SHAPE``) before NETS, and each net on
one line. Cells sit in rows of 10 um; net ``k`` joins neighbouring cells, so every net is
routable.
"""

from __future__ import annotations

from pathlib import Path

OSU018_LEF = Path("/usr/share/qflow/tech/osu018/osu018_stdcells.lef")
DBU = 100
_CELLS = [("INVX1", 160, ("A",), "Y"), ("NAND2X1", 240, ("A", "B"), "Y"), ("NOR2X1", 240, ("A", "B"), "Y")]
_PITCHES = {
    "metal1": (100, "Y"),
    "metal2": (80, "X"),
    "metal3": (100, "Y"),
    "metal4": (80, "X"),
    "metal5": (100, "Y"),
    "metal6": (160, "X"),
}


def osu018_def(rows: int = 3, per_row: int = 8, gap: int = 160) -> str:
    """The DEF text of ``rows x per_row`` cells with ``gap`` DBU between neighbours."""
    width = per_row * (240 + gap) + 2 * gap
    height = rows * 1000 + 400
    comps, placed = [], []
    for r in range(rows):
        x = gap
        for c in range(per_row):
            master, w, inputs, output = _CELLS[(r * per_row + c) % len(_CELLS)]
            name = f"u{r}_{c}"
            orient = "N" if r % 2 == 0 else "FS"
            comps.append(f"- {name} {master} + PLACED ( {x} {200 + r * 1000} ) {orient} ;")
            placed.append((name, inputs, output))
            x += w + gap
    nets = []
    for k in range(len(placed) - 1):
        driver, sink = placed[k], placed[k + 1]
        pins = [f"( {driver[0]} {driver[2]} )"] + [f"( {sink[0]} {pin} )" for pin in sink[1]]
        nets.append(f"- n{k} {' '.join(pins)} + USE SIGNAL ;")
    tracks = []
    for layer, (pitch, _) in _PITCHES.items():
        tracks.append(f"TRACKS X {pitch // 2} DO {width // pitch} STEP {pitch} LAYER {layer} ;")
        tracks.append(f"TRACKS Y {pitch // 2} DO {height // pitch} STEP {pitch} LAYER {layer} ;")
    lines = [
        "VERSION 5.8 ;",
        'DIVIDERCHAR "/" ;',
        'BUSBITCHARS "[]" ;',
        "DESIGN osu_tiny ;",
        f"UNITS DISTANCE MICRONS {DBU} ;",
        f"DIEAREA ( 0 0 ) ( {width} {height} ) ;",
        *tracks,
        f"COMPONENTS {len(comps)} ;",
        *comps,
        "END COMPONENTS",
        "PINS 0 ;",
        "END PINS",
        "SPECIALNETS 2 ;",
        f"- vdd + ROUTED metal1 60 + SHAPE STRIPE ( 0 {height - 200} ) ( {width} * ) + USE POWER ;",
        "- gnd + ROUTED metal1 60 + SHAPE STRIPE ( 0 200 ) ( {width} * ) + USE GROUND ;".replace("{width}", str(width)),
        "END SPECIALNETS",
        f"NETS {len(nets)} ;",
        *nets,
        "END NETS",
        "END DESIGN",
    ]
    return "\n".join(lines) + "\n"


def write_osu018_design(directory: Path, **options: int) -> Path:
    """Write ``osu_tiny.def`` into ``directory`` and return its path."""
    path = directory / "osu_tiny.def"
    path.write_text(osu018_def(**options))
    return path
