"""Fast re-reading of placement from a DEF or a positions file, for placement loops.

A placer writes the same netlist again and again with new positions. Re-reading LEF, nets and
pins each iteration is wasted work: this module reads only ``UNITS`` and the ``COMPONENTS``
section (instance, ``PLACED``/``FIXED`` location, orientation), which is all that changes.

DEF places the *oriented* box at ``( x y )``: its lower-left corner, whatever the orientation.
Orientations are returned too: a flip or rotation moves pin offsets (and a 90-degree rotation
swaps width and height), which needs the LEF, so the caller falls back to a full read when an
orientation changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gsr_eda.errors import InputError



@dataclass
class ComponentPlacement:
    """Placed components of one DEF, in file order; locations in microns."""

    names: np.ndarray  # str
    x: np.ndarray  # float64 microns, lower-left of the oriented box
    y: np.ndarray  # float64
    orient: np.ndarray  # str, "" when unplaced
    dbu_per_micron: float


_UNITS = re.compile(r"\bUNITS\s+DISTANCE\s+MICRONS\s+(\S+)\s*;")
_SECTION = re.compile(r"^\s*COMPONENTS\s+\d+\s*;", re.MULTILINE)
# "- name master ... + PLACED ( x y ) orient ... ;": [^;] keeps a match inside one statement.
_PLACED = re.compile(r"-\s+(\S+)\s+\S+[^;]*?\+\s*(?:PLACED|FIXED|COVER)\s*\(\s*(\S+)\s+(\S+)\s*\)\s*(\S+)")


def read_def_placement(path: str | Path) -> ComponentPlacement:
    """Instance names, lower-left locations (microns) and orientations from a DEF's COMPONENTS.

    Unplaced components are skipped. Raises :class:`InputError` naming the file when it is
    missing, has no ``UNITS DISTANCE MICRONS`` or no complete ``COMPONENTS`` section, or a
    location is not a pair of numbers.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise InputError(f"cannot read DEF: {err.strerror}", path) from None
    units = _UNITS.search(text)
    try:
        dbu = float(units.group(1)) if units else 0.0
    except ValueError:
        dbu = 0.0
    if not dbu > 0:
        raise InputError("no valid 'UNITS DISTANCE MICRONS' statement", path)
    start = _SECTION.search(text)
    if start is None:
        raise InputError("no COMPONENTS section", path)
    end = text.find("END COMPONENTS", start.end())
    if end < 0:
        raise InputError("COMPONENTS section has no END", path)
    found = _PLACED.findall(text, start.end(), end)
    names = [f[0] for f in found]
    try:
        xy = np.array([(f[1], f[2]) for f in found], dtype=np.float64).reshape(-1, 2) / dbu
    except ValueError:
        bad = next(f[0] for f in found if not _is_number(f[1]) or not _is_number(f[2]))
        raise InputError(f"component {bad}: location is not numeric", path) from None
    return ComponentPlacement(
        names=np.asarray(names, dtype=str),
        x=xy[:, 0].copy(),
        y=xy[:, 1].copy(),
        orient=np.asarray([f[3] for f in found], dtype=str),
        dbu_per_micron=dbu,
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_positions_file(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(names, x, y)`` from a text file of ``instance x y`` lines in microns.

    Blank lines and lines starting with ``#`` are ignored; fields are separated by whitespace
    or commas. Any other line is an :class:`InputError` naming the file and line number.
    """
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read positions file: {err}", path) from None
    names: list[str] = []
    xs: list[float] = []
    ys: list[float] = []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        parts = stripped.replace(",", " ").split()
        if len(parts) != 3:
            raise InputError(f"line {number}: expected 'instance x y', got {len(parts)} fields", path)
        try:
            x, y = float(parts[1]), float(parts[2])
        except ValueError:
            raise InputError(f"line {number}: x and y must be numbers (microns)", path) from None
        if not (np.isfinite(x) and np.isfinite(y)):
            raise InputError(f"line {number}: non-finite position", path)
        names.append(parts[0])
        xs.append(x)
        ys.append(y)
    if not names:
        raise InputError("no positions found", path)
    return np.asarray(names, dtype=str), np.asarray(xs), np.asarray(ys)
