"""Why GSR-GNN did not transfer to unseen designs: one change at a time, scored on a held-out design.

A small, self-contained training loop (the trainer's model, loss, AdamW and cosine schedule, no
early stopping) so that input and target transforms the trainer does not offer can be tried:

* ``--drop x_norm,y_norm``: leave stored features out (the absolute die position);
* ``--feature-norm design``: standardise each design's features with its own statistics
  instead of the training set's;
* ``--target design`` / ``rank``: standardise each design's labels on their own, or train on
  uniform ranks (the targets' scale per design);
* ``--log1p``: ``log(1 + x)`` of the size, degree and map features;
* ``--extra util``: capacity-normalised directional RUDY (horizontal, vertical and their max);
  ``--extra smooth``: RUDY and density averaged over 5 x 5 and 15 x 15 gcells.

It trains on every design of ``--stores`` but the test design (chosen by a substring of its
name) and prints one JSON line: the arguments and, every 10 epochs, ``(epoch, seconds, cells
Pearson, gcells Pearson, cells Spearman)`` on the test design. The results behind
docs/training.md ("Unseen designs") came from

    python benchmarks/bench_transfer_ablations.py --stores cn.h5 aes.h5 gcd.h5 --test zero-riscy-a \\
        --drop x_norm,y_norm [--feature-norm design] [--target design] [--log1p] [--extra util,smooth]

with ``cn.h5`` holding CircuitNet zero-riscy-a and -b, ``aes.h5`` asap7 aes_place and ``gcd.h5``
sky130hd gcd, each ``gsr-eda ingest`` with its default options (proxy labels).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from scipy.ndimage import uniform_filter
from scipy.stats import rankdata

from gsr_eda.design import cells_from_gcell_map
from gsr_eda.design.gcell import box_sum_map
from gsr_eda.graph.gcell_maps import MapContext, _net_extent, cell_density_map, rudy_maps
from gsr_eda.labels import DEFAULT_TRACKS_PER_GCELL
from gsr_eda.models import ADJACENCY_NORMALIZATION, build_model
from gsr_eda.ops import CSRAdjacency
from gsr_eda.predict.core import gcell_map_of_cells
from gsr_eda.predict.normalization import column_moments
from gsr_eda.store import GraphStore
from gsr_eda.train.metrics import regression_metrics

LOG_FEATURES = {
    "width", "height", "area", "pin_count", "net_count", "net_degree_mean", "net_degree_max", "rudy_max",
    "rudy_mean", "pin_rudy_max", "pin_rudy_mean", "density_max", "density_mean",
}  # fmt: skip


def directional_utilisation(design) -> list[np.ndarray]:
    """Per cell, the max over its span of RUDY's horizontal, vertical and busier-direction use of capacity."""
    ctx = MapContext.of(design)
    nx, ny = design.grid.shape
    gx, gy = design.grid.locate(design.x.take(ctx.pin_node) + ctx.pin_dx, design.y.take(ctx.pin_node) + ctx.pin_dy)
    gx0, gx1 = _net_extent(ctx, gx)
    gy0, gy1 = _net_extent(ctx, gy)
    w, h = gx1 - gx0 + 1.0, gy1 - gy0 + 1.0
    boxes = np.stack([gx0, gy0, gx1, gy1], 1)
    demand_h = box_sum_map(boxes, (w - 1) / (w * h), (nx, ny))
    demand_v = box_sum_map(boxes, (h - 1) / (w * h), (nx, ny))
    if design.capacity is not None:
        cap_h, cap_v = design.capacity.horizontal, design.capacity.vertical
    else:
        cap_h = cap_v = np.full((nx, ny), DEFAULT_TRACKS_PER_GCELL)
    use_h = np.divide(demand_h, cap_h, out=demand_h.copy(), where=cap_h > 0)
    use_v = np.divide(demand_v, cap_v, out=demand_v.copy(), where=cap_v > 0)
    spans = design.gcell_spans()
    return [cells_from_gcell_map(m, spans, "max") for m in (use_h, use_v, np.maximum(use_h, use_v))]


def smoothed_maps(design) -> list[np.ndarray]:
    """Per cell, the mean over its span of RUDY and density averaged over 5 x 5 and 15 x 15 gcells."""
    rudy, _ = rudy_maps(design, design.x, design.y)
    density = cell_density_map(design, design.x, design.y)
    spans = design.gcell_spans()
    return [
        cells_from_gcell_map(uniform_filter(m, size, mode="constant"), spans, "mean")
        for m in (rudy, density)
        for size in (5, 15)
    ]


def inputs(record, args: argparse.Namespace) -> np.ndarray:
    """The raw feature matrix of one design under the ablation's choices."""
    names = record.feature_names
    keep = [i for i, f in enumerate(names) if f not in args.drop.split(",")]
    x = record.features[:, keep].astype(np.float64)
    if args.log1p:
        for j, i in enumerate(keep):
            if names[i] in LOG_FEATURES:
                x[:, j] = np.log1p(np.maximum(x[:, j], 0))
    extra = []
    if "util" in args.extra:
        extra += directional_utilisation(record.design)
    if "smooth" in args.extra:
        extra += smoothed_maps(record.design)
    return np.concatenate([x, np.stack(extra, 1)], 1) if extra else x


def standardise(values: dict[str, np.ndarray], fit_on: list[str], per_design: bool) -> dict[str, np.ndarray]:
    """Column-standardised copies, with each design's own statistics or the pooled ``fit_on`` ones
    (the trainer's rule for a constant column: :func:`gsr_eda.predict.normalization.column_moments`)."""
    pooled = None if per_design else column_moments(np.concatenate([values[n] for n in fit_on]))
    out = {}
    for name, v in values.items():
        mean, std = column_moments(v) if pooled is None else pooled
        out[name] = (v - mean) / std
    return out


def targets(labels: dict[str, np.ndarray], fit_on: list[str], mode: str) -> dict[str, np.ndarray]:
    if mode == "rank":
        return {n: (rankdata(y) / len(y) - 0.5) * np.sqrt(12) for n, y in labels.items()}
    columns = {n: y[:, None].astype(np.float64) for n, y in labels.items()}
    return {n: z[:, 0] for n, z in standardise(columns, fit_on, per_design=mode == "design").items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--stores", nargs="+", required=True)
    p.add_argument("--test", required=True, help="Substring of the held-out design's name.")
    p.add_argument("--model", default="gsr")
    p.add_argument("--layers", type=int, default=16)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--k", type=int, default=8)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--drop", default="")
    p.add_argument("--feature-norm", default="global", choices=["global", "design"])
    p.add_argument("--target", default="global", choices=["global", "design", "rank"])
    p.add_argument("--log1p", action="store_true")
    p.add_argument("--extra", default="", help="util and/or smooth, comma-separated")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    records = {}
    for path in args.stores:
        with GraphStore(path) as store:
            records.update((n, store.read(n)) for n in store.designs)
    test = next(n for n in records if args.test in n)
    train = [n for n in records if n != test]
    x = standardise({n: inputs(r, args) for n, r in records.items()}, train, args.feature_norm == "design")
    y = targets({n: r.cell_labels for n, r in records.items()}, train, args.target)
    graphs = {
        n: (torch.tensor(x[n], dtype=torch.float32), torch.tensor(y[n], dtype=torch.float32),
            CSRAdjacency.from_csr(r.indptr, r.indices, r.num_nodes, normalization=ADJACENCY_NORMALIZATION))
        for n, r in records.items()
    }  # fmt: skip
    model = build_model(args.model, x[test].shape[1], hidden=args.hidden, layers=args.layers, groups=2, k=args.k)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs, eta_min=args.lr * 0.01)

    @torch.no_grad()
    def score() -> tuple[float, float, float]:
        model.eval()
        features, _, adj = graphs[test]
        out = model(features, adj).numpy()
        record = records[test]
        gmap, covered = gcell_map_of_cells(record.design, out, "max")
        cells = regression_metrics(out, record.cell_labels)
        gcells = regression_metrics(gmap[covered], record.gcell_labels[covered])
        model.train()
        return round(cells["pearson"], 3), round(gcells["pearson"], 3), round(cells["spearman"], 3)

    started, curve = time.perf_counter(), []
    for epoch in range(args.epochs):
        for name in np.random.default_rng([args.seed, epoch]).permutation(train):
            features, target, adj = graphs[name]
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(features, adj), target)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        schedule.step()
        if (epoch + 1) % 10 == 0 or epoch + 1 == args.epochs:
            curve.append((epoch + 1, round(time.perf_counter() - started, 1), *score()))
    print(json.dumps({"args": vars(args), "test": test, "curve": curve}))


if __name__ == "__main__":
    main()
