"""Gcell grid and per-gcell routing track capacity of a DEF design.

Grid: the DEF ``GCELLGRID`` lines when present, closed by the die edges; OpenROAD writes
``DO n`` with ``n`` = the number of gcells, so its last gcell absorbs the remainder of the die,
as :meth:`GcellGrid.uniform` does. Without ``GCELLGRID`` the grid is derived the way OpenROAD's
global router sizes gcells: ``gcell_tracks`` (15) spacings of the vertical tracks (``TRACKS X``,
else the LEF x pitch) of the third routing layer. That rule reproduces the gcells of all three
real samples: 0.54 um on ASAP7 (M3; ``aes_place.def`` has ``GCELLGRID STEP 540``), 6.9 um on
SKY130 (met2; ``insert_decap_gcd.def`` has ``STEP 6900``) and 2.85 um on Nangate45 (metal3; the
``grt_reports`` congestion report).

Capacity: a horizontal layer's wires run along x and sit on its ``TRACKS Y`` coordinates, so
the horizontal capacity of gcell ``(i, j)`` is the number of such coordinates in
``[y_j, y_{j+1})``, summed over horizontal layers (vertical likewise with ``TRACKS X``).
Layers without DEF ``TRACKS`` get tracks every LEF pitch from the die's lower-left corner.
Repeated identical ``TRACKS`` statements (ASAP7's M2 has seven) count each coordinate once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from gsr_eda.design import GcellGrid, RoutingCapacity


@dataclass(frozen=True)
class TrackPattern:
    """One DEF ``TRACKS`` statement in microns: ``num`` lines at ``start + k * step`` on ``axis``."""

    layer: str
    axis: str  # "X": vertical lines at x coordinates; "Y": horizontal lines at y coordinates
    start: float
    num: int
    step: float

    def coordinates(self) -> np.ndarray:
        return self.start + self.step * np.arange(self.num, dtype=np.float64)


def _layer_number(name: str) -> tuple[int, str]:
    digits = re.findall(r"\d+", name)
    return (int(digits[-1]) if digits else 10**6, name)


def assumed_directions(layer_names: list[str]) -> dict[str, str]:
    """Preferred directions when no technology LEF is given: alternate, lowest layer horizontal.

    An assumption (true for Nangate45/FreePDK45, false for ASAP7 and SKY130, whose lowest
    routing layer is vertical): callers say so, and a LEF with real directions replaces it.
    """
    return {name: ("HORIZONTAL" if k % 2 == 0 else "VERTICAL") for k, name in enumerate(ordered_layers(layer_names))}


def grid_from_lines(
    die: tuple[float, float, float, float], x_lines: list[np.ndarray], y_lines: list[np.ndarray]
) -> GcellGrid:
    """Gcell grid from DEF ``GCELLGRID`` line coordinates (microns), closed by the die edges."""
    x0, y0, x1, y1 = die

    def edges(lines: list[np.ndarray], lo: float, hi: float) -> np.ndarray:
        inner = np.concatenate(lines) if lines else np.empty(0)
        inner = inner[(inner > lo + 1e-9) & (inner < hi - 1e-9)]
        return np.unique(np.concatenate([[lo], inner, [hi]]))

    return GcellGrid(edges(x_lines, x0, x1), edges(y_lines, y0, y1))


def ordered_layers(layer_names: list[str]) -> list[str]:
    """DEF layer names bottom to top by their trailing number (``metal10`` above ``metal9``)."""
    return sorted(set(layer_names), key=_layer_number)


def derived_grid_step(layers_bottom_up: list[str], x_spacing: dict[str, float], gcell_tracks: int) -> float:
    """Gcell side: ``gcell_tracks`` x-track spacings of the third routing layer (the top one if fewer)."""
    usable = [name for name in layers_bottom_up if name in x_spacing]
    layer = usable[min(2, len(usable) - 1)]
    return gcell_tracks * x_spacing[layer]


def track_capacity(
    grid: GcellGrid,
    die: tuple[float, float, float, float],
    directions: dict[str, str],
    tracks: list[TrackPattern],
    lef_pitches: dict[str, float],
) -> RoutingCapacity:
    """Per-gcell track counts ``(nx, ny)`` for horizontal and vertical layers (see module docstring)."""
    x0, y0, x1, y1 = die
    nx, ny = grid.shape
    horizontal = np.zeros(ny, dtype=np.float64)  # per gcell row: same for every column
    vertical = np.zeros(nx, dtype=np.float64)  # per gcell column
    for layer, direction in directions.items():
        axis = "Y" if direction == "HORIZONTAL" else "X"
        patterns = [t for t in tracks if t.layer == layer and t.axis == axis]
        lo, hi = (y0, y1) if axis == "Y" else (x0, x1)
        if patterns:
            coords = np.unique(np.concatenate([p.coordinates() for p in patterns]))
        elif layer in lef_pitches:
            coords = np.arange(lo, hi, lef_pitches[layer])
        else:
            continue
        coords = coords[(coords >= lo) & (coords < hi)]
        edges = grid.y_edges if axis == "Y" else grid.x_edges
        counts = np.histogram(coords, bins=edges)[0]
        if axis == "Y":
            horizontal += counts
        else:
            vertical += counts
    return RoutingCapacity(
        horizontal=np.broadcast_to(horizontal[None, :], (nx, ny)).astype(np.float32),
        vertical=np.broadcast_to(vertical[:, None], (nx, ny)).astype(np.float32),
    )
