"""The result files of an estimate: the template writer against plain row-by-row formatting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gsr_eda.design import GcellGrid
from gsr_eda.flow.estimate import CongestionEstimate, ResultLayout


def _row_by_row(est: CongestionEstimate) -> tuple[str, str]:
    """The files as a direct formatting of every row (the writers' specification)."""
    cells = "# instance\tcongestion\n" + "".join(
        f"{name}\t{score:.6g}\n" for name, score in zip(est.node_names, est.cell_scores.tolist())
    )
    xe, ye = est.grid.x_edges, est.grid.y_edges
    nx, ny = est.gcell_map.shape
    gcells = "gx,gy,x0,y0,x1,y1,congestion\n" + "".join(
        f"{gx},{gy},{xe[gx]:.6g},{ye[gy]:.6g},{xe[gx + 1]:.6g},{ye[gy + 1]:.6g},{float(est.gcell_map[gx, gy]):.6g}\n"
        for gx in range(nx)
        for gy in range(ny)
    )
    return cells, gcells


@pytest.mark.parametrize("shared_layout", [False, True])
def test_files_equal_row_by_row_formatting(tmp_path: Path, shared_layout: bool):
    rng = np.random.default_rng(0)
    names = np.array(["u1", "100%", "a%sb", "x\\[3\\]", "é", "%%d"])
    grid = GcellGrid.uniform(-1.5, 2.0, 7.123456789, 9.0, 1.1, 3.3)
    scores = np.array([0.5, -0.0, np.inf, np.nan, 1e-7, 123456789.0], dtype=np.float32)
    gmap = (rng.normal(size=grid.shape) * 10.0 ** rng.integers(-8, 8, grid.shape)).astype(np.float32)
    layout = ResultLayout(names, grid) if shared_layout else None
    for _ in range(2):  # a shared layout is built once, then reused
        est = CongestionEstimate(scores, gmap, grid, names, gmap > 0, False, 0.0, layout=layout)
        cells, gcells = _row_by_row(est)
        assert est.write_cells(tmp_path / "r.cells.tsv").read_text(encoding="utf-8") == cells
        assert est.write_gcells(tmp_path / "r.gcells.csv").read_text(encoding="utf-8") == gcells
        scores = scores[::-1].copy()
