"""Does a linear model on the stored features transfer to unseen designs, pooled or per-design?

A ridge regression, no network: for each labelled design of the store, fit on all the others
and score the held-out cells' Pearson, with the features (and labels) standardised either with
statistics pooled over the training designs or with each design's own; optionally with the
mean of each feature over a node's 1- and 2-hop netlist neighbours appended (what message
passing could add linearly). The findings behind ``--feature-scale design`` (docs/training.md,
"Unseen designs") came from

    python benchmarks/bench_linear_transfer.py --store build/bench_quality/proxy.h5

(the store ``bench_quality.py --task proxy`` builds). Prints one Markdown table.
"""

from __future__ import annotations

import argparse

import numpy as np
import scipy.sparse as sp

from gsr_eda.predict.normalization import column_moments
from gsr_eda.store import GraphStore
from gsr_eda.train.trainer import DEFAULT_IGNORED_FEATURES


def standardise(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``x`` standardised with the column statistics of ``ref`` (the trainer's rule)."""
    mean, std = column_moments(ref)
    return (x - mean) / std


def neighbour_means(record, x: np.ndarray, hops: int) -> list[np.ndarray]:
    """``[A_hat x, A_hat^2 x, ...]`` with ``A_hat`` the row-normalised netlist adjacency."""
    n = record.num_nodes
    adj = sp.csr_matrix((np.ones(len(record.indices)), record.indices, record.indptr), shape=(n, n))
    degree = np.maximum(np.asarray(adj.sum(1)).ravel(), 1.0)
    out, h = [], x
    for _ in range(hops):
        h = (adj @ h) / degree[:, None]
        out.append(h)
    return out


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def held_out_scores(records: dict, scale: str, hops: int, ridge: float) -> dict[str, float]:
    columns = [j for j, f in enumerate(next(iter(records.values())).feature_names) if f not in DEFAULT_IGNORED_FEATURES]
    raw = {n: r.features[:, columns].astype(np.float64) for n, r in records.items()}
    labels = {n: r.cell_labels.astype(np.float64)[:, None] for n, r in records.items()}
    scores = {}
    for test in records:
        train = [n for n in records if n != test]
        ref_x = (
            {n: raw[n] for n in records}
            if scale == "design"
            else dict.fromkeys(records, np.concatenate([raw[n] for n in train]))
        )
        ref_y = labels if scale == "design" else dict.fromkeys(records, np.concatenate([labels[n] for n in train]))
        x = {}
        for n in records:
            z = standardise(raw[n], ref_x[n])
            x[n] = np.hstack([z, *neighbour_means(records[n], z, hops)])
        xs = np.concatenate([x[n] for n in train])
        ys = np.concatenate([standardise(labels[n], ref_y[n])[:, 0] for n in train])
        weights = np.linalg.solve(xs.T @ xs + ridge * np.eye(xs.shape[1]), xs.T @ (ys - ys.mean()))
        scores[test] = pearson(x[test] @ weights, labels[test][:, 0])
    return scores


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--store", required=True, help="A graph store with three or more labelled designs.")
    p.add_argument("--ridge", type=float, default=10.0, help="L2 penalty of the regression.")
    args = p.parse_args()
    with GraphStore(args.store) as store:
        records = {n: store.read(n) for n in store.designs}
    records = {n: r for n, r in records.items() if r.cell_labels is not None}
    names = list(records)
    print("| statistics | neighbour hops | " + " | ".join(names) + " | mean |")
    print("|---|---:|" + "---:|" * (len(names) + 1))
    for scale in ("pooled", "design"):
        for hops in (0, 1, 2):
            scores = held_out_scores(records, scale, hops, args.ridge)
            row = " | ".join(f"{scores[n]:.3f}" for n in names)
            print(f"| {scale} | {hops} | {row} | {np.mean(list(scores.values())):.3f} |")


if __name__ == "__main__":
    main()
