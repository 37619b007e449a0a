"""Write predictions to disk: csv, npy or json, chosen by the output file's extension.

For ``--out pred.EXT`` two files are written:

* ``pred.EXT``, per cell: csv ``name,prediction``; npy a ``(N,)`` float32 array in node order;
  json ``{"design", "label_reduce", "cells": {"name": value, ...}}``.
* ``pred.gcell.EXT``, the per-gcell map: csv ``gx,gy,x0,y0,x1,y1,prediction,covered`` (microns,
  one row per gcell); npy the ``(nx, ny)`` float32 map indexed ``[x, y]``; json
  ``{"shape", "x_edges", "y_edges", "values" (nested [x][y]), "covered"}``.

Each file is written to a temporary name and renamed, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import IO

import numpy as np

from gsr_eda.atomic import atomic_open
from gsr_eda.errors import InputError
from gsr_eda.predict.core import DesignPrediction

FORMATS = (".csv", ".npy", ".json")


def gcell_path(out: Path) -> Path:
    """``pred.csv`` -> ``pred.gcell.csv``."""
    return out.with_name(f"{out.stem}.gcell{out.suffix}")


def _atomic(path: Path, binary: bool, write: Callable[[IO], None]) -> None:
    with atomic_open(path, "wb" if binary else "w", **({} if binary else {"newline": ""})) as fh:
        write(fh)


def check_output_path(out: Path) -> None:
    """Refuse an unknown format (by extension) or a folder that does not exist."""
    if out.suffix.lower() not in FORMATS:
        raise InputError(f"unknown output format {out.suffix or '(none)'!r}; use .csv, .npy or .json", out)
    if not out.parent.exists():
        raise InputError("output folder does not exist", out.parent)


def write_prediction(pred: DesignPrediction, out: str | Path) -> tuple[Path, Path]:
    """Write the per-cell and per-gcell files; return their paths."""
    out = Path(out)
    check_output_path(out)
    ext = out.suffix.lower()
    grid_path = gcell_path(out)
    design = pred.design
    names = [str(n) for n in design.node_names]
    xe, ye = design.grid.x_edges, design.grid.y_edges
    if ext == ".npy":
        _atomic(out, True, lambda fh: np.save(fh, pred.cells.astype(np.float32)))
        _atomic(grid_path, True, lambda fh: np.save(fh, pred.gcell_map.astype(np.float32)))
    elif ext == ".csv":

        def cells_csv(fh):
            w = csv.writer(fh)
            w.writerow(["name", "prediction"])
            w.writerows(zip(names, (f"{v:.6g}" for v in pred.cells)))

        def grid_csv(fh):
            w = csv.writer(fh)
            w.writerow(["gx", "gy", "x0", "y0", "x1", "y1", "prediction", "covered"])
            nx, ny = pred.gcell_map.shape
            for gx in range(nx):
                for gy in range(ny):
                    w.writerow(
                        [
                            gx,
                            gy,
                            f"{xe[gx]:.4f}",
                            f"{ye[gy]:.4f}",
                            f"{xe[gx + 1]:.4f}",
                            f"{ye[gy + 1]:.4f}",
                            f"{pred.gcell_map[gx, gy]:.6g}",
                            int(pred.covered[gx, gy]),
                        ]
                    )

        _atomic(out, False, cells_csv)
        _atomic(grid_path, False, grid_csv)
    else:
        cells_doc = {
            "design": design.name,
            "label_reduce": pred.label_reduce,
            "cells": dict(zip(names, (round(float(v), 7) for v in pred.cells))),
        }
        grid_doc = {
            "design": design.name,
            "label_reduce": pred.label_reduce,
            "shape": list(pred.gcell_map.shape),
            "x_edges": [float(v) for v in xe],
            "y_edges": [float(v) for v in ye],
            "values": np.round(pred.gcell_map.astype(np.float64), 7).tolist(),
            "covered": pred.covered.astype(int).tolist(),
        }
        _atomic(out, False, lambda fh: json.dump(cells_doc, fh))
        _atomic(grid_path, False, lambda fh: json.dump(grid_doc, fh))
    return out, grid_path
