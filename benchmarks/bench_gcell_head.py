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
from pathlib import Path

import numpy as np
from scipy.stats import pearsonr
from sklearn.linear_model import LinearRegression

from gsr_eda.predict import load_predictor, predict_design
from gsr_eda.store import GraphStore
from gsr_eda.train.baselines import baseline_maps

REPO = Path(__file__).resolve().parents[1]
BASELINE_INPUTS = ("rudy", "pin_rudy", "density")


def zscore(values: np.ndarray) -> np.ndarray:
    """``values`` standardised over themselves (a constant column becomes zeros)."""
    std = values.std()
    return (values - values.mean()) / std if std > 0 else np.zeros_like(values)


def gcell_inputs(predictor, record) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(inputs (G, 4), label (G,), model map (G,))`` over the design's covered gcells; the
    columns are the baselines of BASELINE_INPUTS, then the model's mapped prediction."""
    pred = predict_design(predictor, record.design, record.indptr, record.indices, record.features)
    maps = baseline_maps(record.design, label_is_proxy=record.label_is_proxy)
    covered = pred.covered
    model_map = pred.gcell_map[covered].astype(np.float64)
    columns = [zscore(maps[name][covered].astype(np.float64)) for name in BASELINE_INPUTS] + [zscore(model_map)]
    return np.stack(columns, axis=1), zscore(record.gcell_labels[covered].astype(np.float64)), model_map


def fold_row(run_dir: Path, store: GraphStore) -> dict:
    """The probe on the fold trained in ``run_dir``."""
    config = json.loads((run_dir / "config.json").read_text())
    test, val = config["test_designs"][0], config["val_designs"][0]
    predictor = load_predictor(run_dir / "best.pt")
    fit_x, fit_y, _ = gcell_inputs(predictor, store.read(val))
    test_x, test_y, test_model = gcell_inputs(predictor, store.read(test))
    baselines = slice(0, len(BASELINE_INPUTS))
    row = {
        "test": test,
        "fitted_on": val,
        "model_map": float(pearsonr(test_model, test_y)[0]),
        "rudy": float(pearsonr(test_x[:, 0], test_y)[0]),
    }
    for name, cols in (("head_baselines", baselines), ("head_baselines_model", slice(None))):
        head = LinearRegression().fit(fit_x[:, cols], fit_y)
        row[name] = float(pearsonr(head.predict(test_x[:, cols]), test_y)[0])
        row[f"{name}_weights"] = [round(float(w), 3) for w in head.coef_]
    return row


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
