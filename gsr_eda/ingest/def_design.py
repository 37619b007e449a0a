"""Read a placed DEF (with ``lefdef``) and its LEF library (with ``sc_leflib``) into a :class:`PlacedDesign`.

Library coverage, checked on every DEF/LEF in ``shared/data/openroad`` (asap7 ``aes_place``,
sky130hd ``gcd`` floorplan and ``insert_decap``, Nangate45 ``grt_reports/gcd.def``):

* ``lefdef`` 0.6 gives DIEAREA points, GCELLGRID, COMPONENTS (id, master, status, orientation
  code, x, y), PINS (net, status, orientation, position and shapes; ``PORT`` shapes already in
  absolute DBU), NETS (connections, with ``PIN`` for IO pins; SPECIALNETS excluded), ROWS and
  TRACKS. It lacks UNITS, DESIGN and net USE (see :mod:`gsr_eda.ingest.def_text`), and it
  aborts the process on malformed input (see :mod:`gsr_eda.ingest.native`).
* ``sc_leflib`` 0.5 gives layers and macros but no macro CLASS (see :mod:`gsr_eda.ingest.lef`).

Instances are dropped when they are physical-only (LEF class ``CORE SPACER``, ``CORE WELLTAP``,
``CORE ANTENNACELL``, ``ENDCAP*``) or connected to no net, unless ``keep_unconnected``.

Two things the reader does that a user should know about are counted in ``design.source``
(keys :data:`REPORT_KEYS`; ``gsr-eda ingest`` prints them and stores them in the record):

* ``unplaced_io_pins``: with ``include_io_pins``, an IO pin without ``+ PLACED|FIXED|COVER``
  (pin placement not run yet) has no position. It is left out of its net, as when IO pins are
  not included, rather than put at the die origin, where it would pull its net's edges and
  the congestion estimate towards one corner. The rest of the design is still usable, so this
  is a warning, not an error.
* ``wildcard_connections``: a ``( * PIN )`` connection in ``NETS`` ("pin ``PIN`` of every
  component") is expanded to the named pin of every component whose LEF macro has that pin;
  a component-name pattern with ``*`` (e.g. ``( u_reg* CK )``) to the matching components.
* ``pins_unknown_to_lef``: a net connects a pin its instance's LEF macro does not have (a
  stale or mismatched LEF). The pin is placed at the cell centre; since that hides a wrong
  LEF, it is also warned about once per design (:class:`~gsr_eda.errors.InputWarning`).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gsr_eda.design import GcellGrid, PlacedDesign, RoutingCapacity
from gsr_eda.errors import InputError, InputWarning
from gsr_eda.ingest.compressed import is_gzip, plain_path
from gsr_eda.ingest.def_text import scan_net_uses, scan_placed_io_pins, scan_units_and_name
from gsr_eda.ingest.lef import LefLibrary, LefMacro, read_lef_library
from gsr_eda.ingest.native import parse_def_native
from gsr_eda.ingest.orientation import oriented_pin_offset, oriented_size
from gsr_eda.ingest.routing_grid import (
    TrackPattern,
    assumed_directions,
    derived_grid_step,
    grid_from_lines,
    ordered_layers,
    track_capacity,
)

_PLACED_STATUSES = (b"PLACED", b"FIXED", b"COVER")
# design.source keys holding what the reader changed or left out (see the module docstring).
REPORT_KEYS = ("unplaced_io_pins", "wildcard_connections", "pins_unknown_to_lef")
_REPORT_EXAMPLES = 3  # names quoted in a report line before "..."
# A vector (x, y) rotated/mirrored about the origin by each orientation code N, W, S, E, FN, FW, FS, FE.
_ROTATE_ABOUT_ORIGIN = [
    lambda x, y: (x, y),
    lambda x, y: (-y, x),
    lambda x, y: (-x, -y),
    lambda x, y: (y, -x),
    lambda x, y: (-x, y),
    lambda x, y: (-y, -x),
    lambda x, y: (x, -y),
    lambda x, y: (y, x),
]


@dataclass
class DefFloorplan:
    """The floorplan part of a DEF: units, die, gcell grid and (when derivable) track capacity."""

    dbu_per_micron: float
    die: tuple[float, float, float, float]
    grid: GcellGrid
    capacity: RoutingCapacity | None
    layer_directions_assumed: bool = False  # True when no LEF gave layer directions


def _decode(value: bytes | None) -> str:
    return value.decode("utf-8", "replace") if value is not None else ""


def _read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError as err:
        raise InputError(f"cannot read DEF: {err.strerror}", path) from err


def _die(c_def, dbu: float, path: Path) -> tuple[float, float, float, float]:
    if c_def.c_num_points < 2:
        raise InputError("DEF has no DIEAREA", path)
    xs = [c_def.c_die_area_width[i] for i in range(c_def.c_num_points)]
    ys = [c_def.c_die_area_height[i] for i in range(c_def.c_num_points)]
    die = (min(xs) / dbu, min(ys) / dbu, max(xs) / dbu, max(ys) / dbu)
    if die[2] <= die[0] or die[3] <= die[1]:
        raise InputError(f"DIEAREA is empty: {die}", path)
    return die


def _tracks(c_def, dbu: float) -> list[TrackPattern]:
    patterns = []
    for axis, array, count in (
        ("X", c_def.c_tracks_x, c_def.c_num_tracks_x),
        ("Y", c_def.c_tracks_y, c_def.c_num_tracks_y),
    ):
        for k in range(count):
            t = array[k]
            patterns.append(TrackPattern(_decode(t.c_layer), axis, t.c_offset / dbu, int(t.c_num), t.c_step / dbu))
    return patterns


def _track_spacing(tracks: list[TrackPattern], layer: str, axis: str) -> float | None:
    """Typical spacing of a layer's tracks on one axis (several offset patterns interleave on ASAP7 M2)."""
    coords = [t.coordinates() for t in tracks if t.layer == layer and t.axis == axis]
    unique = np.unique(np.concatenate(coords)) if coords else np.empty(0)
    return float(np.median(np.diff(unique))) if len(unique) > 1 else None


def _grid_and_capacity(
    c_def,
    dbu: float,
    die: tuple[float, float, float, float],
    library: LefLibrary | None,
    gcell_tracks: int,
    path: Path,
) -> tuple[GcellGrid, RoutingCapacity | None, bool]:
    """Gcell grid, track capacity, and whether layer directions had to be assumed."""
    tracks = _tracks(c_def, dbu)
    lef_layers = library.routing_layers if library is not None else []
    directions = {layer.name: layer.direction for layer in lef_layers}
    pitches = {layer.name: layer.pitch for layer in lef_layers}
    assumed = False
    if not directions and tracks:
        directions = assumed_directions([t.layer for t in tracks])
        assumed = True
        for layer, direction in directions.items():
            spacing = _track_spacing(tracks, layer, "Y" if direction == "HORIZONTAL" else "X")
            if spacing is not None:
                pitches[layer] = spacing
    layers_bottom_up = [layer.name for layer in lef_layers] or ordered_layers([t.layer for t in tracks])
    x_spacing = {layer.name: layer.pitch_x for layer in lef_layers}
    for layer in layers_bottom_up:
        spacing = _track_spacing(tracks, layer, "X")
        if spacing is not None:
            x_spacing[layer] = spacing

    x_lines = [
        g.c_offset / dbu + g.c_step / dbu * np.arange(g.c_num)
        for g in c_def.c_g_cell_grid_x[: c_def.c_num_g_cell_grid_x]
    ]
    y_lines = [
        g.c_offset / dbu + g.c_step / dbu * np.arange(g.c_num)
        for g in c_def.c_g_cell_grid_y[: c_def.c_num_g_cell_grid_y]
    ]
    if x_lines and y_lines:
        grid = grid_from_lines(die, x_lines, y_lines)
    elif x_spacing:
        step = derived_grid_step(layers_bottom_up, x_spacing, gcell_tracks)
        grid = GcellGrid.uniform(*die, step, step)
    else:
        raise InputError(
            "DEF has no GCELLGRID and no routing layer pitch to derive one (no TRACKS, no technology LEF)", path
        )
    capacity = track_capacity(grid, die, directions, tracks, pitches) if directions else None
    return grid, capacity, assumed


def read_def_floorplan(def_path: str | Path, lef_paths: Sequence[str | Path] = ()) -> DefFloorplan:
    """Units, die, gcell grid and track capacity of a DEF, for label readers without a cell library.

    With no technology LEF the preferred directions of the DEF ``TRACKS`` layers are assumed to
    alternate with the lowest layer horizontal (true for Nangate45, e.g. ``grt_reports/gcd.def``);
    ``layer_directions_assumed`` is then set.
    """
    path = Path(def_path)
    reader, c_def = parse_def_native(path)
    dbu, _ = scan_units_and_name(_read_text(path), path)
    die = _die(c_def, dbu, path)
    library = read_lef_library(lef_paths) if lef_paths else None
    grid, capacity, assumed = _grid_and_capacity(c_def, dbu, die, library, 15, path)
    del reader
    return DefFloorplan(dbu, die, grid, capacity, assumed)


def _io_pin_position(pin, dbu: float) -> tuple[float, float]:
    """Centre of an IO pin's first shape (PORT shapes are absolute; plain shapes are pin-relative)."""
    if pin.c_num_ports > 0 and pin.c_ports[0].c_num_rects > 0:
        r = pin.c_ports[0].c_rects[0]
        return 0.5 * (r.c_xl + r.c_xh) / dbu, 0.5 * (r.c_yl + r.c_yh) / dbu
    dx = dy = 0.0
    if pin.c_num_rects > 0:
        r = pin.c_rects[0]
        dx, dy = _ROTATE_ABOUT_ORIGIN[pin.c_orient % 8](0.5 * (r.c_xl + r.c_xh), 0.5 * (r.c_yl + r.c_yh))
    return (pin.c_x + dx) / dbu, (pin.c_y + dy) / dbu


def _examples(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_REPORT_EXAMPLES])
    return shown + (", ..." if len(names) > _REPORT_EXAMPLES else "")


class _WildcardExpander:
    """Components matched by a ``( pattern pin )`` net connection whose pattern holds ``*``."""

    def __init__(self, comp_names: list[str], macros: list[LefMacro]) -> None:
        self._names = comp_names
        self._macros = macros
        self._cache: dict[tuple[str, str], list[int]] = {}

    def __call__(self, pattern: str, pin: str) -> list[int]:
        key = (pattern, pin)
        if key not in self._cache:
            # DEF escapes are literal characters of the name; only "*" is special.
            regex = re.compile(".*".join(re.escape(part) for part in pattern.split("*")))
            self._cache[key] = [
                k
                for k, (name, macro) in enumerate(zip(self._names, self._macros))
                if pin in macro.pin_names and (pattern == "*" or regex.fullmatch(name))
            ]
        return self._cache[key]


def _read_gzip_def_design(path: Path, lef_paths: Sequence[str | Path], **options) -> PlacedDesign:
    """:func:`read_def_design` of a gzip DEF; errors and ``design.source`` name the compressed file."""
    with plain_path(path) as plain:
        try:
            design = read_def_design(plain, lef_paths, **options)
        except InputError as err:
            if err.path != plain:
                raise
            raise InputError(err.problem, path) from None
    if options.get("name") is None and design.name == plain.stem:
        design.name = path.name.split(".")[0]
    design.source["def"] = str(path)
    return design


def read_def_design(
    def_path: str | Path,
    lef_paths: Sequence[str | Path],
    *,
    name: str | None = None,
    include_io_pins: bool = False,
    keep_unconnected: bool = False,
    gcell_tracks: int = 15,
) -> PlacedDesign:
    """Read a placed DEF and the LEF(s) of its technology and cells into a :class:`PlacedDesign` (microns).

    Positions are the lower-left corners of the oriented boxes (DEF ``( x y )`` divided by
    ``UNITS DISTANCE MICRONS``). Pin offsets are the centre of each LEF pin's first port shapes,
    moved by the instance's orientation; the cell centre when the LEF pin has no shapes.
    IO pins become zero-size fixed ``is_io`` nodes when ``include_io_pins``; otherwise they are
    left out of their nets. IO pins without placement are always left out, and counted in
    ``design.source["unplaced_io_pins"]``; ``( * PIN )`` net connections are expanded and
    counted in ``design.source["wildcard_connections"]`` (see the module docstring).
    A gzip-compressed DEF (``.def.gz``) is read through a decompressed temporary copy.
    Raises :class:`InputError` for any bad or inconsistent input.
    """
    path = Path(def_path)
    if is_gzip(path):
        return _read_gzip_def_design(
            path,
            lef_paths,
            name=name,
            include_io_pins=include_io_pins,
            keep_unconnected=keep_unconnected,
            gcell_tracks=gcell_tracks,
        )
    lef_paths = [Path(p) for p in lef_paths]
    if not lef_paths:
        raise InputError("no LEF given: pass the technology LEF and the cell LEF(s) with the DEF", path)
    library = read_lef_library(lef_paths)
    reader, c_def = parse_def_native(path)
    text = _read_text(path)
    dbu, design_name = scan_units_and_name(text, path)
    die = _die(c_def, dbu, path)
    comps = _read_components(c_def, dbu, library, path)
    io = _read_io_pins(c_def, dbu, text)
    pins = _read_net_pins(c_def, comps, io, path)
    keep = _kept_components(comps, pins, keep_unconnected, path)
    keep_io = include_io_pins and len(io.names) > 0
    report = _dropped_report(comps, io, pins, keep_io)
    nodes = _nodes(comps, io, keep, keep_io, path)

    # Pins whose owner was dropped leave their net; nets left without pins are dropped.
    pin_node_all = nodes.node_of[pins.owner] if len(pins.owner) else np.empty(0, np.int64)
    kept_pins = np.flatnonzero(pin_node_all >= 0)
    pin_dx, pin_dy, unknown_pins = _pin_offsets(comps, pins, kept_pins)
    if unknown_pins:
        report["pins_unknown_to_lef"] = (
            f"{len(unknown_pins)} net pin(s) not in their LEF macro, placed at the cell centre: {_examples(unknown_pins)}"
        )
        warnings.warn(InputWarning(f"{path}: {report['pins_unknown_to_lef']}"), stacklevel=2)
    pin_net_kept = pins.net[kept_pins]
    counts = np.bincount(pin_net_kept, minlength=len(pins.net_names))
    nonempty = np.flatnonzero(counts > 0)
    order = np.argsort(pin_net_kept, kind="stable")
    net_ptr = np.zeros(len(nonempty) + 1, dtype=np.int64)
    net_ptr[1:] = np.cumsum(counts[nonempty])
    uses = scan_net_uses(text)
    kept_net_names = [pins.net_names[j] for j in nonempty]

    grid, capacity, _ = _grid_and_capacity(c_def, dbu, die, library, gcell_tracks, path)
    del reader
    design = PlacedDesign(
        name=name or design_name or path.stem,
        dbu_per_micron=dbu,
        die=die,
        grid=grid,
        node_names=nodes.names,
        node_masters=nodes.masters,
        width=nodes.width,
        height=nodes.height,
        x=nodes.x,
        y=nodes.y,
        is_fixed=nodes.is_fixed,
        is_macro=nodes.is_macro,
        is_io=nodes.is_io,
        net_names=np.array(kept_net_names, dtype=object),
        net_use=np.array([uses.get(n, "SIGNAL") for n in kept_net_names], dtype=object),
        net_ptr=net_ptr,
        pin_node=pin_node_all[kept_pins][order],
        pin_dx=pin_dx[order].astype(np.float32),
        pin_dy=pin_dy[order].astype(np.float32),
        capacity=capacity,
        source={"def": str(path), "lef": ",".join(str(p) for p in lef_paths), **report},
    )
    design.validate()
    return design


@dataclass
class _Components:
    """``COMPONENTS`` in file order, positions in microns, each with its LEF macro."""

    names: list[str]
    masters: list[str]
    statuses: list[bytes]
    orient: np.ndarray  # orientation codes 0..7 (N, W, S, E, FN, FW, FS, FE)
    x: np.ndarray
    y: np.ndarray
    macros: list[LefMacro]
    index_of: dict[str, int]


@dataclass
class _IoPins:
    """``PINS`` in file order: index by name, position, and whether it is placed."""

    index: dict[str, int]
    positions: list[tuple[float, float]]
    placed: np.ndarray  # bool

    @property
    def names(self) -> list[str]:
        return list(self.index)


@dataclass
class _NetPins:
    """Every net connection as (net, owner, pin); owner < n_comp is a component, n_comp + k the
    k-th IO pin. Wildcard connections are already expanded."""

    net_names: list[str]
    owner: np.ndarray  # int64
    net: np.ndarray  # int64
    pin_names: list[str]
    wildcards: list[str]  # one line per expanded wildcard, for the report


@dataclass
class _Nodes:
    """The node arrays of the design (kept components, then kept IO pins) and ``node_of``:
    the node of each component and IO pin, -1 when dropped."""

    node_of: np.ndarray
    names: np.ndarray
    masters: np.ndarray
    width: np.ndarray
    height: np.ndarray
    x: np.ndarray
    y: np.ndarray
    is_fixed: np.ndarray
    is_macro: np.ndarray
    is_io: np.ndarray


def _read_components(c_def, dbu: float, library: LefLibrary, path: Path) -> _Components:
    """The components; :class:`InputError` for an unknown orientation, macro or a duplicate name."""
    comps = [c_def.c_components[i] for i in range(c_def.c_num_components)]
    names = [_decode(c.c_id) for c in comps]
    masters = [_decode(c.c_name) for c in comps]
    orient = np.array([c.c_orient for c in comps], dtype=np.int64)
    if np.any((orient < 0) | (orient > 7)):
        bad = int(np.flatnonzero((orient < 0) | (orient > 7))[0])
        raise InputError(f"component {names[bad]} has an unknown orientation code {orient[bad]}", path)
    macros = []
    for inst, master in zip(names, masters):
        macro = library.macros.get(master)
        if macro is None:
            raise InputError(f"unknown macro {master} for instance {inst}; pass the LEF that defines it", path)
        macros.append(macro)
    index_of = {inst: k for k, inst in enumerate(names)}
    if len(index_of) != len(comps):
        raise InputError("COMPONENTS has duplicate instance names", path)
    return _Components(
        names,
        masters,
        [c.c_status for c in comps],
        orient,
        np.array([c.c_x for c in comps], dtype=np.float64) / dbu,
        np.array([c.c_y for c in comps], dtype=np.float64) / dbu,
        macros,
        index_of,
    )


def _read_io_pins(c_def, dbu: float, text: str) -> _IoPins:
    """The IO pins; ``placed`` from a scan of the text (:func:`scan_placed_io_pins`)."""
    index: dict[str, int] = {}
    positions: list[tuple[float, float]] = []
    for k in range(c_def.c_num_pins):
        pin = c_def.c_pins[k]
        index[_decode(pin.c_name)] = k
        positions.append(_io_pin_position(pin, dbu))
    placed_io = scan_placed_io_pins(text)
    return _IoPins(index, positions, np.array([pin_name in placed_io for pin_name in index], dtype=bool))


def _read_net_pins(c_def, comps: _Components, io: _IoPins, path: Path) -> _NetPins:
    """Every connection of every net, ``( * PIN )`` and ``( u_reg* PIN )`` expanded."""
    n_comp, index_of = len(comps.names), comps.index_of
    net_names: list[str] = []
    pin_owner: list[int] = []
    pin_net: list[int] = []
    pin_names: list[str] = []
    expand_wildcard = _WildcardExpander(comps.names, comps.macros)
    wildcards: list[str] = []
    for j in range(c_def.c_num_nets):
        net = c_def.c_nets[j]
        net_name = _decode(net.c_name)
        net_names.append(net_name)
        instances, pins = net.c_instances, net.c_pins  # fetch each ctypes field once per net
        connections = [(_decode(instances[i]), _decode(pins[i])) for i in range(net.c_num_pins)]
        explicit = None  # the net's named (component, pin) pairs: built only if a wildcard comes
        for inst, pin_name in connections:
            if "*" in inst and inst not in index_of:
                # "( * A )": pin A of every component that has one (pins also listed explicitly count once).
                if explicit is None:
                    explicit = {(index_of[i], p) for i, p in connections if i in index_of}
                matched = [k for k in expand_wildcard(inst, pin_name) if (k, pin_name) not in explicit]
                pin_owner += matched
                pin_net += [j] * len(matched)
                pin_names += [pin_name] * len(matched)
                explicit.update((k, pin_name) for k in matched)
                wildcards.append(f"{net_name} ( {inst} {pin_name} ): {len(matched)} pins")
                continue
            if inst == "PIN":
                if pin_name not in io.index:
                    raise InputError(f"net {net_name} references unknown IO pin {pin_name}", path)
                owner = n_comp + io.index[pin_name]
            else:
                owner = index_of.get(inst, -1)
                if owner < 0:
                    raise InputError(f"net {net_name} references unknown instance {inst}", path)
            pin_owner.append(owner)
            pin_net.append(j)
            pin_names.append(pin_name)
    return _NetPins(
        net_names, np.array(pin_owner, dtype=np.int64), np.array(pin_net, dtype=np.int64), pin_names, wildcards
    )


def _kept_components(comps: _Components, pins: _NetPins, keep_unconnected: bool, path: Path) -> np.ndarray:
    """Which components stay: placed, connected and not physical-only (all placed ones with
    ``keep_unconnected``); :class:`InputError` when a connected one is not placed."""
    n_comp = len(comps.names)
    connected = np.zeros(n_comp, dtype=bool)
    connected[pins.owner[pins.owner < n_comp]] = True
    physical_only = np.array([m.is_physical_only for m in comps.macros], dtype=bool)
    placed = np.array([s in _PLACED_STATUSES for s in comps.statuses], dtype=bool)
    keep = np.ones(n_comp, dtype=bool) if keep_unconnected else (connected & ~physical_only)
    unplaced_kept = keep & ~placed & connected
    if unplaced_kept.any():
        first = comps.names[int(np.flatnonzero(unplaced_kept)[0])]
        raise InputError(
            f"{int(unplaced_kept.sum())} components connected to nets are UNPLACED or have no placement "
            f"status (first: {first}); run placement first (UNPLACED cells without nets are ignored)",
            path,
        )
    return keep & placed  # unplaced cells without nets carry no position: nothing to keep


def _dropped_report(comps: _Components, io: _IoPins, pins: _NetPins, keep_io: bool) -> dict[str, str]:
    """The ``wildcard_connections`` and ``unplaced_io_pins`` lines of ``design.source``."""
    report: dict[str, str] = {}
    if pins.wildcards:
        report["wildcard_connections"] = f"{len(pins.wildcards)} expanded: {_examples(pins.wildcards)}"
    if keep_io and not io.placed.all():
        # Only IO pins on a net would have carried edges; unconnected ones need no warning.
        n_comp = len(comps.names)
        on_nets = np.zeros(len(io.index), dtype=bool)
        on_nets[pins.owner[pins.owner >= n_comp] - n_comp] = True
        unplaced = [name for name, ok, used in zip(io.index, io.placed, on_nets) if used and not ok]
        if unplaced:
            report["unplaced_io_pins"] = (
                f"{len(unplaced)} IO pins without PLACED/FIXED left out of their nets: {_examples(unplaced)}"
            )
    return report


def _nodes(comps: _Components, io: _IoPins, keep: np.ndarray, keep_io: bool, path: Path) -> _Nodes:
    """The kept components (oriented sizes) then the kept IO pins (zero-size, fixed)."""
    n_comp = len(comps.names)
    kept = np.flatnonzero(keep)
    north_w = np.array([comps.macros[k].width for k in kept], dtype=np.float64)
    north_h = np.array([comps.macros[k].height for k in kept], dtype=np.float64)
    width, height = oriented_size(north_w, north_h, comps.orient[kept])
    kept_io = np.flatnonzero(io.placed) if keep_io else np.empty(0, np.int64)
    n_io = len(kept_io)
    io_xy = np.array(io.positions, dtype=np.float64).reshape(-1, 2)[kept_io]
    node_of = np.full(n_comp + len(io.index), -1, dtype=np.int64)
    node_of[kept] = np.arange(len(kept))
    node_of[n_comp + kept_io] = len(kept) + np.arange(n_io)
    if len(kept) + n_io == 0 or not len(kept):
        raise InputError("empty design: no placed instance is connected to a net", path)
    io_names = io.names
    status_fixed = np.array([s == b"FIXED" for s in comps.statuses], dtype=bool)
    zeros_io = np.zeros(n_io)
    return _Nodes(
        node_of=node_of,
        names=np.array([comps.names[k] for k in kept] + [io_names[k] for k in kept_io], dtype=object),
        masters=np.array([comps.masters[k] for k in kept] + [""] * n_io, dtype=object),
        width=np.concatenate([width, zeros_io]),
        height=np.concatenate([height, zeros_io]),
        x=np.concatenate([comps.x[kept], io_xy[:, 0]]),
        y=np.concatenate([comps.y[kept], io_xy[:, 1]]),
        is_fixed=np.concatenate([status_fixed[kept], np.ones(n_io, dtype=bool)]),
        is_macro=np.concatenate(
            [np.array([comps.macros[k].is_block for k in kept], dtype=bool), np.zeros(n_io, dtype=bool)]
        ),
        is_io=np.concatenate([np.zeros(len(kept), dtype=bool), np.ones(n_io, dtype=bool)]),
    )


def _pin_offsets(comps: _Components, pins: _NetPins, kept_pins: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(dx, dy)`` of each kept pin from its node's corner (the LEF pin's centre in the north
    frame, then oriented; the cell centre when the LEF pin is unknown), and the unknown pins."""
    n_comp = len(comps.names)
    px = np.empty(len(kept_pins))
    py = np.empty(len(kept_pins))
    pin_orient = np.zeros(len(kept_pins), dtype=np.int64)
    pin_w = np.zeros(len(kept_pins))
    pin_h = np.zeros(len(kept_pins))
    unknown_pins: list[str] = []
    for out, p in enumerate(kept_pins):
        owner = int(pins.owner[p])
        if owner >= n_comp:  # IO pin node: zero size, the pin is the node
            px[out] = py[out] = 0.0
            continue
        macro = comps.macros[owner]
        pin_name = pins.pin_names[p]
        if pin_name not in macro.pin_names:
            unknown_pins.append(f"{comps.names[owner]}/{pin_name} ({macro.name})")
        centre = macro.pin_centres.get(pin_name)
        px[out], py[out] = centre if centre is not None else (0.5 * macro.width, 0.5 * macro.height)
        pin_orient[out] = comps.orient[owner]
        pin_w[out] = macro.width
        pin_h[out] = macro.height
    pin_dx, pin_dy = oriented_pin_offset(px, py, pin_w, pin_h, pin_orient)
    return pin_dx, pin_dy, unknown_pins
