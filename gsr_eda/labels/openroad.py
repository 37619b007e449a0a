"""Labels from OpenROAD's global router: congestion report, route guides and heatmap dumps.

* Congestion report (``global_route -congestion_report_file``): sparse, one block per
  over-capacity gcell and direction::

      violation type: Horizontal congestion
          srcs: net:a net:b ...
          comment: capacity:2 usage:4 congestion:2
          bbox = (48.4500, 42.7500) - (51.3000, 45.6000) on Layer -

  (bbox in microns).
* Route guides (``write_guides``): per net, its name, ``(``, lines ``x0 y0 x1 y1 layer`` in
  DBU, each a gcell-aligned box, then ``)``.
* Heatmap CSV (``gui::dump_heatmap``): rows ``x0,y0,x1,y1,value`` in microns.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path

import numpy as np

from gsr_eda.design import GcellGrid, RoutingCapacity
from gsr_eda.errors import InputError
from gsr_eda.graph.gcell_maps import box_gcell_overlaps
from gsr_eda.labels.label import GcellLabel, checked_map, read_text_lines

_NUMBER = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
_VIOLATION = re.compile(r"violation type:\s*(\w+) congestion\s*$")
_COMMENT = re.compile(r"comment:\s*capacity:\s*(\d+)\s+usage:\s*(\d+)\s+congestion:\s*(-?\d+)\s*$")
_BBOX = re.compile(rf"bbox\s*=\s*\(\s*{_NUMBER}\s*,\s*{_NUMBER}\s*\)\s*-\s*\(\s*{_NUMBER}\s*,\s*{_NUMBER}\s*\)")
_DIRECTIONS = ("horizontal", "vertical")


def _gcells_of_boxes(grid: GcellGrid, boxes: np.ndarray, tolerance: float, path: Path, what: str) -> np.ndarray:
    """Inclusive gcell spans of gcell-aligned boxes (microns), shrunk by ``tolerance`` so that
    edges lying on gcell boundaries (up to rounding) do not spill into the neighbours."""
    x0, y0, x1, y1 = boxes.T
    lo_x, hi_x = grid.x_edges[0] - tolerance, grid.x_edges[-1] + tolerance
    lo_y, hi_y = grid.y_edges[0] - tolerance, grid.y_edges[-1] + tolerance
    outside = (x0 < lo_x) | (x1 > hi_x) | (y0 < lo_y) | (y1 > hi_y) | (x1 < x0) | (y1 < y0)
    if np.any(outside):
        k = int(np.flatnonzero(outside)[0])
        raise InputError(
            f"{int(outside.sum())} {what} lie outside the design's gcell grid (first: {boxes[k].tolist()} um, "
            f"grid {grid.x_edges[0]:g}..{grid.x_edges[-1]:g} x {grid.y_edges[0]:g}..{grid.y_edges[-1]:g} um): "
            "is this output from another design, or the wrong DEF units?",
            path,
        )
    return grid.span(
        x0 + tolerance,
        y0 + tolerance,
        np.maximum(x1 - tolerance, x0 + tolerance),
        np.maximum(y1 - tolerance, y0 + tolerance),
    ).astype(np.int64)


def read_openroad_congestion_report(path: str | Path, grid: GcellGrid, dbu_per_micron: float) -> GcellLabel:
    """Overflow ratio per gcell from an OpenROAD congestion report, summed over directions.

    For every reported gcell and direction ``d``, ``r_d = (usage_d - capacity_d) / capacity_d``
    (``usage_d - capacity_d`` where the capacity is 0, as if one track were available); gcells
    not in the report are not over capacity and get 0. The label is ``r_h + r_v``. A gcell
    reported twice for the same direction keeps the larger ratio. Bounding boxes are matched to
    gcells after shrinking them by half a DBU, so shared boundaries do not spill over.
    """
    path = Path(path)
    lines = read_text_lines(path)
    records: list[tuple[int, float, float, float, float, float]] = []
    direction: int | None = None
    ratio: float | None = None
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("srcs:"):
            continue
        if line.startswith("violation type:"):
            match = _VIOLATION.search(line)
            if match is None or match.group(1).lower() not in _DIRECTIONS:
                raise InputError(f"line {number}: unknown violation type in {line!r}", path)
            direction, ratio = _DIRECTIONS.index(match.group(1).lower()), None
        elif line.startswith("comment:"):
            match = _COMMENT.search(line)
            if match is None or direction is None:
                raise InputError(
                    f"line {number}: expected 'comment: capacity:C usage:U congestion:D' "
                    f"after a 'violation type' line, got {line!r}",
                    path,
                )
            capacity, usage = int(match.group(1)), int(match.group(2))
            ratio = (usage - capacity) / max(capacity, 1)
        elif line.startswith("bbox"):
            match = _BBOX.search(line)
            if match is None or ratio is None or direction is None:
                raise InputError(
                    f"line {number}: expected 'bbox = (x0, y0) - (x1, y1)' closing a violation "
                    f"with a comment line, got {line!r}",
                    path,
                )
            records.append((direction, ratio, *(float(v) for v in match.groups())))
            direction, ratio = None, None
        else:
            raise InputError(f"line {number}: not part of an OpenROAD congestion report: {line!r}", path)
    if direction is not None:
        raise InputError("truncated: the last violation has no bbox line", path)
    per_direction = np.zeros((2, *grid.shape))
    if records:
        table = np.asarray(records, dtype=np.float64)
        spans = _gcells_of_boxes(grid, table[:, 2:6], 0.5 / dbu_per_micron, path, "violation boxes")
        for d in (0, 1):
            sel = table[:, 0] == d
            for (gx0, gy0, gx1, gy1), value in zip(spans[sel], table[sel, 1]):
                block = per_direction[d, gx0 : gx1 + 1, gy0 : gy1 + 1]
                np.maximum(block, value, out=block)
    return GcellLabel(
        values=checked_map(per_direction.sum(0), grid, path, "congestion map"),
        name="openroad_congestion",
        source=str(path),
        is_proxy=False,
        description="OpenROAD global-route overflow (usage - capacity) / capacity, summed over "
        "horizontal and vertical (ratio; 0 where not over capacity)",
    )


def route_guide_usage(path: str | Path, grid: GcellGrid, dbu_per_micron: float) -> dict[str, np.ndarray]:
    """Number of distinct nets whose guides cover each gcell, per layer: ``{layer: (nx, ny) int32}``.

    A net counts once per gcell and layer however many of its guide boxes overlap there.
    """
    path = Path(path)
    lines = read_text_lines(path)
    nets: list[int] = []
    boxes: list[tuple[float, float, float, float]] = []
    layers: list[str] = []
    net_index = -1
    inside = False
    expect_open = False
    for number, raw in enumerate(lines, start=1):
        fields = raw.split()
        if not fields:
            continue
        if expect_open:
            if fields != ["("]:
                raise InputError(f"line {number}: expected '(' after the net name, got {raw.strip()!r}", path)
            expect_open, inside = False, True
        elif inside:
            if fields == [")"]:
                inside = False
                continue
            if len(fields) != 5:
                raise InputError(f"line {number}: expected 'x0 y0 x1 y1 layer', got {raw.strip()!r}", path)
            try:
                box = tuple(int(v) / dbu_per_micron for v in fields[:4])
            except ValueError:
                raise InputError(
                    f"line {number}: guide coordinates must be integer DBU, got {raw.strip()!r}", path
                ) from None
            nets.append(net_index)
            boxes.append(box)
            layers.append(fields[4])
        else:
            if len(fields) != 1 or fields[0] in ("(", ")"):
                raise InputError(f"line {number}: expected a net name, got {raw.strip()!r}", path)
            net_index += 1
            expect_open = True
    if inside or expect_open:
        raise InputError("truncated: the last net's guide list is not closed with ')'", path)
    if not boxes:
        raise InputError("no route guides found", path)
    layer_names, layer_of_box = np.unique(np.asarray(layers), return_inverse=True)
    spans = _gcells_of_boxes(grid, np.asarray(boxes), 0.5 / dbu_per_micron, path, "guide boxes")
    wx = spans[:, 2] - spans[:, 0] + 1
    wy = spans[:, 3] - spans[:, 1] + 1
    counts = wx * wy
    owner = np.repeat(np.arange(len(spans)), counts)
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    nx, ny = grid.shape
    gcell = (spans[owner, 0] + offset % wx[owner]) * ny + spans[owner, 1] + offset // wx[owner]
    # One count per (net, layer, gcell): overlapping guides of one net do not add up.
    key = np.unique((np.asarray(nets)[owner] * len(layer_names) + layer_of_box[owner]) * (nx * ny) + gcell)
    layer_gcell = key % (len(layer_names) * nx * ny)
    usage = np.bincount(layer_gcell, minlength=len(layer_names) * nx * ny).reshape(len(layer_names), nx, ny)
    return {str(name): usage[i].astype(np.int32) for i, name in enumerate(layer_names)}


def default_layer_direction(layer: str) -> str:
    """``"horizontal"`` for layer names ending in an odd number, ``"vertical"`` for even ones.

    This is the Nangate45 / SKY130 (met1 horizontal) convention; pass ``layer_directions`` to
    :func:`read_openroad_route_guides` for a technology that differs.
    """
    match = re.search(r"(\d+)$", layer)
    if match is None:
        raise ValueError(layer)
    return "horizontal" if int(match.group(1)) % 2 else "vertical"


def read_openroad_route_guides(
    path: str | Path,
    grid: GcellGrid,
    capacity: RoutingCapacity | None,
    dbu_per_micron: float,
    *,
    layer_directions: Mapping[str, str] | None = None,
    routing_layers: Collection[str] | None = None,
) -> GcellLabel:
    """Routing utilisation per gcell from OpenROAD route guides.

    With ``U_d[i, j]`` the number of nets whose guides cover gcell ``(i, j)`` on layers of
    direction ``d`` (summed over those layers) and ``C_d`` the track capacity of the design,

    .. math:: L[i, j] = \\max_{d \\in \\{h, v\\}} U_d[i, j] / C_d[i, j]

    the utilisation of the busier direction (``U_d`` itself where ``C_d = 0``). Layer
    directions come from ``layer_directions`` (layer name -> ``"horizontal"``/``"vertical"``)
    or, by default, from the layer's trailing number (odd = horizontal, see
    :func:`default_layer_direction`). ``routing_layers`` restricts the count to those layers
    (for example leave out metal1, whose guides are pin access rather than routing).
    """
    path = Path(path)
    if capacity is None:
        raise InputError(
            "route-guide utilisation needs the design's routing track capacity: "
            "read the design with its technology LEF",
            path,
        )
    usage = route_guide_usage(path, grid, dbu_per_micron)
    demand = {d: np.zeros(grid.shape) for d in _DIRECTIONS}
    for layer, counts in usage.items():
        if routing_layers is not None and layer not in routing_layers:
            continue
        direction = (layer_directions or {}).get(layer)
        if direction is None:
            try:
                direction = default_layer_direction(layer)
            except ValueError:
                raise InputError(f"cannot tell the direction of layer {layer!r}: give layer_directions", path) from None
        if direction not in _DIRECTIONS:
            raise InputError(f"layer {layer!r}: direction must be horizontal or vertical, got {direction!r}", path)
        demand[direction] += counts
    ratios = []
    for direction, cap in (("horizontal", capacity.horizontal), ("vertical", capacity.vertical)):
        cap = np.asarray(cap, dtype=np.float64)
        ratios.append(np.divide(demand[direction], cap, out=demand[direction].copy(), where=cap > 0))
    return GcellLabel(
        values=checked_map(np.maximum(*ratios), grid, path, "guide utilisation map"),
        name="guide_utilisation",
        source=str(path),
        is_proxy=False,
        description="OpenROAD route-guide utilisation: nets crossing the gcell / track capacity, "
        "in the busier direction (ratio; above 1 is over capacity)",
    )


def read_openroad_heatmap_csv(path: str | Path, grid: GcellGrid) -> GcellLabel:
    """A ``gui::dump_heatmap`` CSV resampled onto the design grid, weighting rows by overlap area.

    .. math:: L[i, j] = \\frac{\\sum_r v_r |b_r \\cap g_{ij}|}{\\sum_r |b_r \\cap g_{ij}|}

    (0 for gcells no row covers). A first line that is not numeric is taken as a header.
    """
    path = Path(path)
    rows: list[tuple[float, ...]] = []
    for number, raw in enumerate(read_text_lines(path), start=1):
        line = raw.strip()
        if not line:
            continue
        fields = [f.strip() for f in line.split(",")]
        try:
            row = tuple(float(f.rstrip("%")) for f in fields)
        except ValueError:
            if not rows and number == 1:
                continue  # header
            raise InputError(f"line {number}: expected numbers 'x0,y0,x1,y1,value', got {line!r}", path) from None
        if len(row) != 5:
            raise InputError(f"line {number}: expected 5 fields 'x0,y0,x1,y1,value', got {len(row)}", path)
        if not all(np.isfinite(row)):
            raise InputError(f"line {number}: non-finite value in {line!r}", path)
        rows.append(row)
    if not rows:
        raise InputError("no heatmap rows found", path)
    table = np.asarray(rows)
    box, gx, gy, area = box_gcell_overlaps(grid, *table[:, :4].T)
    if len(box) == 0:
        raise InputError("no heatmap row overlaps the design's gcell grid: is it from another design?", path)
    nx, ny = grid.shape
    flat = gx * ny + gy
    weighted = np.bincount(flat, weights=area * table[box, 4], minlength=nx * ny)
    covered = np.bincount(flat, weights=area, minlength=nx * ny)
    values = np.divide(weighted, covered, out=np.zeros(nx * ny), where=covered > 0).reshape(nx, ny)
    return GcellLabel(
        values=checked_map(values, grid, path, "heatmap"),
        name="openroad_heatmap",
        source=str(path),
        is_proxy=False,
        description="OpenROAD GUI heatmap value, area-weighted onto the gcell grid (units of the heatmap, "
        "e.g. routing usage in percent)",
    )
