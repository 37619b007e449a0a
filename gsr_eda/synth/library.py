"""The synthetic technology and cell library, and its LEF text.

One technology for every synthetic design: 1000 DBU per micron, a 0.2 x 2.0 um site, five
routing layers alternating horizontal/vertical (M1 horizontal), pitches 0.2-0.4 um. Standard
cells are a few sites wide with pins on M1; macros (``CLASS BLOCK``) are sized per design and
have their pins on M2/M3 along their edges.
"""

from __future__ import annotations

from dataclasses import dataclass

DBU_PER_MICRON = 1000
SITE_NAME = "coresite"
SITE_WIDTH = 0.2
ROW_HEIGHT = 2.0
# (name, direction, pitch um)
ROUTING_LAYERS = (
    ("M1", "HORIZONTAL", 0.2),
    ("M2", "VERTICAL", 0.2),
    ("M3", "HORIZONTAL", 0.2),
    ("M4", "VERTICAL", 0.4),
    ("M5", "HORIZONTAL", 0.4),
)


@dataclass(frozen=True)
class CellType:
    """A library cell: width in sites, input pins, output pins, LEF class."""

    name: str
    sites: int
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    macro_class: str = "CORE"
    height_rows: int = 1

    @property
    def width(self) -> float:
        return self.sites * SITE_WIDTH

    @property
    def height(self) -> float:
        return self.height_rows * ROW_HEIGHT

    @property
    def pins(self) -> tuple[str, ...]:
        return self.inputs + self.outputs


# Standard cells and how often each appears in a synthetic netlist.
STANDARD_CELLS = (
    (CellType("INV_X1", 2, ("A",), ("Y",)), 0.12),
    (CellType("BUF_X2", 3, ("A",), ("Y",)), 0.05),
    (CellType("NAND2_X1", 3, ("A", "B"), ("Y",)), 0.15),
    (CellType("NOR2_X1", 3, ("A", "B"), ("Y",)), 0.10),
    (CellType("NAND3_X1", 4, ("A", "B", "C"), ("Y",)), 0.08),
    (CellType("AOI21_X1", 4, ("A1", "A2", "B"), ("Y",)), 0.12),
    (CellType("OAI22_X1", 5, ("A1", "A2", "B1", "B2"), ("Y",)), 0.10),
    (CellType("MUX2_X1", 6, ("A", "B", "S"), ("Y",)), 0.08),
    (CellType("DFF_X1", 10, ("D", "CK"), ("Q",)), 0.20),
)
HIGH_FANOUT_BUFFER = CellType("BUF_X8", 6, ("A",), ("Y",))
TAP_CELL = CellType("TAPCELL", 1, (), (), "CORE WELLTAP")
CLOCK_PIN = "CK"


def macro_type(index: int, width_sites: int, height_rows: int, pins_per_side: int) -> CellType:
    """A hard macro: ``pins_per_side`` inputs on its left edge and as many outputs on its right."""
    inputs = tuple(f"DI[{k}]" for k in range(pins_per_side))
    outputs = tuple(f"DO[{k}]" for k in range(pins_per_side))
    return CellType(f"SYNRAM{index}", width_sites, inputs, outputs, "BLOCK", height_rows)


def pin_centre(cell: CellType, pin: str) -> tuple[float, float]:
    """Where a pin sits in the cell's north frame (the centre of its LEF rectangle)."""
    width, height = cell.width, cell.height
    if cell.macro_class == "BLOCK":
        side = cell.inputs if pin in cell.inputs else cell.outputs
        k = side.index(pin)
        y = height * (k + 1) / (len(side) + 1)
        return (0.1 if pin in cell.inputs else width - 0.1), y
    k = cell.pins.index(pin)
    return width * (k + 0.5) / len(cell.pins), 0.5 * height


def _rect(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"RECT {x0:.3f} {y0:.3f} {x1:.3f} {y1:.3f} ;"


def lef_text(cells: list[CellType]) -> str:
    """A LEF 5.8 file with the technology and every cell in ``cells``."""
    out = [
        "VERSION 5.8 ;",
        'BUSBITCHARS "[]" ;',
        'DIVIDERCHAR "/" ;',
        "UNITS",
        f"  DATABASE MICRONS {DBU_PER_MICRON} ;",
        "END UNITS",
        "MANUFACTURINGGRID 0.005 ;",
        f"SITE {SITE_NAME}",
        "  CLASS CORE ;",
        "  SYMMETRY Y ;",
        f"  SIZE {SITE_WIDTH:.3f} BY {ROW_HEIGHT:.3f} ;",
        f"END {SITE_NAME}",
    ]
    for k, (name, direction, pitch) in enumerate(ROUTING_LAYERS):
        out += [
            f"LAYER {name}",
            "  TYPE ROUTING ;",
            f"  DIRECTION {direction} ;",
            f"  PITCH {pitch:.3f} ;",
            f"  OFFSET {pitch / 2:.3f} ;",
            f"  WIDTH {pitch / 2:.3f} ;",
            f"  SPACING {pitch / 2:.3f} ;",
            f"END {name}",
        ]
        if k + 1 < len(ROUTING_LAYERS):
            out += [f"LAYER V{k + 1}", "  TYPE CUT ;", f"END V{k + 1}"]
    for cell in cells:
        width, height = cell.width, cell.height
        out += [
            f"MACRO {cell.name}",
            f"  CLASS {cell.macro_class} ;",
            "  ORIGIN 0 0 ;",
            f"  SIZE {width:.3f} BY {height:.3f} ;",
            "  SYMMETRY X Y ;" if cell.macro_class != "BLOCK" else "  SYMMETRY X Y R90 ;",
        ]
        if cell.macro_class != "BLOCK":
            out.append(f"  SITE {SITE_NAME} ;")
        for pin in cell.pins:
            cx, cy = pin_centre(cell, pin)
            layer = "M1" if cell.macro_class != "BLOCK" else ("M2" if pin in cell.inputs else "M3")
            half = 0.05
            out += [
                f"  PIN {pin}",
                f"    DIRECTION {'INPUT' if pin in cell.inputs else 'OUTPUT'} ;",
                f"    USE {'CLOCK' if pin == CLOCK_PIN else 'SIGNAL'} ;",
                "    PORT",
                f"      LAYER {layer} ;",
                f"        {_rect(cx - half, cy - half, cx + half, cy + half)}",
                "    END",
                f"  END {pin}",
            ]
        for pin, y0, y1 in (("VDD", height - 0.1, height + 0.1), ("VSS", -0.1, 0.1)):
            out += [
                f"  PIN {pin}",
                "    DIRECTION INOUT ;",
                f"    USE {'POWER' if pin == 'VDD' else 'GROUND'} ;",
                "    PORT",
                "      LAYER M1 ;",
                f"        {_rect(0.0, y0, width, y1)}",
                "    END",
                f"  END {pin}",
            ]
        out.append(f"END {cell.name}")
    out.append("END LIBRARY")
    return "\n".join(out) + "\n"
