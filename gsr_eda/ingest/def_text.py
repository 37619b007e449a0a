"""Targeted scans of the few DEF statements that ``lefdef`` 0.6 does not expose.

``lefdef``'s ``C_Def`` structure has no ``UNITS DISTANCE MICRONS``, no ``DESIGN`` name and no
net ``+ USE``. Everything else comes from the library; these scans read only those statements.
DEF statements end with ``;`` and may span lines, so the scans work on ``;``-terminated text.
"""

from __future__ import annotations

import re
from pathlib import Path

from gsr_eda.errors import InputError

_UNITS = re.compile(r"^\s*UNITS\s+DISTANCE\s+MICRONS\s+(\S+)\s*;", re.MULTILINE)
_DESIGN = re.compile(r"^\s*DESIGN\s+(\S+)\s*;", re.MULTILINE)
_NETS_START = re.compile(r"^\s*NETS\s+\d+\s*;", re.MULTILINE)
_NETS_END = re.compile(r"^\s*END\s+NETS\b", re.MULTILINE)


def scan_units_and_name(text: str, path: Path) -> tuple[float, str | None]:
    """``(dbu_per_micron, design name or None)`` from the DEF header."""
    units = _UNITS.search(text)
    if units is None:
        raise InputError("DEF has no UNITS DISTANCE MICRONS statement", path)
    try:
        dbu = float(units.group(1))
    except ValueError:
        raise InputError(f"UNITS DISTANCE MICRONS is not a number: {units.group(1)!r}", path) from None
    if not dbu > 0:
        raise InputError(f"UNITS DISTANCE MICRONS must be positive, got {units.group(1)}", path)
    design = _DESIGN.search(text)
    return dbu, design.group(1) if design else None


def scan_net_uses(text: str) -> dict[str, str]:
    """``{net name: USE value}`` for the regular ``NETS`` section (``SPECIALNETS`` excluded).

    Nets without ``+ USE`` are absent from the result (the DEF default is ``SIGNAL``).
    """
    start = _NETS_START.search(text)
    if start is None:
        return {}
    end = _NETS_END.search(text, start.end())
    body = text[start.end() : end.start() if end else len(text)]
    uses: dict[str, str] = {}
    for statement in body.split(";"):
        tokens = statement.split()
        if len(tokens) < 2 or tokens[0] != "-":
            continue
        for k in range(2, len(tokens) - 1):
            if tokens[k] == "USE" and tokens[k - 1] == "+":
                uses[tokens[1]] = tokens[k + 1]
                break
    return uses
