"""Targeted scans of the few DEF statements that ``lefdef`` 0.6 does not expose.

``lefdef``'s ``C_Def`` structure has no ``UNITS DISTANCE MICRONS``, no ``DESIGN`` name, no
net ``+ USE``, and no placement status for IO pins given with ``+ PORT`` (their shapes come
back with or without a ``+ PLACED``). Everything else comes from the library; these scans read
only those statements.
DEF statements end with ``;`` and may span lines, so the scans work on ``;``-terminated text,
after removing comments (``#`` to the end of the line), which may hold a ``;`` of their own.
"""

from __future__ import annotations

import re
from pathlib import Path

from gsr_eda.errors import InputError

UNITS = re.compile(r"^\s*UNITS\s+DISTANCE\s+MICRONS\s+(\S+)\s*;", re.MULTILINE)
_DESIGN = re.compile(r"^\s*DESIGN\s+(\S+)\s*;", re.MULTILINE)
_NETS_START = re.compile(r"^\s*NETS\s+\d+\s*;", re.MULTILINE)
_NETS_END = re.compile(r"^\s*END\s+NETS\b", re.MULTILINE)
_PINS_START = re.compile(r"^\s*PINS\s+\d+\s*;", re.MULTILINE)
_PINS_END = re.compile(r"^\s*END\s+PINS\b", re.MULTILINE)
#: The ``+`` statuses that give a component or pin a location.
PLACEMENT_STATUSES = frozenset({"PLACED", "FIXED", "COVER"})
_HASH_TO_EOL = re.compile(r"#[^\n]*")


def scan_units_and_name(text: str, path: Path) -> tuple[float, str | None]:
    """``(dbu_per_micron, design name or None)`` from the DEF header."""
    units = UNITS.search(text)
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


def strip_comments(text: str) -> str:
    """Drop DEF comments: from a ``#`` that starts a token to the end of its line."""

    def strip(match: re.Match[str]) -> str:
        start = match.start()
        return "" if start == 0 or text[start - 1].isspace() else match.group(0)

    return _HASH_TO_EOL.sub(strip, text) if "#" in text else text


def section_statements(body: str) -> list[list[str]]:
    """The tokens of each ``- name ... ;`` statement in the body of a DEF section, comments
    removed; statements end at ``;`` whatever their line breaks."""
    statements = (statement.split() for statement in strip_comments(body).split(";"))
    return [tokens for tokens in statements if len(tokens) >= 2 and tokens[0] == "-"]


def _section_statements(text: str, start: re.Pattern[str], end: re.Pattern[str]) -> list[list[str]]:
    """:func:`section_statements` of one DEF section (empty when it is absent)."""
    begin = start.search(text)
    if begin is None:
        return []
    finish = end.search(text, begin.end())
    return section_statements(text[begin.end() : finish.start() if finish else len(text)])


def scan_placed_io_pins(text: str) -> set[str]:
    """Names of the ``PINS`` that have a location: ``+ PLACED|FIXED|COVER`` on the pin or a port.

    A pin without one (pin placement not run yet) has no position; ``lefdef`` reports it at
    ``(0, 0)`` like a pin really placed there, hence this scan.
    """
    placed = set()
    for tokens in _section_statements(text, _PINS_START, _PINS_END):
        if any(tokens[k] in PLACEMENT_STATUSES and tokens[k - 1] == "+" for k in range(2, len(tokens))):
            placed.add(tokens[1])
    return placed


def net_statements(text: str) -> list[list[str]]:
    """The tokens of every statement of the regular ``NETS`` section (``SPECIALNETS`` excluded)."""
    return _section_statements(text, _NETS_START, _NETS_END)


def scan_net_uses(text: str) -> dict[str, str]:
    """``{net name: USE value}`` for the regular ``NETS`` section (``SPECIALNETS`` excluded).

    Nets without ``+ USE`` are absent from the result (the DEF default is ``SIGNAL``).
    """
    uses: dict[str, str] = {}
    for tokens in net_statements(text):
        for k in range(2, len(tokens) - 1):
            if tokens[k] == "USE" and tokens[k - 1] == "+":
                uses[tokens[1]] = tokens[k + 1]
                break
    return uses
