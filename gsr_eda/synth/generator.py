"""A synthetic placed design: rows, macros, a legal-ish row placement with a hotspot, and a local netlist.

The generator aims at what congestion models are sensitive to, not at a functional circuit:

* **Placement.** Standard cells sit on site-aligned rows (alternating N/FS), never overlapping,
  around 2-3 fixed ``CLASS BLOCK`` macros and a column of well taps every 20 um. Cell density
  follows ``1 + A exp(-|p - c|^2 / (2 sigma^2))``: a Gaussian hotspot (the deliberately
  congested region, ``A = 2.5``) over a uniform background.
* **Netlist.** Every cell output drives one net whose sinks are free input pins of nearby cells
  (k-nearest neighbours of the driver, lightly shuffled), so wirelength follows placement.
  Fan-out is drawn from a heavy-tailed law (about 60% of the nets have 2 pins, a tail reaches
  tens); drivers inside the hotspot get 1.5x the fan-out. A few buffers drive high-fan-out
  nets of hundreds of pins over the whole die, and the ``clk`` IO pin drives one ``USE CLOCK``
  net to every flip-flop.

Everything is drawn from ``numpy.random.default_rng(seed)``: one seed, one design.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gsr_eda.synth.library import (
    CLOCK_PIN,
    HIGH_FANOUT_BUFFER,
    ROW_HEIGHT,
    SITE_WIDTH,
    STANDARD_CELLS,
    TAP_CELL,
    CellType,
    macro_type,
)

TARGET_UTILISATION = 0.55  # standard-cell area / free row area, before the hotspot
MAX_SEGMENT_FILL = 0.95  # never fill a row segment beyond this fraction of its sites
TAP_SPACING_SITES = 100  # one well tap every 20 um
DIE_MARGIN = 4.0  # um between the die edge and the rows, for IO pins
HOTSPOT_GAIN = 2.5
# Sink counts (fan-out) and their probabilities for ordinary nets.
FANOUT_VALUES = np.array([1, 2, 3, 4, 5, 6, 8, 10, 14, 20, 30, 45])
FANOUT_PROBS = np.array([0.62, 0.17, 0.08, 0.045, 0.025, 0.02, 0.015, 0.01, 0.007, 0.005, 0.002, 0.001])


@dataclass
class SyntheticNet:
    name: str
    use: str
    pins: list[tuple[int, str]]  # (instance index, pin name); instance -1 means an IO pin named by pin


@dataclass
class SyntheticDesign:
    """A generated design in microns, ready to be written as LEF + DEF."""

    name: str
    die: tuple[float, float, float, float]
    cell_types: list[CellType]
    rows: list[tuple[float, float, int, str]]  # (y, x0, number of sites, orientation)
    inst_names: list[str]
    inst_type: np.ndarray  # index into cell_types
    inst_x: np.ndarray
    inst_y: np.ndarray
    inst_orient: list[str]
    inst_fixed: np.ndarray
    io_names: list[str]
    io_xy: np.ndarray  # (n_io, 2)
    io_is_input: np.ndarray
    nets: list[SyntheticNet]
    hotspot: tuple[float, float, float] = (0.0, 0.0, 0.0)  # centre x, centre y, sigma (um)
    stats: dict = field(default_factory=dict)


def _pack(targets: np.ndarray, widths: np.ndarray, start: int, end: int) -> np.ndarray:
    """Non-overlapping integer positions in ``[start, end)`` closest to sorted ``targets`` (in sites).

    With ``W_i`` the widths before cell ``i``, pushing right gives ``W_i + max_{k<=i}(t_k - W_k)``;
    the right clamp ``end - total + W_i`` then keeps every cell inside without creating overlap.
    """
    before = np.concatenate([[0], np.cumsum(widths)[:-1]])
    pos = before + np.maximum.accumulate(np.maximum(targets, start) - before)
    return np.minimum(pos, end - widths.sum() + before)


def draw_fanout(rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` sink counts from the heavy-tailed fan-out law (:data:`FANOUT_VALUES`, :data:`FANOUT_PROBS`).

    The one fan-out law of the synthetic circuits: :func:`generate_design` and the benchmarks'
    :func:`gsr_eda.synth.graphs.circuit_netlist` both draw from it.
    """
    return rng.choice(FANOUT_VALUES, size=size, p=FANOUT_PROBS / FANOUT_PROBS.sum())


def generate_design(num_cells: int, seed: int = 0, name: str | None = None) -> SyntheticDesign:
    """Generate a placed design of ``num_cells`` standard cells (plus taps, buffers and macros).

    The steps below draw from one generator in a fixed order, so a seed gives one design.
    """
    if num_cells < 50:
        raise ValueError("a synthetic design needs at least 50 cells")
    rng = np.random.default_rng(seed)
    cells = _draw_cells(rng, num_cells)
    plan = _floorplan(rng, cells.widths)
    hotspot = _hotspot(rng, plan)
    density = _site_density(plan, hotspot)
    segments = _row_segments(plan.blocked)
    members = _assign_segments(rng, cells.widths, segments, _segment_quotas(segments, density, cells.widths))
    site_of, row_of = _place_in_segments(rng, cells.widths, segments, members, density)
    inst = _instances(plan, cells, site_of, row_of)
    io = _io_pins(num_cells, plan.die)
    nets, flops = _netlist(rng, inst, io, cells, hotspot)
    degrees = np.array([len(n.pins) for n in nets])
    hx, hy, sigma = hotspot
    stats = {
        "cells": num_cells,
        "instances": len(inst.kinds),
        "macros": len(plan.macros),
        "taps": len(plan.taps),
        "io_pins": len(io.names),
        "nets": len(nets),
        "pins": int(degrees.sum()),
        "flops": len(flops),
        "die_um": [float(v) for v in plan.die],
        "hotspot_um": [float(hx), float(hy), float(sigma)],
        "degree_2_3_fraction": float(np.mean((degrees >= 2) & (degrees <= 3))),
        "max_degree": int(degrees.max()),
    }
    return SyntheticDesign(
        name=name or f"synth_{num_cells}_s{seed}",
        die=plan.die,
        cell_types=inst.cell_types,
        rows=[
            (plan.core_y0 + r * ROW_HEIGHT, plan.core_x0, plan.n_sites, "N" if r % 2 == 0 else "FS")
            for r in range(plan.n_rows)
        ],
        inst_names=inst.names,
        inst_type=inst.kinds,
        inst_x=inst.x,
        inst_y=inst.y,
        inst_orient=inst.orients,
        inst_fixed=inst.fixed,
        io_names=io.names,
        io_xy=io.xy,
        io_is_input=io.is_input,
        nets=nets,
        hotspot=(float(hx), float(hy), float(sigma)),
        stats=stats,
    )


@dataclass
class _Cells:
    """The standard cells to place, with the high-fan-out buffers after them."""

    num_cells: int
    std_types: list[CellType]
    types: list[CellType]  # std_types + the high-fan-out buffer
    kind: np.ndarray  # (num_cells + n_hf,) index into types
    widths: np.ndarray  # in sites
    n_hf: int


@dataclass
class _Floorplan:
    """Die, rows and sites, the fixed macros and well taps, and the sites they block."""

    die: tuple[float, float, float, float]
    core_x0: float
    core_y0: float
    n_rows: int
    n_sites: int
    side: float  # um, of the square core
    macros: list[tuple[CellType, int, int]]  # (type, first site, first row)
    taps: list[tuple[int, int]]  # (row, site)
    blocked: np.ndarray  # (n_rows, n_sites) bool


@dataclass
class _Instances:
    """Every instance in DEF order (macros, taps, then the cells), with its box's centre."""

    cell_types: list[CellType]
    names: list[str]
    kinds: np.ndarray
    x: np.ndarray
    y: np.ndarray
    orients: list[str]
    fixed: np.ndarray
    first_cell: int  # index of the first standard cell
    centre_x: np.ndarray
    centre_y: np.ndarray


@dataclass
class _IoPins:
    """IO pins evenly around the die edge, inputs first (``clk`` the very first)."""

    names: list[str]
    xy: np.ndarray  # (n_io, 2)
    is_input: np.ndarray


def _draw_cells(rng: np.random.Generator, num_cells: int) -> _Cells:
    """Cell types by their library frequencies, plus one high-fan-out buffer per 5,000 cells (at least 2)."""
    std_types = [c for c, _ in STANDARD_CELLS]
    probs = np.array([p for _, p in STANDARD_CELLS])
    n_hf = max(2, num_cells // 5000)
    kind = np.concatenate(
        [rng.choice(len(std_types), size=num_cells, p=probs / probs.sum()), np.full(n_hf, len(std_types))]
    )
    types: list[CellType] = std_types + [HIGH_FANOUT_BUFFER]
    widths = np.array([types[k].sites for k in kind], dtype=np.int64)
    return _Cells(num_cells, std_types, types, kind, widths, n_hf)


def _floorplan(rng: np.random.Generator, widths: np.ndarray) -> _Floorplan:
    """A square core at :data:`TARGET_UTILISATION` with 2-3 corner macros (a keep-out ring each)
    and a well tap every :data:`TAP_SPACING_SITES` free sites."""
    std_area = widths.sum() * SITE_WIDTH * ROW_HEIGHT
    n_macros = 2 + int(rng.integers(0, 2))
    macro_area = 0.3 * std_area / n_macros
    side = np.sqrt(std_area / TARGET_UTILISATION + n_macros * macro_area)
    n_rows = int(np.ceil(side / ROW_HEIGHT))
    n_sites = int(np.ceil(side / SITE_WIDTH))
    core_x0 = core_y0 = DIE_MARGIN
    die = (0.0, 0.0, core_x0 + n_sites * SITE_WIDTH + DIE_MARGIN, core_y0 + n_rows * ROW_HEIGHT + DIE_MARGIN)
    pins_per_side = 16
    macros = []
    blocked = np.zeros((n_rows, n_sites), dtype=bool)
    corners = [(0.0, 0.0), (1.0, 1.0), (0.0, 1.0)][:n_macros]
    for k, (fx, fy) in enumerate(corners):
        aspect = rng.uniform(1.0, 1.6)
        w_sites = int(np.sqrt(macro_area * aspect) / SITE_WIDTH)
        h_rows = max(2, int(np.sqrt(macro_area / aspect) / ROW_HEIGHT))
        mtype = macro_type(k, w_sites, h_rows, pins_per_side)
        sx = int(fx * (n_sites - w_sites))
        sy = int(fy * (n_rows - h_rows))
        macros.append((mtype, sx, sy))
        halo_s, halo_r = 5, 1  # keep-out ring so cells do not touch the macro pins
        blocked[max(0, sy - halo_r) : sy + h_rows + halo_r, max(0, sx - halo_s) : sx + w_sites + halo_s] = True
    taps = [(r, s) for r in range(n_rows) for s in range(0, n_sites, TAP_SPACING_SITES) if not blocked[r, s]]
    for r, s in taps:
        blocked[r, s] = True
    return _Floorplan(die, core_x0, core_y0, n_rows, n_sites, float(side), macros, taps, blocked)


def _hotspot(rng: np.random.Generator, plan: _Floorplan) -> tuple[float, float, float]:
    """Centre ``(x, y)`` and ``sigma`` (um) of the Gaussian hotspot, off-centre inside the core."""
    hx = plan.core_x0 + rng.uniform(0.45, 0.65) * plan.n_sites * SITE_WIDTH
    hy = plan.core_y0 + rng.uniform(0.35, 0.6) * plan.n_rows * ROW_HEIGHT
    return hx, hy, 0.12 * plan.side


def _site_density(plan: _Floorplan, hotspot: tuple[float, float, float]) -> np.ndarray:
    """Relative cell density per (row, site): ``1 + A exp(-|p - c|^2 / (2 sigma^2))``, 0 where blocked."""
    hx, hy, sigma = hotspot
    site_x = plan.core_x0 + (np.arange(plan.n_sites) + 0.5) * SITE_WIDTH
    row_y = plan.core_y0 + (np.arange(plan.n_rows) + 0.5) * ROW_HEIGHT
    density = 1.0 + HOTSPOT_GAIN * np.exp(-((site_x[None, :] - hx) ** 2 + (row_y[:, None] - hy) ** 2) / (2 * sigma**2))
    density[plan.blocked] = 0.0
    return density


def _row_segments(blocked: np.ndarray) -> list[tuple[int, int, int]]:
    """``(row, start site, end site)`` of every maximal run of free sites."""
    segments = []
    for r in range(blocked.shape[0]):
        free = np.concatenate([[0], (~blocked[r]).astype(np.int8), [0]])
        edges = np.flatnonzero(np.diff(free))
        segments += [(r, int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]
    return segments


def _segment_quotas(segments: list[tuple[int, int, int]], density: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """Sites of cells per segment: proportional to its density, capped at :data:`MAX_SEGMENT_FILL`,
    the excess spread over the segments still open."""
    seg_len = np.array([b - a for _, a, b in segments], dtype=np.float64)
    seg_weight = np.array([density[r, a:b].sum() for r, a, b in segments])
    cap = np.floor(seg_len * MAX_SEGMENT_FILL)
    quota = np.zeros(len(segments))
    remaining = float(widths.sum())
    open_seg = cap > 0
    for _ in range(20):
        if remaining <= 1e-9 or not open_seg.any():
            break
        share = np.where(open_seg, seg_weight, 0.0)
        quota += remaining * share / share.sum()
        remaining = float(np.maximum(quota - cap, 0).sum())
        quota = np.minimum(quota, cap)
        open_seg = quota < cap
    if remaining > 1e-6:
        raise ValueError("synthetic core too small for its cells")  # cannot happen at 55% utilisation
    return quota


def _assign_segments(
    rng: np.random.Generator, widths: np.ndarray, segments: list[tuple[int, int, int]], quota: np.ndarray
) -> list[list[int]]:
    """The cells of each segment: in random order by cumulative width against the quotas, then
    any overflow carried forward (and back) until every segment fits."""
    seg_len = np.array([b - a for _, a, b in segments], dtype=np.float64)
    order = rng.permutation(len(widths))
    cum = np.cumsum(widths[order]) - 0.5 * widths[order]
    seg_of_sorted = np.minimum(np.searchsorted(np.cumsum(quota), cum), len(segments) - 1)
    members: list[list[int]] = [[] for _ in segments]
    for cell, seg in zip(order, seg_of_sorted):
        members[seg].append(int(cell))
    for direction in (range(len(segments)), range(len(segments) - 1, -1, -1)):
        carry: list[int] = []
        for s in direction:
            cells = carry + members[s]
            carry = []
            while cells and widths[cells].sum() > seg_len[s]:
                carry.append(cells.pop())
            members[s] = cells
        if carry:
            if direction.step == 1:
                members[len(segments) - 1] += carry
            else:
                raise ValueError("could not legalise the synthetic placement")
    return members


def _place_in_segments(
    rng: np.random.Generator,
    widths: np.ndarray,
    segments: list[tuple[int, int, int]],
    members: list[list[int]],
    density: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """``(site, row)`` of every cell: a target site drawn from the segment's density, then packed
    without overlap (:func:`_pack`)."""
    site_of = np.zeros(len(widths), dtype=np.int64)
    row_of = np.zeros(len(widths), dtype=np.int64)
    for s, (r, a, b) in enumerate(segments):
        cells = np.array(members[s], dtype=np.int64)
        if not len(cells):
            continue
        w = density[r, a:b]
        cdf = np.cumsum(w) / w.sum()
        targets = a + np.searchsorted(cdf, rng.random(len(cells)))
        by_target = np.argsort(targets, kind="stable")
        cells, targets = cells[by_target], targets[by_target]
        site_of[cells] = _pack(targets, widths[cells], a, b)
        row_of[cells] = r
    return site_of, row_of


def _instances(plan: _Floorplan, cells: _Cells, site_of: np.ndarray, row_of: np.ndarray) -> _Instances:
    """Macros, taps, then the standard cells in generation order (flip-flops named as registers)."""
    cell_types = cells.types + [TAP_CELL] + [m for m, _, _ in plan.macros]
    tap_type, macro_type0 = len(cells.types), len(cells.types) + 1
    x0, y0 = plan.core_x0, plan.core_y0
    names: list[str] = []
    kinds: list[int] = []
    xs: list[float] = []
    ys: list[float] = []
    orients: list[str] = []
    fixed: list[bool] = []
    for k, (_, sx, sy) in enumerate(plan.macros):
        names.append(f"ram{k}")
        kinds.append(macro_type0 + k)
        xs.append(x0 + sx * SITE_WIDTH)
        ys.append(y0 + sy * ROW_HEIGHT)
        orients.append("N")
        fixed.append(True)
    for t, (r, s) in enumerate(plan.taps):
        names.append(f"TAP_{t}")
        kinds.append(tap_type)
        xs.append(x0 + s * SITE_WIDTH)
        ys.append(y0 + r * ROW_HEIGHT)
        orients.append("N" if r % 2 == 0 else "FS")
        fixed.append(True)
    first_cell = len(names)
    n_dff = 0
    for c, kind in enumerate(cells.kind):
        if kind == len(cells.std_types):
            names.append(f"hfbuf_{c - cells.num_cells}")
        elif cells.std_types[kind].name == "DFF_X1":
            # Register names carry escaped bus brackets, as synthesis writes them.
            names.append(f"state_reg\\[{n_dff}\\]")
            n_dff += 1
        else:
            names.append(f"u{c}")
        kinds.append(int(kind))
    xs += list(x0 + site_of * SITE_WIDTH)
    ys += list(y0 + row_of * ROW_HEIGHT)
    orients += ["N" if r % 2 == 0 else "FS" for r in row_of]
    fixed += [False] * len(cells.kind)
    inst_type = np.array(kinds, dtype=np.int64)
    inst_x = np.array(xs)
    inst_y = np.array(ys)
    centre_x = inst_x + np.array([cell_types[k].width for k in inst_type]) / 2
    centre_y = inst_y + np.array([cell_types[k].height for k in inst_type]) / 2
    return _Instances(
        cell_types, names, inst_type, inst_x, inst_y, orients, np.array(fixed), first_cell, centre_x, centre_y
    )


def _io_pins(num_cells: int, die: tuple[float, float, float, float]) -> _IoPins:
    """``2 sqrt(N)`` (at least 8) pins spaced evenly along the perimeter on a 5 nm grid."""
    n_io = max(8, int(2 * np.sqrt(num_cells)))
    perimeter = np.linspace(0.0, 4.0, n_io, endpoint=False) + 0.5 / n_io
    io_xy = np.zeros((n_io, 2))
    for i, p in enumerate(perimeter):
        side_k, f = int(p), p - int(p)
        w, h = die[2], die[3]
        io_xy[i] = [(f * w, 0.0), (w, f * h), ((1 - f) * w, h), (0.0, (1 - f) * h)][side_k]
    io_xy = np.round(io_xy / 0.005) * 0.005
    io_is_input = np.zeros(n_io, dtype=bool)
    io_is_input[: (n_io + 1) // 2] = True
    io_names = (
        ["clk"]
        + [f"in\\[{i}\\]" for i in range(1, (n_io + 1) // 2)]
        + [f"out\\[{i}\\]" for i in range(n_io - (n_io + 1) // 2)]
    )
    return _IoPins(io_names, io_xy, io_is_input)


class _SinkPool:
    """Each instance's input pins not yet wired (clock pins excluded: they go to the clock net)."""

    def __init__(self, rng: np.random.Generator, inst: _Instances, cells: _Cells) -> None:
        self.free_inputs: list[list[str]] = []
        for k in inst.kinds:
            pins = [p for p in inst.cell_types[k].inputs if p != CLOCK_PIN]
            rng.shuffle(pins)
            self.free_inputs.append(pins)
        self.n_free = np.array([len(p) for p in self.free_inputs], dtype=np.int64)
        self.n_free[inst.first_cell + cells.num_cells :] = 0  # high-fan-out buffer inputs are wired apart
        self.n_inst = len(inst.kinds)

    def take(self, candidates: np.ndarray, count: int, exclude: int) -> list[tuple[int, str]]:
        """Up to ``count`` free pins of the candidates, in their order, none on ``exclude``."""
        sinks = []
        for cand in candidates:
            if len(sinks) == count:
                break
            cand = int(cand)
            if cand == exclude or cand >= self.n_inst or self.n_free[cand] == 0:
                continue
            self.n_free[cand] -= 1
            sinks.append((cand, self.free_inputs[cand][self.n_free[cand]]))
        return sinks


def _netlist(
    rng: np.random.Generator, inst: _Instances, io: _IoPins, cells: _Cells, hotspot: tuple[float, float, float]
) -> tuple[list[SyntheticNet], list[int]]:
    """The nets (high-fan-out, ordinary, IO, clock) and the flip-flops on the clock net."""
    from scipy.spatial import cKDTree  # here: 0.8 s of import that `gsr-eda synth --help` need not pay

    pool = _SinkPool(rng, inst, cells)
    tree = cKDTree(np.stack([inst.centre_x, inst.centre_y], axis=1))
    first_buffer = inst.first_cell + cells.num_cells
    nets: list[SyntheticNet] = []
    # High-fan-out nets first, so their hundreds of sinks (anywhere on the die) are still free.
    hf_size = int(min(400, max(100, cells.num_cells // 10)))
    for b in range(cells.n_hf):
        buf = first_buffer + b
        sinks = pool.take(rng.permutation(pool.n_inst), hf_size, buf)
        nets.append(SyntheticNet(f"hf_en_{b}", "SIGNAL", [(buf, "Y")] + sinks))
    nets += _local_nets(rng, inst, io, pool, tree, hotspot, len(nets))
    _attach_to_nearest_driver(nets, inst, io, tree, cells.n_hf, first_buffer)
    flops = [i for i in range(pool.n_inst) if CLOCK_PIN in inst.cell_types[inst.kinds[i]].inputs]
    nets.append(SyntheticNet("clk", "CLOCK", [(-1, "clk")] + [(i, CLOCK_PIN) for i in flops]))
    return nets, flops


def _local_nets(
    rng: np.random.Generator,
    inst: _Instances,
    io: _IoPins,
    pool: _SinkPool,
    tree: Any,
    hotspot: tuple[float, float, float],
    first_net: int,
) -> list[SyntheticNet]:
    """One net per driver output (cells, macros) and input IO pin, its sinks among the nearest
    free pins (lightly shuffled); drivers in the hotspot get 1.5x the fan-out."""
    hx, hy, sigma = hotspot
    drivers: list[tuple[int, str, float, float]] = []
    for i in range(pool.n_inst):
        ctype = inst.cell_types[inst.kinds[i]]
        if ctype.name in (TAP_CELL.name, HIGH_FANOUT_BUFFER.name):
            continue
        for out in ctype.outputs:
            drivers.append((i, out, inst.centre_x[i], inst.centre_y[i]))
    for j in range(1, int(io.is_input.sum())):
        drivers.append((-1, io.names[j], io.xy[j, 0], io.xy[j, 1]))
    fanout = draw_fanout(rng, len(drivers))
    dxy = np.array([(d[2], d[3]) for d in drivers])
    in_hotspot = (dxy[:, 0] - hx) ** 2 + (dxy[:, 1] - hy) ** 2 < (1.5 * sigma) ** 2
    fanout = np.where(in_hotspot, np.ceil(fanout * 1.5), fanout).astype(np.int64)
    driver_order = rng.permutation(len(drivers))
    k_small = 24
    _, near = tree.query(dxy, k=min(k_small, pool.n_inst))
    nets: list[SyntheticNet] = []
    for d in driver_order:
        driver, pin, px, py = drivers[d]
        want = int(fanout[d])
        if 3 * want + 4 <= near.shape[1]:
            candidates = near[d].copy()
        else:
            _, candidates = tree.query((px, py), k=min(pool.n_inst, 3 * want + 8))
        window = min(len(candidates), 2 * want + 2)
        candidates[:window] = rng.permutation(candidates[:window])
        sinks = pool.take(np.atleast_1d(candidates), want, driver)
        if sinks:
            nets.append(SyntheticNet(f"n{first_net + len(nets)}", "SIGNAL", [(driver, pin)] + sinks))
    return nets


def _attach_to_nearest_driver(
    nets: list[SyntheticNet], inst: _Instances, io: _IoPins, tree: Any, n_hf: int, first_buffer: int
) -> None:
    """Output IO pins and the high-fan-out buffers' inputs join the net of the nearest instance
    that drives one."""
    n_inst = len(inst.kinds)
    driver_net_of: dict[int, int] = {}
    for j, net in enumerate(nets):
        if net.pins[0][0] >= 0:
            driver_net_of.setdefault(net.pins[0][0], j)
    for j in range(int(io.is_input.sum()), len(io.names)):
        _, near_io = tree.query(io.xy[j], k=min(n_inst, 64))
        for cand in np.atleast_1d(near_io):
            if int(cand) in driver_net_of:
                nets[driver_net_of[int(cand)]].pins.append((-1, io.names[j]))
                break
    for b in range(n_hf):
        buf = first_buffer + b
        _, near_buf = tree.query((inst.centre_x[buf], inst.centre_y[buf]), k=min(n_inst, 64))
        for cand in np.atleast_1d(near_buf):
            if int(cand) in driver_net_of and int(cand) != buf:
                nets[driver_net_of[int(cand)]].pins.append((buf, "A"))
                break
