"""Real congestion labels from a detail-routed DEF: the tracks the router's wires really use.

From the wiring (:func:`gsr_eda.ingest.routed_def.read_routed_wiring`), per gcell ``(i, j)`` of
the design's grid, with gcell width ``w_i`` and height ``h_j``:

* ``length[l][i, j]``: wire length (um) of layer ``l`` inside the gcell, each segment split at
  gcell boundaries; ``vias[v][i, j]``: vias of kind ``v`` whose point lies in the gcell.
* Tracks used, per direction, whatever the layer:

  .. math:: U_h[i, j] = \\frac{1}{w_i} \\sum_{s \\text{ horizontal}} |s \\cap g_{ij}|, \\qquad
            U_v[i, j] = \\frac{1}{h_j} \\sum_{s \\text{ vertical}} |s \\cap g_{ij}|

  so a wire crossing the whole gcell uses one track. Wrong-way wiring (a horizontal jog on a
  vertical layer) counts in the direction it runs, since it takes the room of a track there.
* Against the capacity ``C_d`` of the design (the preferred-direction tracks the technology
  LEF's layers and the DEF ``TRACKS`` give, summed over layers):

  - ``utilisation``: :math:`L = \\max(U_h / C_h, U_v / C_v)`, the busier direction;
  - ``overflow``: :math:`L = \\sum_d \\max(0, U_d / (f C_d) - 1)` with ``f`` =
    ``capacity_fraction`` (default 0.5): demand beyond the share of the tracks a global router
    would count as free. A detail-routed result is legal, so against every LEF track it never
    overflows (measured on the qflow serv placements: at most 0.79 of the tracks used, in
    the densest gcell); the tracks left over are taken by vias, pin access and spacing, which
    global routers model by reducing each layer's capacity, here by ``f``.

  Where ``C_d = 0`` the ratio is ``U_d`` itself (every track used overflows).

The label records its provenance: the router (tool and version), the nets that needed wiring,
and the fraction that failed. ``gsr-eda route`` writes that beside its output
(``<routed>.json``, see :mod:`gsr_eda.route`); for other routed DEFs, pass ``tool``, ``tool_version`` and
``failed_nets`` (the router's list of failed nets, one per line, as qrouter's ``write_failed``
writes), or the failed nets are the nets without any wiring.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gsr_eda.design import GcellGrid, RoutingCapacity
from gsr_eda.errors import InputError
from gsr_eda.ingest.routed_def import RoutedWiring, read_routed_wiring
from gsr_eda.labels.label import GcellLabel, checked_map, read_text_lines

ROUTED_MEASURES = ("utilisation", "overflow")
#: Share of the tracks the ``overflow`` measure counts as free (see the module docstring).
DEFAULT_CAPACITY_FRACTION = 0.5
#: Sidecar file ``gsr-eda route`` writes beside a routed DEF: ``<routed DEF>.json``.
SIDECAR_SUFFIX = ".json"
_FAILED_HEADER = re.compile(r"^\d+ nets? failed")


@dataclass
class RoutedUsage:
    """Per-gcell usage of a routed design (all maps ``(nx, ny)`` float64, see the module docstring)."""

    length: dict[str, np.ndarray]  # layer -> um of wire
    vias: dict[str, np.ndarray]  # via name -> count
    horizontal: np.ndarray  # U_h, tracks
    vertical: np.ndarray  # U_v, tracks


def _split_along(edges: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pieces of intervals ``[lo, hi]`` cut at ``edges``: ``(interval, bin, length)`` per piece."""
    inner = edges[1:-1]
    first = np.searchsorted(inner, lo, side="right")
    last = np.maximum(np.searchsorted(inner, hi, side="left"), first)
    counts = last - first + 1
    owner = np.repeat(np.arange(len(lo)), counts)
    bins = first[owner] + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    length = np.minimum(hi[owner], edges[bins + 1]) - np.maximum(lo[owner], edges[bins])
    return owner, bins, np.maximum(length, 0.0)


def _check_inside(wiring: RoutedWiring, grid: GcellGrid, path: Path) -> None:
    """Refuse wiring beyond the grid by more than a gcell: a routed DEF of another design."""
    slack_x = float(np.max(np.diff(grid.x_edges)))
    slack_y = float(np.max(np.diff(grid.y_edges)))
    xs = np.concatenate([wiring.x0, wiring.x1, wiring.via_x])
    ys = np.concatenate([wiring.y0, wiring.y1, wiring.via_y])
    if len(xs) == 0:
        return
    if (
        xs.min() < grid.x_edges[0] - slack_x
        or xs.max() > grid.x_edges[-1] + slack_x
        or ys.min() < grid.y_edges[0] - slack_y
        or ys.max() > grid.y_edges[-1] + slack_y
    ):
        raise InputError(
            f"the wiring spans {xs.min():g}..{xs.max():g} x {ys.min():g}..{ys.max():g} um, beyond the design's "
            f"gcell grid {grid.x_edges[0]:g}..{grid.x_edges[-1]:g} x {grid.y_edges[0]:g}..{grid.y_edges[-1]:g} um: "
            "is this routed DEF from another design?",
            path,
        )


def routed_usage(wiring: RoutedWiring, grid: GcellGrid) -> RoutedUsage:
    """Wire length per layer, vias per kind and tracks used per direction, per gcell (module docstring).

    Wiring just outside the grid (pins on the die edge) counts in the border gcells.
    """
    nx, ny = grid.shape
    x0 = np.clip(wiring.x0, grid.x_edges[0], grid.x_edges[-1])
    x1 = np.clip(wiring.x1, grid.x_edges[0], grid.x_edges[-1])
    y0 = np.clip(wiring.y0, grid.y_edges[0], grid.y_edges[-1])
    y1 = np.clip(wiring.y1, grid.y_edges[0], grid.y_edges[-1])
    length = np.zeros((len(wiring.layers), nx * ny))
    tracks = {}
    for direction, runs in (("horizontal", wiring.horizontal), ("vertical", wiring.vertical)):
        seg = np.flatnonzero(runs)
        if direction == "horizontal":
            owner, gx, piece = _split_along(grid.x_edges, x0[seg], x1[seg])
            gy = grid.locate(x0[seg], y0[seg])[1][owner]
            extent = np.diff(grid.x_edges)[gx]
        else:
            owner, gy, piece = _split_along(grid.y_edges, y0[seg], y1[seg])
            gx = grid.locate(x0[seg], y0[seg])[0][owner]
            extent = np.diff(grid.y_edges)[gy]
        flat = gx * ny + gy
        tracks[direction] = np.bincount(flat, weights=piece / extent, minlength=nx * ny).reshape(nx, ny)
        np.add.at(length, (wiring.layer[seg][owner], flat), piece)
    vx, vy = grid.locate(wiring.via_x, wiring.via_y)
    via_counts = np.zeros((len(wiring.via_names), nx * ny))
    np.add.at(via_counts, (wiring.via, vx * ny + vy), 1.0)
    return RoutedUsage(
        length={name: length[k].reshape(nx, ny) for k, name in enumerate(wiring.layers)},
        vias={name: via_counts[k].reshape(nx, ny) for k, name in enumerate(wiring.via_names)},
        horizontal=tracks["horizontal"],
        vertical=tracks["vertical"],
    )


def routed_label_values(
    usage: RoutedUsage, capacity: RoutingCapacity, measure: str, capacity_fraction: float = DEFAULT_CAPACITY_FRACTION
) -> np.ndarray:
    """The ``utilisation`` or ``overflow`` map of ``usage`` against ``capacity`` (module docstring);
    ``capacity_fraction`` scales the capacity of ``overflow`` only."""
    if measure not in ROUTED_MEASURES:
        raise ValueError(f"measure must be one of {ROUTED_MEASURES}, got {measure!r}")
    scale = capacity_fraction if measure == "overflow" else 1.0
    ratios = []
    for used, cap in ((usage.horizontal, capacity.horizontal), (usage.vertical, capacity.vertical)):
        cap = scale * np.asarray(cap, dtype=np.float64)
        ratio = np.divide(used, cap, out=used.copy(), where=cap > 0)
        ratios.append(np.where(cap > 0, np.maximum(ratio - 1, 0), used) if measure == "overflow" else ratio)
    return ratios[0] + ratios[1] if measure == "overflow" else np.maximum(*ratios)


def read_failed_nets(path: str | Path) -> list[str]:
    """Net names from a failed-net list: one per line, after qrouter's ``N nets failed`` header
    line when there is one (qrouter's ``write_failed`` writes an empty file when none failed).
    A net listed more than once (qrouter lists a net once per failed connection) counts once."""
    names = (line.strip() for line in read_text_lines(path))
    return list(dict.fromkeys(name for name in names if name and not _FAILED_HEADER.match(name)))


def _sidecar(routed: Path) -> dict[str, Any]:
    """The provenance ``gsr-eda route`` wrote beside ``routed`` (empty when there is none)."""
    sidecar = routed.with_name(routed.name + SIDECAR_SUFFIX)
    if not sidecar.is_file():
        return {}
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"unreadable route record: {err}", sidecar) from None
    if not isinstance(data, dict):
        raise InputError("route record is not a JSON object", sidecar)
    return data


def routed_provenance(
    routed: Path, wiring: RoutedWiring, tool: str | None, tool_version: str | None, failed_nets: str | Path | None
) -> dict[str, Any]:
    """Who routed the design and how many nets failed: explicit options, else the sidecar, else the wiring."""
    record = _sidecar(routed)
    if failed_nets is not None:
        failed, failed_from = read_failed_nets(failed_nets), str(failed_nets)
    elif "failed_nets" in record:
        failed, failed_from = list(record["failed_nets"]), "route record"
    else:
        failed, failed_from = wiring.unrouted, "nets without wiring"
    return {
        "tool": tool or record.get("tool") or "unknown",
        "tool_version": tool_version or record.get("tool_version") or "unknown",
        "nets": wiring.nets,
        "failed_nets": len(failed),
        "failed_fraction": len(failed) / wiring.nets if wiring.nets else 0.0,
        "failed_from": failed_from,
    }


def read_routed_def(
    path: str | Path,
    grid: GcellGrid,
    capacity: RoutingCapacity | None,
    *,
    measure: str = "utilisation",
    capacity_fraction: float | str = DEFAULT_CAPACITY_FRACTION,
    tool: str | None = None,
    tool_version: str | None = None,
    failed_nets: str | Path | None = None,
) -> GcellLabel:
    """The ``measure`` label (``utilisation`` or ``overflow``) of a detail-routed DEF on ``grid``.

    ``capacity_fraction`` (``overflow`` only) is the share of the tracks counted as free; it
    may come as text from the command line.

    ``tool`` and ``tool_version`` name the router (e.g. ``qrouter``, ``1.4.71``) and
    ``failed_nets`` is its list of failed nets; without them they come from the ``gsr-eda
    route`` record beside the DEF, or they are ``unknown`` and the failed nets are those without
    wiring. Both go into the
    label's provenance with the failed fraction.
    """
    path = Path(path)
    if capacity is None:
        raise InputError(
            "the routed label needs the design's routing track capacity: read the design with its technology LEF", path
        )
    if measure not in ROUTED_MEASURES:
        raise InputError(f"unknown routed-label measure {measure!r}; choose one of {', '.join(ROUTED_MEASURES)}", path)
    try:
        fraction = float(capacity_fraction)
    except ValueError:
        fraction = float("nan")
    if not 0 < fraction <= 1:
        raise InputError(f"capacity_fraction must be in (0, 1], got {capacity_fraction!r}", path)
    wiring = read_routed_wiring(path)
    if len(wiring.layer) == 0 and len(wiring.via) == 0:
        raise InputError("the DEF has no ROUTED wiring: pass the router's output, not the placed DEF", path)
    _check_inside(wiring, grid, path)
    usage = routed_usage(wiring, grid)
    values = routed_label_values(usage, capacity, measure, fraction)
    provenance = routed_provenance(path, wiring, tool, tool_version, failed_nets)
    what = (
        "tracks used / preferred-direction tracks, in the busier direction"
        if measure == "utilisation"
        else f"max(0, tracks used / ({fraction:g} x preferred-direction tracks) - 1), summed over directions"
    )
    if measure == "overflow":
        provenance["capacity_fraction"] = fraction
    return GcellLabel(
        values=checked_map(values, grid, path, "routed usage map"),
        name=f"routed_{measure}",
        source=str(path),
        is_proxy=False,
        description=f"detail-routed wiring ({provenance['tool']} {provenance['tool_version']}, {provenance['failed_nets']} of "
        f"{provenance['nets']} nets failed): {what} (ratio)",
        provenance=provenance,
    )
