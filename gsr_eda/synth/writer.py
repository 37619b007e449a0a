"""Write a :class:`SyntheticDesign` as LEF + DEF text that the project's own readers parse back.

The DEF follows what OpenROAD writes for a placed design: UNITS, DIEAREA, ROWs, TRACKS for every
routing layer on both axes, GCELLGRID (``DO`` = number of gcells, 15 M2 pitches each),
COMPONENTS, PINS, SPECIALNETS (power, skipped by readers) and NETS with ``+ USE``. Files are
written to a temporary name and renamed, so an interrupted run leaves no half-written file.
"""

from __future__ import annotations

from pathlib import Path

from gsr_eda.atomic import write_text_atomically
from gsr_eda.synth.generator import SyntheticDesign
from gsr_eda.synth.library import DBU_PER_MICRON, ROUTING_LAYERS, SITE_NAME, SITE_WIDTH, lef_text

GCELL_TRACKS = 15


def _dbu(value: float) -> int:
    return int(round(value * DBU_PER_MICRON))


def def_text(design: SyntheticDesign) -> str:
    """The DEF text of a synthetic design."""
    x0, y0, x1, y1 = design.die
    out = [
        "VERSION 5.8 ;",
        'DIVIDERCHAR "/" ;',
        'BUSBITCHARS "[]" ;',
        f"DESIGN {design.name} ;",
        f"UNITS DISTANCE MICRONS {DBU_PER_MICRON} ;",
        f"DIEAREA ( {_dbu(x0)} {_dbu(y0)} ) ( {_dbu(x1)} {_dbu(y1)} ) ;",
    ]
    for k, (y, x, sites, orient) in enumerate(design.rows):
        out.append(f"ROW ROW_{k} {SITE_NAME} {_dbu(x)} {_dbu(y)} {orient} DO {sites} BY 1 STEP {_dbu(SITE_WIDTH)} 0 ;")
    for name, _direction, pitch in ROUTING_LAYERS:
        step = _dbu(pitch)
        out.append(f"TRACKS X {step // 2} DO {(_dbu(x1) - step // 2) // step + 1} STEP {step} LAYER {name} ;")
        out.append(f"TRACKS Y {step // 2} DO {(_dbu(y1) - step // 2) // step + 1} STEP {step} LAYER {name} ;")
    gcell = GCELL_TRACKS * _dbu(ROUTING_LAYERS[1][2])
    out.append(f"GCELLGRID X 0 DO {max(1, _dbu(x1) // gcell)} STEP {gcell} ;")
    out.append(f"GCELLGRID Y 0 DO {max(1, _dbu(y1) // gcell)} STEP {gcell} ;")

    out.append(f"COMPONENTS {len(design.inst_names)} ;")
    for name, kind, x, y, orient, fixed in zip(
        design.inst_names, design.inst_type, design.inst_x, design.inst_y, design.inst_orient, design.inst_fixed
    ):
        status = "FIXED" if fixed else "PLACED"
        out.append(f"    - {name} {design.cell_types[kind].name} + {status} ( {_dbu(x)} {_dbu(y)} ) {orient} ;")
    out.append("END COMPONENTS")

    out.append(f"PINS {len(design.io_names)} ;")
    for name, (px, py), is_input in zip(design.io_names, design.io_xy, design.io_is_input):
        direction = "INPUT" if is_input else "OUTPUT"
        use = "CLOCK" if name == "clk" else "SIGNAL"
        out.append(
            f"    - {name} + NET {name} + DIRECTION {direction} + USE {use}\n"
            f"      + LAYER M3 ( -50 -50 ) ( 50 50 ) + FIXED ( {_dbu(px)} {_dbu(py)} ) N ;"
        )
    out.append("END PINS")

    out += [
        "SPECIALNETS 2 ;",
        "    - VDD ( * VDD ) + USE POWER ;",
        "    - VSS ( * VSS ) + USE GROUND ;",
        "END SPECIALNETS",
        f"NETS {len(design.nets)} ;",
    ]
    for net in design.nets:
        terms = []
        for inst, pin in net.pins:
            owner = "PIN" if inst < 0 else design.inst_names[inst]
            terms.append(f"( {owner} {pin} )")
        # Wrap long connection lists the way OpenROAD does: eight terms per line.
        lines = [" ".join(terms[k : k + 8]) for k in range(0, len(terms), 8)]
        out.append(f"    - {net.name} " + "\n      ".join(lines) + f" + USE {net.use} ;")
    out.append("END NETS")
    out.append("END DESIGN")
    return "\n".join(out) + "\n"


def write_design(design: SyntheticDesign, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``out_dir/<name>.lef`` and ``out_dir/<name>.def``; returns their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lef_path = out_dir / f"{design.name}.lef"
    def_path = out_dir / f"{design.name}.def"
    write_text_atomically(lef_path, lef_text(design.cell_types))
    write_text_atomically(def_path, def_text(design))
    return lef_path, def_path
