"""One congestion estimate: per-cell scores, the per-gcell map, and how to write them out."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gsr_eda.design import GcellGrid


@dataclass(frozen=True)
class CongestionEstimate:
    """The model's answer for one placement.

    ``cell_scores[i]`` is the predicted congestion label of cell ``i`` (session order);
    ``gcell_map[gx, gy]`` is the per-gcell map built from the cell scores with the reduction the
    checkpoint's labels were made with (``label_reduce``: each gcell takes the max or mean over
    the cells covering it; gcells no cell covers are 0). ``reused`` is true when the session
    answered from its previous estimate because no cell had moved half a gcell. Hotspot
    fractions are over ``covered`` gcells, as in ``gsr-eda predict``.
    """

    cell_scores: np.ndarray  # (N,) float32
    gcell_map: np.ndarray  # (nx, ny) float32
    grid: GcellGrid
    node_names: np.ndarray
    covered: np.ndarray  # (nx, ny) bool: gcells at least one cell's box touches
    reused: bool
    seconds: float

    def hotspots(self, threshold: float) -> np.ndarray:
        """Indices of the cells whose score is strictly above ``threshold``, worst first."""
        idx = np.flatnonzero(self.cell_scores > threshold)
        return idx[np.argsort(-self.cell_scores[idx], kind="stable")]

    def summary(self, threshold: float) -> dict[str, float | int | bool]:
        """Flat statistics, the body of the server's ``estimate`` reply."""
        scores = self.cell_scores
        covered = int(np.count_nonzero(self.covered))
        hot_gcells = int(np.count_nonzero(self.gcell_map[self.covered] > threshold))
        return {
            "cells": int(scores.size),
            "max": float(scores.max()) if scores.size else 0.0,
            "mean": float(scores.mean()) if scores.size else 0.0,
            "p99": float(np.percentile(scores, 99)) if scores.size else 0.0,
            "threshold": float(threshold),
            "hotspot_cells": int(np.count_nonzero(scores > threshold)),
            "hotspot_gcells": hot_gcells,
            "hotspot_fraction": hot_gcells / covered if covered else 0.0,
            "gcells_x": int(self.gcell_map.shape[0]),
            "gcells_y": int(self.gcell_map.shape[1]),
            "reused": bool(self.reused),
            "model_ms": round(self.seconds * 1e3, 3),
        }

    def write_cells(self, path: str | Path) -> Path:
        """Write ``instance<TAB>score`` lines (one header comment), atomically."""
        lines = ["# instance\tcongestion\n"]
        lines.extend(f"{name}\t{score:.6g}\n" for name, score in zip(self.node_names, self.cell_scores.tolist()))
        return _write_atomically(Path(path), "".join(lines))

    def write_gcells(self, path: str | Path) -> Path:
        """Write ``gx,gy,x0,y0,x1,y1,congestion`` rows (microns), every gcell, atomically."""
        nx, ny = self.gcell_map.shape
        gx, gy = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
        gx, gy = gx.ravel(), gy.ravel()
        xe, ye = self.grid.x_edges, self.grid.y_edges
        rows = np.column_stack([xe[gx], ye[gy], xe[gx + 1], ye[gy + 1], self.gcell_map.ravel()])
        body = "\n".join(
            f"{a},{b},{x0:.6g},{y0:.6g},{x1:.6g},{y1:.6g},{v:.6g}"
            for a, b, (x0, y0, x1, y1, v) in zip(gx.tolist(), gy.tolist(), rows.tolist())
        )
        return _write_atomically(Path(path), "gx,gy,x0,y0,x1,y1,congestion\n" + body + "\n")


def _write_atomically(path: Path, text: str) -> Path:
    """Write to a temporary file beside ``path`` and rename it, so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
