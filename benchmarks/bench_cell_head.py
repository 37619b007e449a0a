"""Would a head on the cells, like the gcell head, lift held-out cell Pearson? A linear probe per fold.

The gcell head (gsr_eda.predict.gcell_head) adds RUDY, pin RUDY and density at each gcell to the
model's mapped value and raised the held-out gcell map by 0.05-0.06. This probe asks the same of
the cells: per leave-one-design-out fold it fits one least-squares map from

* ``model + rudy``: the model's cell prediction and the cell's ``rudy_max`` feature;
* ``model + free``: the same plus ``rudy_mean``, ``pin_rudy_max`` and ``density_max``;
* ``free``: the four free features alone (no model);

to the cell label, each column and the label standardised per design. Like the gcell head it is
fitted on the fold's *validation* design, which the model never trained on, and scored on the
held-out test design. The runs come from ``bench_quality.py --keep-runs DIR``:

    python benchmarks/bench_quality.py --task proxy --configs gsr:16:8 --keep-runs build/runs
    python benchmarks/bench_cell_head.py --runs build/runs/gsr-16-8 --store build/bench_quality/proxy.h5
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.stats import pearsonr

from gsr_eda.predict import load_predictor, predict_design
from gsr_eda.predict.gcell_head import zscore
from gsr_eda.store import GraphStore

#: The free per-cell features the probe may add, as stored by ingest; the first is RUDY.
FREE_FEATURES = ("rudy_max", "rudy_mean", "pin_rudy_max", "density_max")
#: Probe name -> columns of :func:`cell_inputs` (0 is the model).
PROBES = {"model + rudy": [0, 1], "model + free": [0, 1, 2, 3, 4], "free": [1, 2, 3, 4]}


def cell_inputs(predictor, record) -> tuple[np.ndarray, np.ndarray]:
    """``(inputs (N, 5), label (N,))``: the model's cells, then :data:`FREE_FEATURES`, per design standardised."""
    pred = predict_design(predictor, record.design, record.indptr, record.indices, record.features)
    names = list(record.feature_names)
    columns = [pred.cells] + [record.features[:, names.index(name)] for name in FREE_FEATURES]
    as_float = [np.asarray(c, dtype=np.float64) for c in columns]
    return np.stack([zscore(c) for c in as_float], axis=1), zscore(np.asarray(record.cell_labels, np.float64))


def fold_row(run_dir: Path, store: GraphStore) -> dict:
    """The probes on the fold trained in ``run_dir``, fitted on its validation design."""
    config = json.loads((run_dir / "config.json").read_text())
    test, val = config["test_designs"][0], config["val_designs"][0]
    predictor = load_predictor(run_dir / "best.pt")
    (x_val, y_val), (x_test, y_test) = (cell_inputs(predictor, store.read(name)) for name in (val, test))
    row = {"test": test, "val": val}
    row["model"] = float(pearsonr(x_test[:, 0], y_test)[0])
    row["rudy"] = float(pearsonr(x_test[:, 1], y_test)[0])
    for name, columns in PROBES.items():
        weights, *_ = np.linalg.lstsq(x_val[:, columns], y_val, rcond=None)
        row[name] = float(pearsonr(x_test[:, columns] @ weights, y_test)[0])
        row[f"{name} weights"] = [round(float(w), 3) for w in weights]
    return row


def markdown(rows: list[dict]) -> str:
    names = ["model", "rudy", *PROBES]
    lines = ["| held-out design | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for row in rows:
        lines.append(f"| {row['test']} | " + " | ".join(f"{row[n]:.3f}" for n in names) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{np.mean([r[n] for r in rows]):.3f}**" for n in names) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, required=True, help="one configuration's run folders (--keep-runs)")
    parser.add_argument("--store", type=Path, required=True, help="the store the runs were trained on")
    parser.add_argument("--out", type=Path, help="write the rows here (JSON lines)")
    args = parser.parse_args()
    with GraphStore(args.store) as store:
        rows = [fold_row(run, store) for run in sorted(p for p in args.runs.iterdir() if (p / "best.pt").exists())]
    print(markdown(rows))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("".join(json.dumps(row) + "\n" for row in rows))


if __name__ == "__main__":
    main()
