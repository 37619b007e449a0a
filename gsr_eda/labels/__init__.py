"""Congestion labels on the gcell grid: real router outputs, plain arrays, and a proxy estimate.

Every reader returns a :class:`GcellLabel` on the design's grid; :func:`read_labels` is the one
entry point used by ``--label-kind``. Mapping a label onto cells (max or mean over each cell's
gcells) is :func:`gsr_eda.design.cells_from_gcell_map`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gsr_eda.design import PlacedDesign
from gsr_eda.errors import InputError
from gsr_eda.labels.array import read_gcell_array
from gsr_eda.labels.circuitnet import CIRCUITNET_LABELS, read_circuitnet_congestion
from gsr_eda.labels.label import GcellLabel
from gsr_eda.labels.openroad import (
    read_openroad_congestion_report,
    read_openroad_heatmap_csv,
    read_openroad_route_guides,
    route_guide_usage,
)
from gsr_eda.labels.proxy import DEFAULT_TRACKS_PER_GCELL, proxy_congestion
from gsr_eda.labels.routed import ROUTED_MEASURES, read_routed_def, routed_usage

#: ``--label-kind`` name -> reader. :func:`read_labels` supplies the design-derived arguments
#: (grid, DBU, capacity); the remaining keyword options of each reader pass through.
LABEL_KINDS: dict[str, Callable[..., GcellLabel]] = {
    "circuitnet": read_circuitnet_congestion,
    "openroad-report": read_openroad_congestion_report,
    "openroad-guides": read_openroad_route_guides,
    "openroad-heatmap": read_openroad_heatmap_csv,
    "routed-def": read_routed_def,
    "array": read_gcell_array,
}


def _design_arguments(kind: str, design: PlacedDesign, options: dict[str, Any]) -> dict[str, Any]:
    if kind == "circuitnet":
        sample = options.pop("sample", None) or design.source.get("placement") or design.source.get("sample")
        if not sample:
            raise InputError("the CircuitNet label needs the placement sample name (option 'sample')")
        return {"sample": Path(str(sample)).name, "grid": design.grid}
    arguments: dict[str, Any] = {"grid": design.grid}
    if kind in ("openroad-report", "openroad-guides"):
        arguments["dbu_per_micron"] = design.dbu_per_micron
    if kind in ("openroad-guides", "routed-def"):
        arguments["capacity"] = design.capacity
    return arguments


def read_labels(kind: str, path: str | Path, *, design: PlacedDesign, **options: Any) -> GcellLabel:
    """Read a label of ``kind`` (a :data:`LABEL_KINDS` key) from ``path`` onto ``design``'s grid.

    ``path`` is the file, or for ``circuitnet`` the dataset root holding the
    ``congestion_*`` folders. ``options`` are the reader's keyword options (e.g. ``which`` for
    CircuitNet, ``transpose`` for arrays, ``layer_directions`` for guides, ``measure``, ``tool``,
    ``tool_version`` and ``failed_nets`` for routed DEFs).
    """
    if kind not in LABEL_KINDS:
        raise InputError(f"unknown label kind {kind!r}; choose one of {', '.join(LABEL_KINDS)}", path)
    reader = LABEL_KINDS[kind]
    options = dict(options)
    arguments = _design_arguments(kind, design, options)
    accepted = set(inspect.signature(reader).parameters) - set(arguments) - {"path", "root"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise InputError(
            f"label kind {kind!r} has no option {', '.join(map(repr, unknown))} "
            f"(options: {', '.join(sorted(accepted)) or 'none'})",
            path,
        )
    return reader(path, **arguments, **options)


__all__ = [
    "CIRCUITNET_LABELS",
    "DEFAULT_TRACKS_PER_GCELL",
    "LABEL_KINDS",
    "ROUTED_MEASURES",
    "GcellLabel",
    "proxy_congestion",
    "read_circuitnet_congestion",
    "read_gcell_array",
    "read_labels",
    "read_openroad_congestion_report",
    "read_openroad_heatmap_csv",
    "read_openroad_route_guides",
    "read_routed_def",
    "route_guide_usage",
    "routed_usage",
]
