"""A LEF cell library and technology, read with ``sc_leflib`` (lengths in microns, as in LEF).

``sc_leflib`` gives units, routing layers (direction, pitch, offset), sites and macros (size,
pins with port geometry, obstructions) but neither a macro's ``CLASS`` nor its ``ORIGIN``. The
class decides which instances are macros (``BLOCK``) and which are physical-only
fill/tap/endcap cells; the origin places the pin geometry inside the cell box. Both are
recovered by :func:`scan_macro_headers`, a targeted scan of the statements of each
``MACRO name`` before its first ``PIN``/``OBS``.

``ORIGIN ox oy`` (LEF default ``0 0``) says where the macro's coordinate origin lies relative
to the lower-left corner of its box: LEF shapes are drawn in the macro's own frame and a point
``(px, py)`` of it lies at ``(px + ox, py + oy)`` from the lower-left corner, which is what DEF
places. :attr:`LefMacro.pin_centres` are stored already shifted, relative to the lower-left.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gsr_eda.errors import InputError
from gsr_eda.ingest.native import parse_lef_native

# Classes of physical-only cells: they carry no signal and are dropped from the graph.
PHYSICAL_ONLY_CLASSES = frozenset({"CORE SPACER", "CORE WELLTAP", "ENDCAP", "CORE ANTENNACELL"})


@dataclass(frozen=True)
class RoutingLayer:
    """A routing layer: preferred direction (``"HORIZONTAL"``/``"VERTICAL"``) and track pitches in microns.

    ``pitch`` is the spacing of the layer's preferred-direction tracks; ``pitch_x`` the spacing
    of its x-stacked (vertical) tracks, which sizes derived gcells.
    """

    name: str
    direction: str
    pitch: float
    pitch_x: float


@dataclass(frozen=True)
class LefMacro:
    """A LEF macro in its north orientation: size, class, and one representative point per pin."""

    name: str
    width: float
    height: float
    macro_class: str  # e.g. "CORE", "BLOCK", "CORE WELLTAP"; "" when the LEF gives none
    pin_centres: dict[str, tuple[float, float]]  # from the box's lower-left corner (ORIGIN applied)
    pin_names: frozenset[str] = frozenset()  # every LEF PIN, with or without port shapes

    @property
    def is_block(self) -> bool:
        return self.macro_class.split()[:1] == ["BLOCK"]

    @property
    def is_physical_only(self) -> bool:
        return self.macro_class in PHYSICAL_ONLY_CLASSES or self.macro_class.startswith("ENDCAP")


@dataclass
class LefLibrary:
    """Everything read from one or more LEF files (technology and cells may be separate files)."""

    routing_layers: list[RoutingLayer] = field(default_factory=list)  # bottom to top, as in the LEF
    macros: dict[str, LefMacro] = field(default_factory=dict)
    paths: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class MacroHeader:
    """The macro statements ``sc_leflib`` drops: ``CLASS`` (``""`` when absent) and ``ORIGIN``."""

    macro_class: str = ""
    origin: tuple[float, float] = (0.0, 0.0)


_MACRO_START = re.compile(r"^\s*MACRO\s+(\S+)", re.MULTILINE)
_HEADER_OR_BODY = re.compile(r"^\s*(CLASS|ORIGIN|PIN|OBS|END)\b([^;\n]*)", re.MULTILINE)


def scan_macro_headers(text: str, path: Path | None = None) -> dict[str, MacroHeader]:
    """``{macro: MacroHeader}`` from the ``CLASS`` and ``ORIGIN`` statements of each ``MACRO``.

    Only macro-level statements count: a ``PORT`` may carry its own ``CLASS CORE``, so the scan
    of a macro stops at its first ``PIN``/``OBS``/``END`` (LEF puts ``CLASS`` and ``ORIGIN``
    before the pins). A malformed ``ORIGIN`` raises :class:`InputError` naming ``path``.
    """
    headers: dict[str, MacroHeader] = {}
    starts = list(_MACRO_START.finditer(text))
    for index, start in enumerate(starts):
        stop = starts[index + 1].start() if index + 1 < len(starts) else len(text)
        macro_class: str | None = None
        origin = (0.0, 0.0)
        for match in _HEADER_OR_BODY.finditer(text, start.end(), stop):
            keyword, rest = match.group(1), match.group(2).split()
            if keyword == "CLASS" and macro_class is None:
                macro_class = " ".join(rest)
            elif keyword == "ORIGIN":
                try:
                    ox, oy = (float(v) for v in rest)
                except ValueError:
                    problem = f"macro {start.group(1)}: ORIGIN needs two numbers"
                    raise InputError(problem, path, detail=repr(" ".join(rest))) from None
                origin = (ox, oy)
            elif keyword in ("PIN", "OBS", "END"):
                break
        headers[start.group(1)] = MacroHeader(macro_class or "", origin)
    return headers


def _pitch_along_tracks(layer: dict) -> float | None:
    """Spacing of a layer's tracks: LEF ``PITCH x y`` gives per-axis pitches, pick the preferred one."""
    pitch = layer.get("pitch")
    if pitch is None:
        return None
    if isinstance(pitch, (tuple, list)):
        # Horizontal wires are stacked along y, so their pitch is the y pitch.
        return float(pitch[1] if layer.get("direction") == "HORIZONTAL" else pitch[0])
    return float(pitch)


def _first_port_centre(pin: dict) -> tuple[float, float] | None:
    """Centre of the bounding box of the shapes of a pin's first port, or ``None`` without shapes."""
    for port in pin.get("ports", [])[:1]:
        xs: list[float] = []
        ys: list[float] = []
        for geometry in port.get("layer_geometries", []):
            for shape in geometry.get("shapes", []):
                if "rect" in shape:
                    x0, y0, x1, y1 = shape["rect"]
                    xs += [x0, x1]
                    ys += [y0, y1]
                for point in shape.get("path", []) or shape.get("polygon", []) or []:
                    xs.append(point[0])
                    ys.append(point[1])
        if xs:
            return (0.5 * (min(xs) + max(xs)), 0.5 * (min(ys) + max(ys)))
    return None


def read_lef_library(lef_paths: Sequence[str | Path] | Iterable[str | Path]) -> LefLibrary:
    """Merge LEF files in order (a later macro or layer of the same name replaces an earlier one)."""
    paths = [Path(p) for p in lef_paths]
    library = LefLibrary(paths=paths)
    layers: dict[str, RoutingLayer] = {}
    for path in paths:
        parsed = parse_lef_native(path)
        try:
            headers = scan_macro_headers(path.read_text(errors="replace"), path)
        except OSError as err:
            raise InputError(f"cannot read LEF: {err.strerror}", path) from err
        for name, layer in (parsed.get("layers") or {}).items():
            if layer.get("type") != "ROUTING" or layer.get("direction") not in ("HORIZONTAL", "VERTICAL"):
                continue
            pitch = _pitch_along_tracks(layer)
            if pitch is None or pitch <= 0:
                continue
            raw = layer["pitch"]
            pitch_x = float(raw[0]) if isinstance(raw, (tuple, list)) else float(raw)
            layers[name] = RoutingLayer(name, layer["direction"], pitch, pitch_x)
        for name, macro in (parsed.get("macros") or {}).items():
            size = macro.get("size")
            if not size:
                raise InputError(f"macro {name} has no SIZE", path)
            header = headers.get(name, MacroHeader())
            ox, oy = header.origin
            pins = macro.get("pins") or {}
            centres = {}
            for pin_name, pin in pins.items():
                centre = _first_port_centre(pin)
                if centre is not None:
                    centres[pin_name] = (centre[0] + ox, centre[1] + oy)
            library.macros[name] = LefMacro(
                name, float(size["width"]), float(size["height"]), header.macro_class, centres, frozenset(pins)
            )
    library.routing_layers = list(layers.values())
    return library
