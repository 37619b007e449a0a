"""Would an output on the gcell grid beat RUDY's gcell map? A linear head, fitted per fold, as a probe.

Today's gcell map is the max (or mean) of the cell predictions over the standard cells covering
each gcell, and that mapping caps it (bench_gcell_ceiling.py). This probe fits, per
leave-one-design-out fold, one linear map from per-gcell inputs to the gcell label:

* ``baselines``: RUDY, pin RUDY and cell density at the gcell;
* ``baselines + model``: the same plus the model's mapped gcell value;
* with ``--windows 3,5,9``, ``windowed``: the same four plus their means over square windows of
  those many gcells around each gcell (spatial context for a linear head).

Each input and the label are standardised per design over its covered gcells. The head is fitted
on the fold's *validation* design, which the model never trained on, so the model's input there
is as honest as on the test design. It is scored on the held-out test design against the model's
own map and RUDY's. The runs come from ``bench_quality.py --keep-runs DIR``:

    python benchmarks/bench_quality.py --task proxy --configs gsr:16:8 --keep-runs build/runs
    python benchmarks/bench_gcell_head.py --runs build/runs/gsr-16-8
    python benchmarks/bench_gcell_head.py --runs build/runs/gsr-16-8 --windows 3,5,9
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter
from scipy.stats import pearsonr

from gsr_eda.graph.features import position_maps
from gsr_eda.predict import load_predictor, predict_design
from gsr_eda.predict.gcell_head import HEAD_INPUTS, GcellHead, head_inputs, zscore
from gsr_eda.store import GraphStore

REPO = Path(__file__).resolve().parents[1]
#: head_inputs' columns: RUDY, pin RUDY, density, then the model's mapped value.
BASELINE_COLUMNS = slice(0, 3)


def gcell_inputs(predictor, record, windows: tuple[int, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """``(inputs (G, 4 + 4 * len(windows)), label (G,))`` over the design's covered gcells, from
    the model's *mapped* cells (a run trained with a gcell head has it left out here). Columns:
    head_inputs' four, then each of them averaged over each window (uncovered gcells count 0)."""
    design, spans = record.design, record.design.gcell_spans()
    pred = predict_design(
        replace(predictor, gcell_head=None), design, record.indptr, record.indices, record.features, spans=spans
    )
    maps = position_maps(design, design.x, design.y, spans=spans)
    covered = pred.covered
    columns = [head_inputs(maps, pred.gcell_map, covered)]
    grids = [np.asarray(m, np.float64) for m in maps[: len(HEAD_INPUTS) - 1]]
    grids.append(np.where(covered, pred.gcell_map, 0.0).astype(np.float64))
    for size in windows:
        means = [uniform_filter(grid, size=size, mode="constant")[covered] for grid in grids]
        columns.append(np.stack([zscore(m) for m in means], axis=1))
    return np.concatenate(columns, axis=1), record.gcell_labels[covered]


def _pearson_of_head(fit: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], cols: slice) -> float:
    """Fit a linear head on ``fit``'s columns ``cols`` and score it on ``test``."""
    head = GcellHead.fit([(fit[0][:, cols], fit[1])])
    return float(pearsonr(test[0][:, cols] @ np.asarray(head.weights), test[1])[0])


def fold_row(run_dir: Path, store: GraphStore, windows: tuple[int, ...] = ()) -> dict:
    """The probe on the fold trained in ``run_dir``."""
    config = json.loads((run_dir / "config.json").read_text())
    test, val = config["test_designs"][0], config["val_designs"][0]
    predictor = load_predictor(run_dir / "best.pt")
    fit = gcell_inputs(predictor, store.read(val), windows)
    held_out = gcell_inputs(predictor, store.read(test), windows)
    point = slice(0, len(HEAD_INPUTS))
    row = {
        "test": test,
        "fitted_on": val,
        "model_map": float(pearsonr(held_out[0][:, 3], held_out[1])[0]),
        "rudy": float(pearsonr(held_out[0][:, 0], held_out[1])[0]),
        "head_baselines": _pearson_of_head(fit, held_out, BASELINE_COLUMNS),
        "head_baselines_model": _pearson_of_head(fit, held_out, point),
    }
    if windows:
        row["windows"] = list(windows)
        row["head_windowed"] = _pearson_of_head(fit, held_out, slice(None))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, required=True, help="bench_quality.py --keep-runs DIR/<configuration>.")
    parser.add_argument("--store", type=Path, default=REPO / "build" / "bench_quality" / "proxy.h5")
    parser.add_argument("--out", type=Path, default=None, help="Write the rows to this JSON-lines file.")
    parser.add_argument("--windows", default="", help="Comma-separated window sizes in gcells, e.g. 3,5,9.")
    args = parser.parse_args()
    windows = tuple(int(w) for w in args.windows.split(",") if w)
    rows = []
    with GraphStore(args.store) as store:
        for run_dir in sorted(p for p in args.runs.iterdir() if (p / "best.pt").exists()):
            rows.append(fold_row(run_dir, store, windows))
    keys = ["model_map", "rudy", "head_baselines", "head_baselines_model"] + (["head_windowed"] if windows else [])
    titles = ["model's map", "RUDY", "head: baselines", "head: baselines + model"]
    titles += [f"head: + windows {args.windows}"] if windows else []
    print("| held-out design (head fitted on) | " + " | ".join(titles) + " |")
    print("|---|" + "---:|" * len(keys))
    for r in rows:
        print(f"| {r['test']} ({r['fitted_on']}) | " + " | ".join(f"{r[k]:.3f}" for k in keys) + " |")
    print("| **mean** | " + " | ".join(f"{np.mean([r[k] for r in rows]):.3f}" for k in keys) + " |")
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
