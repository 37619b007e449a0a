"""Fast re-reading of placement from a DEF or a positions file, for placement loops.

A placer writes the same netlist again and again with new positions. Re-reading LEF, nets and
pins each iteration is wasted work: this module reads only ``UNITS`` and the ``COMPONENTS``
section (instance, ``PLACED``/``FIXED``/``COVER`` location, orientation), which is all that
changes.

Why a text reader next to ``lefdef``: latency (``benchmarks/bench_readers.py``; figures in
``docs/perf-history.md``). ``lefdef`` reads the whole file (nets included) and, since it aborts
the process on malformed input, must first run in a guard child process
(:mod:`gsr_eda.ingest.native`). The full reader is the reference: ``tests/ingest/test_ingest_def_positions.py`` checks
that names (escapes included), locations and orientations agree with it for every kept cell
on the real asap7 and sky130 DEFs.

It is a statement reader, not a regular expression over the file: comments (``#`` to the end
of the line) are removed from the section, statements are split at ``;`` whatever their line
breaks, and the ``+ PLACED|FIXED|COVER ( x y ) orient`` option is found among the others
(``+ SOURCE``, ``+ WEIGHT``, ``+ HALO``, ...) wherever it comes.

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
from gsr_eda.ingest.def_text import PLACEMENT_STATUSES, UNITS, section_statements


@dataclass
class ComponentPlacement:
    """Placed components of one DEF, in file order; locations in microns."""

    names: np.ndarray  # str
    x: np.ndarray  # float64 microns, lower-left of the oriented box
    y: np.ndarray  # float64
    orient: np.ndarray  # str, "" when unplaced
    dbu_per_micron: float


_SECTION = re.compile(r"^\s*COMPONENTS\s+\d+\s*;", re.MULTILINE)
# Patterns that start with a literal scan fast; _first_statement_start rejects mid-line matches.
_SECTION_END = re.compile(r"END\s+COMPONENTS\b")


def _first_statement_start(pattern: re.Pattern[str], text: str, pos: int) -> re.Match[str] | None:
    """First match of ``pattern`` after ``pos`` with only blanks before it on its line (not in a comment)."""
    for match in pattern.finditer(text, pos):
        line_start = text.rfind("\n", 0, match.start()) + 1
        if not text[line_start : match.start()].strip():
            return match
    return None


def _location(tokens: list[str]) -> tuple[str, str, str] | None:
    """``(x, y, orient)`` of ``+ PLACED|FIXED|COVER ( x y ) orient`` in a statement, or ``None``.

    The status may come anywhere among the ``+`` options (``+ SOURCE TIMING``, ``+ WEIGHT 1``,
    ``+ HALO ...`` before or after it); ``+ UNPLACED`` and an absent status give ``None``.
    """
    for k in range(2, len(tokens) - 5):
        if tokens[k] in PLACEMENT_STATUSES and tokens[k - 1] == "+" and tokens[k + 1] == "(" and tokens[k + 4] == ")":
            return tokens[k + 2], tokens[k + 3], tokens[k + 5]
    return None


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
    units = UNITS.search(text)
    try:
        dbu = float(units.group(1)) if units else 0.0
    except ValueError:
        dbu = 0.0
    if not dbu > 0:
        raise InputError("no valid 'UNITS DISTANCE MICRONS' statement", path)
    start = _SECTION.search(text)
    if start is None:
        raise InputError("no COMPONENTS section", path)
    end = _first_statement_start(_SECTION_END, text, start.end())
    if end is None:
        raise InputError("COMPONENTS section has no END", path)
    names: list[str] = []
    xs: list[str] = []
    ys: list[str] = []
    orients: list[str] = []
    for tokens in section_statements(text[start.end() : end.start()]):
        location = _location(tokens)
        if location is not None:
            names.append(tokens[1])
            xs.append(location[0])
            ys.append(location[1])
            orients.append(location[2])
    try:
        # One flat list per axis: numpy converts flat lists of strings faster than a list of pairs.
        x = np.array(xs, dtype=np.float64) / dbu
        y = np.array(ys, dtype=np.float64) / dbu
    except ValueError:
        bad = next(name for name, x, y in zip(names, xs, ys) if not _is_number(x) or not _is_number(y))
        raise InputError(f"component {bad}: location is not numeric", path) from None
    return ComponentPlacement(
        names=np.asarray(names, dtype=str),
        x=x,
        y=y,
        orient=np.asarray(orients, dtype=str),
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
