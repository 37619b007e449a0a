"""Would an output on the gcell grid beat RUDY's gcell map? A linear head, fitted per fold, as a probe.

Today's gcell map is the max (or mean) of the cell predictions over the standard cells covering
each gcell, and that mapping caps it (bench_gcell_ceiling.py). This probe fits, per
leave-one-design-out fold, one linear map from per-gcell inputs to the gcell label:

* ``baselines``: RUDY, pin RUDY and cell density at the gcell;
* ``baselines + model``: the same plus the model's mapped gcell value.

Each input and the label are standardised per design over its covered gcells. The head is fitted
on the fold's *validation* design, which the model never trained on, so the model's input there
is as honest as on the test design. It is scored on the held-out test design against the model's
own map and RUDY's. The runs come from ``bench_quality.py --keep-runs DIR``:

    python benchmarks/bench_quality.py --task proxy --configs gsr:16:8 --keep-runs build/runs
    python benchmarks/bench_gcell_head.py --runs build/runs/gsr-16-8
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from scipy.stats import pearsonr

from gsr_eda.graph.features import position_maps
from gsr_eda.predict import load_predictor, predict_design
from gsr_eda.predict.gcell_head import GcellHead, head_inputs
from gsr_eda.store import GraphStore

REPO = Path(__file__).resolve().parents[1]
#: head_inputs' columns: RUDY, pin RUDY, density, then the model's mapped value.
BASELINE_COLUMNS = slice(0, 3)


def gcell_inputs(predictor, record) -> tuple[np.ndarray, np.ndarray]:
    """``(inputs (G, 4), label (G,))`` over the design's covered gcells, from the model's *mapped*
    cells (a run trained with a gcell head has it left out here)."""
    design, spans = record.design, record.design.gcell_spans()
    pred = predict_design(
        replace(predictor, gcell_head=None), design, record.indptr, record.indices, record.features, spans=spans
    )
    maps = position_maps(design, design.x, design.y, spans=spans)
    return head_inputs(maps, pred.gcell_map, pred.covered), record.gcell_labels[pred.covered]


def _pearson_of_head(fit: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], cols: slice) -> float:
    """Fit a linear head on ``fit``'s columns ``cols`` and score it on ``test``."""
    head = GcellHead.fit([(fit[0][:, cols], fit[1])])
    return float(pearsonr(test[0][:, cols] @ np.asarray(head.weights), test[1])[0])


def fold_row(run_dir: Path, store: GraphStore) -> dict:
    """The probe on the fold trained in ``run_dir``."""
    config = json.loads((run_dir / "config.json").read_text())
    test, val = config["test_designs"][0], config["val_designs"][0]
    predictor = load_predictor(run_dir / "best.pt")
    fit, held_out = gcell_inputs(predictor, store.read(val)), gcell_inputs(predictor, store.read(test))
    return {
        "test": test,
        "fitted_on": val,
        "model_map": float(pearsonr(held_out[0][:, 3], held_out[1])[0]),
        "rudy": float(pearsonr(held_out[0][:, 0], held_out[1])[0]),
        "head_baselines": _pearson_of_head(fit, held_out, BASELINE_COLUMNS),
        "head_baselines_model": _pearson_of_head(fit, held_out, slice(None)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=Path, required=True, help="bench_quality.py --keep-runs DIR/<configuration>.")
    parser.add_argument("--store", type=Path, default=REPO / "build" / "bench_quality" / "proxy.h5")
    parser.add_argument("--out", type=Path, default=None, help="Write the rows to this JSON-lines file.")
    args = parser.parse_args()
    rows = []
    with GraphStore(args.store) as store:
        for run_dir in sorted(p for p in args.runs.iterdir() if (p / "best.pt").exists()):
            rows.append(fold_row(run_dir, store))
    print("| held-out design (head fitted on) | model's map | RUDY | head: baselines | head: baselines + model |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['test']} ({r['fitted_on']}) | {r['model_map']:.3f} | {r['rudy']:.3f} "
            f"| {r['head_baselines']:.3f} | {r['head_baselines_model']:.3f} |"
        )
    keys = ("model_map", "rudy", "head_baselines", "head_baselines_model")
    print("| **mean** | " + " | ".join(f"{np.mean([r[k] for r in rows]):.3f}" for k in keys) + " |")
    if args.out:
        args.out.write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
