"""Rewrite a placed DEF into the subset of DEF that qrouter 1.4 reads and writes correctly.

Each fix-up answers a failure seen with OpenROAD DEF 5.8 (issue #17):

* ``+ SHAPE`` in ``SPECIALNETS`` makes qrouter's reader crash: the ``+ SHAPE name`` pairs are
  dropped (they only tag power wiring as rings or stripes).
* qrouter keeps only the last ``TRACKS`` line of a layer: only the lines of the layer's
  preferred direction (``TRACKS Y`` on horizontal layers, ``X`` on vertical) are kept, so that
  the one it keeps is the one it routes on.
* qrouter's DEF writer works line by line and puts a net's wiring after the line that ends its
  connections: a net written on one line gets no wiring. Each ``NETS`` statement is rewritten
  with one connection or property per line (wiring already in the input is dropped: qrouter
  routes every net again).
* When ``SPECIALNETS`` comes before ``NETS``, qrouter writes a second, unterminated
  ``SPECIALNETS`` section: the ``NETS`` section is moved in front of it.

Comments are removed from the rewritten sections; everything else is copied as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gsr_eda.ingest.def_text import section_statements, strip_comments

_TRACKS = re.compile(r"^[ \t]*TRACKS\s+([XY])\s+[^;]*?\bLAYER\s+(\S+)[^;]*;[ \t]*\n?", re.MULTILINE)
_NETS = re.compile(r"^[ \t]*NETS\s+\d+\s*;.*?^[ \t]*END\s+NETS\b[^\n]*\n?", re.MULTILINE | re.DOTALL)
_SPECIALNETS = re.compile(
    r"^[ \t]*SPECIALNETS\s+\d+\s*;.*?^[ \t]*END\s+SPECIALNETS\b[^\n]*\n?", re.MULTILINE | re.DOTALL
)
_WIRING = frozenset({"ROUTED", "FIXED", "COVER", "NOSHIELD"})


@dataclass
class FixupReport:
    """What :func:`fix_def_for_qrouter` changed, counted for the user."""

    shapes_dropped: int = 0
    tracks_dropped: list[str] = field(default_factory=list)  # "LAYER AXIS" of each line removed
    nets_rewritten: int = 0
    wiring_dropped: int = 0  # nets whose input wiring was removed
    nets_moved_first: bool = False


def _drop_shapes(section: str, report: FixupReport) -> str:
    """The SPECIALNETS section without ``+ SHAPE name`` pairs."""
    pattern = re.compile(r"\+\s*SHAPE\s+\S+")
    report.shapes_dropped += len(pattern.findall(section))
    return pattern.sub("", section)


def _keep_preferred_tracks(text: str, directions: dict[str, str], report: FixupReport) -> str:
    """Drop the TRACKS lines across a layer's preferred direction (layers without a direction keep all)."""
    preferred_axis = {layer: ("Y" if d == "HORIZONTAL" else "X") for layer, d in directions.items()}

    def keep(match: re.Match[str]) -> str:
        axis, layer = match.group(1), match.group(2)
        if layer in preferred_axis and preferred_axis[layer] != axis:
            report.tracks_dropped.append(f"{layer} {axis}")
            return ""
        return match.group(0)

    return _TRACKS.sub(keep, text)


def _net_lines(tokens: list[str], report: FixupReport) -> list[str]:
    """One NETS statement as lines: the name, each connection, each non-wiring property, then ``;``."""
    lines = [f"- {tokens[1]}"]
    i = 2
    had_wiring = False
    while i < len(tokens):
        if tokens[i] == "(":
            close = tokens.index(")", i)
            lines.append("  " + " ".join(tokens[i : close + 1]))
            i = close + 1
        elif tokens[i] == "+":
            end = i + 1
            while end < len(tokens) and tokens[end] != "+":
                end += 1
            if i + 1 < len(tokens) and tokens[i + 1] in _WIRING:
                had_wiring = True
            else:
                lines.append("  " + " ".join(tokens[i:end]))
            i = end
        else:
            lines.append("  " + tokens[i])
            i += 1
    report.wiring_dropped += had_wiring
    return lines + [";"]


def _rewrite_nets(section: str, report: FixupReport) -> str:
    """The NETS section with one connection or property per line."""
    header = re.match(r"[ \t]*NETS\s+\d+\s*;", section)
    body_start = header.end() if header else 0
    body_end = re.search(r"^[ \t]*END\s+NETS\b", section, re.MULTILINE).start()
    statements = section_statements(strip_comments(section[body_start:body_end]))
    report.nets_rewritten = len(statements)
    lines = [f"NETS {len(statements)} ;"]
    for tokens in statements:
        lines += _net_lines(tokens, report)
    return "\n".join(lines) + "\nEND NETS\n"


def fix_def_for_qrouter(text: str, directions: dict[str, str]) -> tuple[str, FixupReport]:
    """``text`` (a placed DEF) rewritten for qrouter, and what changed (see the module docstring).

    ``directions`` maps routing layer names to ``"HORIZONTAL"`` or ``"VERTICAL"`` (from the LEF).
    """
    report = FixupReport()
    text = _keep_preferred_tracks(text, directions, report)
    nets = _NETS.search(text)
    if nets is None:
        return text, report
    new_nets = _rewrite_nets(nets.group(0), report)
    text = text[: nets.start()] + new_nets + text[nets.end() :]
    special = _SPECIALNETS.search(text)
    if special is None:
        return text, report
    new_special = _drop_shapes(special.group(0), report)
    nets = _NETS.search(text)
    if special.start() < nets.start():
        report.nets_moved_first = True
        # SPECIALNETS goes right after END NETS; NETS takes its old place.
        text = (
            text[: special.start()] + new_nets + text[special.end() : nets.start()] + new_special + text[nets.end() :]
        )
    else:
        text = text[: special.start()] + new_special + text[special.end() :]
    return text, report
