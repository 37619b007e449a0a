"""Read the detailed-routing wiring of a DEF's ``NETS`` section: wire segments and vias, in microns.

``lefdef`` 0.6 does not expose ``+ ROUTED`` wiring, so this is a small statement scanner. The
grammar it reads (DEF 5.8 regular wiring, as qrouter and OpenROAD write it)::

    - net ( comp pin ) ... + ROUTED layer pt pt ... [via] NEW layer pt ... [via] ... ;
    pt := ( x y [ext] )     with * repeating the previous point's coordinate

``+ FIXED``, ``+ COVER`` and ``+ NOSHIELD`` wiring read like ``+ ROUTED``. Inside a run,
``TAPER``, ``TAPERRULE r``, ``STYLE n``, ``MASK n``, ``RECT ( ... )`` patches and via
orientations are skipped; ``VIRTUAL ( x y )`` moves the pen without wire. A via name after a
point is a via at that point. Consecutive points on one layer are a wire segment; a segment
must be horizontal or vertical (a 45-degree segment is refused). A run that continues with
points after a via would switch layers without naming the new one; DEF writers start a
``NEW`` run instead, and such a run is refused rather than guessed. A connection ``( comp pin )``
may also come inside the wiring (qrouter writes ``( PIN name )`` there).

``SPECIALNETS`` are not read: power straps are not signal routing demand, and qrouter writes
only short pin stubs there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gsr_eda.errors import InputError
from gsr_eda.ingest.compressed import read_text
from gsr_eda.ingest.def_text import net_statements, scan_units_and_name

_WIRING = frozenset({"ROUTED", "FIXED", "COVER", "NOSHIELD"})
_SKIP_ONE = frozenset({"TAPERRULE", "STYLE", "MASK"})
_ORIENTATIONS = frozenset({"N", "S", "E", "W", "FN", "FS", "FE", "FW"})


@dataclass
class RoutedWiring:
    """Wire segments and vias of a routed DEF, in microns.

    Segment ``s`` runs from ``(x0[s], y0[s])`` to ``(x1[s], y1[s])`` on ``layers[layer[s]]``
    with ``x0 <= x1`` and ``y0 <= y1``, and is either horizontal (``y0 == y1``) or vertical.
    Via ``v`` is ``via_names[via[v]]`` at ``(via_x[v], via_y[v])``. ``nets`` counts the nets
    with at least two connections (the ones that need wiring); ``unrouted`` names those
    without any wire or via.
    """

    dbu_per_micron: float
    layers: list[str]
    layer: np.ndarray  # int32 (S,)
    x0: np.ndarray  # float64 (S,)
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    via_names: list[str]
    via: np.ndarray  # int32 (V,)
    via_x: np.ndarray  # float64 (V,)
    via_y: np.ndarray
    nets: int
    unrouted: list[str]

    @property
    def horizontal(self) -> np.ndarray:
        """Mask of the horizontal segments (running along x)."""
        return (self.y0 == self.y1) & (self.x1 > self.x0)

    @property
    def vertical(self) -> np.ndarray:
        """Mask of the vertical segments (running along y)."""
        return (self.x0 == self.x1) & (self.y1 > self.y0)


class _Collector:
    """Accumulates segments and vias (DBU) while the statements are scanned."""

    def __init__(self) -> None:
        self.layer_index: dict[str, int] = {}
        self.via_index: dict[str, int] = {}
        self.segments: list[tuple[int, float, float, float, float]] = []
        self.vias: list[tuple[int, float, float]] = []

    def segment(self, layer: str, a: tuple[float, float], b: tuple[float, float]) -> None:
        code = self.layer_index.setdefault(layer, len(self.layer_index))
        self.segments.append((code, min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1])))

    def place_via(self, name: str, at: tuple[float, float]) -> None:
        self.vias.append((self.via_index.setdefault(name, len(self.via_index)), at[0], at[1]))


def _number(token: str, net: str, path: Path) -> float:
    try:
        return float(token)
    except ValueError:
        raise InputError(f"net {net}: expected a coordinate in the wiring, got {token!r}", path) from None


def _closing(tokens: list[str], start: int, net: str, path: Path) -> int:
    """Index of the ``)`` closing the group opened at ``tokens[start]``."""
    try:
        return tokens.index(")", start + 1)
    except ValueError:
        raise InputError(f"net {net}: unclosed '(' in the wiring", path) from None


def _point(tokens: list[str], start: int, last: tuple[float, float] | None, net: str, path: Path):
    """The point ``( x y [ext] )`` at ``tokens[start]`` and the index after it; ``*`` repeats ``last``."""
    close = _closing(tokens, start, net, path)
    fields = tokens[start + 1 : close]
    if len(fields) not in (2, 3):
        raise InputError(f"net {net}: a wiring point has {len(fields)} fields: ( {' '.join(fields)} )", path)
    coords = []
    for axis, field in enumerate(fields[:2]):
        if field == "*":
            if last is None:
                raise InputError(f"net {net}: '*' in the first point of a wiring run", path)
            coords.append(last[axis])
        else:
            coords.append(_number(field, net, path))
    return (coords[0], coords[1]), close + 1


def _is_point(tokens: list[str], start: int) -> bool:
    """Whether the group at ``tokens[start]`` is a point (a connection starts with a name)."""
    head = tokens[start + 1] if start + 1 < len(tokens) else ""
    if head == "*":
        return True
    try:
        float(head)
    except ValueError:
        return False
    return True


def _scan_wiring(tokens: list[str], i: int, net: str, out: _Collector, path: Path) -> tuple[int, int, bool]:
    """Read one ``+ ROUTED ...`` block from its layer name at ``tokens[i]``.

    Returns the index of the token after it (a ``+`` or the end), the connections found inside
    it, and whether it held any wire or via.
    """
    layer = tokens[i]
    i += 1
    last: tuple[float, float] | None = None
    after_via = False
    connections = 0
    wired = False
    while i < len(tokens):
        token = tokens[i]
        if token == "+":
            break
        if token == "NEW":
            if i + 1 >= len(tokens):
                raise InputError(f"net {net}: NEW without a layer name", path)
            layer, last, after_via = tokens[i + 1], None, False
            i += 2
        elif token == "(":
            if not _is_point(tokens, i):
                connections += 1
                i = _closing(tokens, i, net, path) + 1
                continue
            point, i = _point(tokens, i, last, net, path)
            if last is not None and point != last:
                if after_via:
                    raise InputError(
                        f"net {net}: wiring continues after a via in one run (layer {layer} at "
                        f"{last}); start a NEW run instead",
                        path,
                    )
                if point[0] != last[0] and point[1] != last[1]:
                    raise InputError(f"net {net}: non-rectilinear wire segment {last} -> {point} on {layer}", path)
                out.segment(layer, last, point)
                wired = True
            last = point
        elif token == "VIRTUAL":
            if i + 1 >= len(tokens) or tokens[i + 1] != "(":
                raise InputError(f"net {net}: VIRTUAL without a point", path)
            last, i = _point(tokens, i + 1, last, net, path)
        elif token == "RECT":
            if i + 1 >= len(tokens) or tokens[i + 1] != "(":
                raise InputError(f"net {net}: RECT without a box", path)
            i = _closing(tokens, i + 1, net, path) + 1
        elif token == "TAPER":
            i += 1
        elif token in _SKIP_ONE:
            i += 2
        else:
            if last is None:
                raise InputError(f"net {net}: {token!r} in the wiring before any point on layer {layer}", path)
            out.place_via(token, last)
            wired, after_via = True, True
            i += 2 if i + 1 < len(tokens) and tokens[i + 1] in _ORIENTATIONS else 1
    return i, connections, wired


def _scan_net(tokens: list[str], out: _Collector, path: Path) -> tuple[str, int, bool]:
    """``(name, connections, wired)`` of one ``- net ...`` statement; its wiring goes into ``out``."""
    net = tokens[1]
    connections = 0
    wired = False
    i = 2
    while i < len(tokens):
        token = tokens[i]
        if token == "(":
            connections += 1
            i = _closing(tokens, i, net, path) + 1
        elif token == "+" and i + 1 < len(tokens) and tokens[i + 1] in _WIRING:
            if i + 2 >= len(tokens):
                raise InputError(f"net {net}: + {tokens[i + 1]} without a layer name", path)
            i, inside, run_wired = _scan_wiring(tokens, i + 2, net, out, path)
            connections += inside
            wired = wired or run_wired
        elif token == "+":
            # Another net property (USE, WEIGHT, SOURCE, PROPERTY, ...): skip to the next one.
            i += 1
            while i < len(tokens) and tokens[i] != "+":
                i += 1
        else:
            i += 1
    return net, connections, wired


def read_routed_wiring(path: str | Path) -> RoutedWiring:
    """The wiring of every net in the ``NETS`` section of a routed DEF (plain or gzip) in microns.

    Raises :class:`InputError` for a DEF without ``NETS`` or with wiring this scanner cannot
    read (see the module docstring).
    """
    path = Path(path)
    text = read_text(path)
    dbu, _ = scan_units_and_name(text, path)
    statements = net_statements(text)
    if not statements:
        raise InputError("DEF has no NETS section (or it is empty)", path)
    out = _Collector()
    nets = 0
    unrouted: list[str] = []
    for tokens in statements:
        name, connections, wired = _scan_net(tokens, out, path)
        if connections >= 2:
            nets += 1
            if not wired:
                unrouted.append(name)
    segments = np.asarray(out.segments, dtype=np.float64).reshape(-1, 5)
    vias = np.asarray(out.vias, dtype=np.float64).reshape(-1, 3)
    return RoutedWiring(
        dbu_per_micron=dbu,
        layers=list(out.layer_index),
        layer=segments[:, 0].astype(np.int32),
        x0=segments[:, 1] / dbu,
        y0=segments[:, 2] / dbu,
        x1=segments[:, 3] / dbu,
        y1=segments[:, 4] / dbu,
        via_names=list(out.via_index),
        via=vias[:, 0].astype(np.int32),
        via_x=vias[:, 1] / dbu,
        via_y=vias[:, 2] / dbu,
        nets=nets,
        unrouted=unrouted,
    )
