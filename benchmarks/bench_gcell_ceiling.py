"""The best gcell map a cell-level model can give: each design's exact cell labels mapped onto its
gcells (as predict maps predictions: the label's max or mean over the standard cells covering a
gcell), scored against the gcell label, next to RUDY's gcell map.

    python benchmarks/bench_gcell_ceiling.py [--store build/bench_quality/proxy.h5]

A model that predicted every cell exactly would score this gcell Pearson, so it bounds the gcell
column of bench_quality.py for every cell-level model.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from scipy.stats import pearsonr

from gsr_eda.predict.core import gcell_map_of_cells
from gsr_eda.store import GraphStore
from gsr_eda.train.baselines import score_baselines

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=REPO / "build" / "bench_quality" / "proxy.h5")
    args = parser.parse_args()
    print("| design | gcells | exact cell labels, mapped | RUDY |")
    print("|---|---:|---:|---:|")
    ceilings = []
    with GraphStore(args.store) as store:
        for name in sorted(store.designs):
            record = store.read(name)
            mapped, covered = gcell_map_of_cells(record.design, record.cell_labels, record.label_reduce)
            ceiling = float(pearsonr(mapped[covered], record.gcell_labels[covered])[0])
            baselines = score_baselines(
                record.design,
                record.cell_labels,
                record.gcell_labels,
                covered,
                reduce=record.label_reduce,
                label_is_proxy=record.label_is_proxy,
            )
            rudy = baselines["rudy"]["gcells"]["pearson"]
            ceilings.append(ceiling)
            print(f"| {name} | {int(covered.sum()):,} | {ceiling:.3f} | {rudy:.3f} |")
    print(f"| mean | | {np.mean(ceilings):.3f} | |")


if __name__ == "__main__":
    main()
