"""Prediction quality of GSR-GNN against RevGNN, GCN and GraphSAGE on real designs (a benchmark, not a test).

Tasks (data from ../shared/data, proxy labels: the real CircuitNet label maps are not included):

* ``circuitnet``: train on zero-riscy-b (9276 placement), test on zero-riscy-a (7157 placement).
* ``aes``: asap7 ``aes_place`` with a seeded 70/15/15 node split; the test nodes are scored.

There is no model selection: every model runs the same fixed number of epochs (the same budget)
and is scored once at the end.

Every configuration runs in its own process (so peak RSS is its own), with the same encoder,
head, normalisation, loss (MSE on standardised targets), AdamW and cosine schedule as
``gsr-eda train``. Reported: Pearson, Spearman, Kendall, R^2 on the test cells, seconds per
epoch (forward + backward + step, one step per training design per epoch) and peak RSS.

    python benchmarks/bench_quality.py --tasks aes circuitnet --epochs 30 \
        --configs gcn:2 gcn:4 sage:2 sage:4 revgnn:16 gsr:16:8 gsr:16:16 revgnn:64 gsr:64:8 gsr:64:16

Configs are ``model:layers`` or ``gsr:layers:k``. The machine's load changes timings: say so.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CN_ROOT = DATA / "circuitnet"
CN_TRAIN = ("zero-riscy-b-1-c2", "9276-zero-riscy-b-1-c2-u0.85-m1-p1-f1")
CN_TEST = ("zero-riscy-a-1-c2", "7157-zero-riscy-a-1-c2-u0.8-m1-p1-f0")
ASAP7 = DATA / "openroad" / "asap7"


def build_stores(cache: Path, reingest: bool) -> dict[str, Path]:
    """Ingest the benchmark designs once (gsr-eda ingest, proxy labels) into ``cache``.

    Stores already there are reused, and say so on stderr: a store ingested by an older
    version keeps that version's features and labels (a cache from before the proxy label
    was settled scored every model at Pearson ~0.1 on aes instead of ~0.6).
    """
    cache.mkdir(parents=True, exist_ok=True)
    exe = str(Path(sys.executable).with_name("gsr-eda"))
    stores = {"circuitnet": cache / "circuitnet.h5", "aes": cache / "aes.h5"}
    for path in stores.values():
        if reingest:
            path.unlink(missing_ok=True)
        elif path.exists():
            stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
            print(f"reusing {path} (ingested {stamp}); --reingest after changes to ingest or labels",
                  file=sys.stderr)
    if not stores["circuitnet"].exists():
        cmd = [exe, "ingest", "circuitnet", "--root", str(CN_ROOT), "--store", str(stores["circuitnet"])]
        for base, sample in (CN_TRAIN, CN_TEST):
            cmd += ["--design", base, "--placement", str(CN_ROOT / "instance_placement_gcell" / f"{sample}.npy")]
        subprocess.run(cmd, check=True)
    if not stores["aes"].exists():
        subprocess.run(
            [exe, "ingest", "design", "--def", str(ASAP7 / "aes_place.def"),
             "--lef", str(ASAP7 / "asap7_tech_1x_201209.lef"), "--lef", str(ASAP7 / "asap7sc7p5t_28_R_1x_220121a.lef"),
             "--store", str(stores["aes"]), "--name", "aes_place"],
            check=True,
        )
    return stores


def worker(args: argparse.Namespace) -> dict:
    """Train one configuration for a fixed number of epochs and score the test cells."""
    import numpy as np
    import torch

    from gsr_eda.bench.memory import peak_rss_bytes
    from gsr_eda.models import ADJACENCY_NORMALIZATION, build_model
    from gsr_eda.ops import CSRAdjacency
    from gsr_eda.store import GraphStore
    from gsr_eda.train.metrics import regression_metrics
    from gsr_eda.predict.normalization import Standardizer
    from gsr_eda.train.splits import TEST, TRAIN, seeded_node_mask

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    with GraphStore(args.store) as store:
        names = sorted(store.designs)
        records = {n: store.read(n) for n in names}
    if args.task == "circuitnet":
        train_names = [n for n in names if "zero-riscy-b" in n]
        test_names = [n for n in names if "zero-riscy-a" in n]
        masks = {n: None for n in names}
    else:
        train_names = test_names = names
        masks = {n: seeded_node_mask(n, records[n].num_nodes, args.seed, 0.15, 0.15) for n in names}

    def select(values, name, split):
        m = masks[name]
        return values if m is None else values[m == split]

    std = Standardizer.fit(
        [select(records[n].features, n, TRAIN) for n in train_names],
        [select(records[n].cell_labels, n, TRAIN) for n in train_names],
    )
    graphs = {
        n: (std.features(r.features), std.target(r.cell_labels),
            CSRAdjacency.from_csr(r.indptr, r.indices, r.num_nodes, normalization=ADJACENCY_NORMALIZATION))
        for n, r in records.items()
    }
    model = build_model(args.model, len(records[names[0]].feature_names), hidden=args.hidden, layers=args.layers,
                        groups=2, k=args.k, dropout=args.dropout)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs, eta_min=args.lr * 0.01)
    epoch_seconds = []
    for _ in range(args.epochs):
        started = time.perf_counter()
        model.train()
        for n in train_names:
            x, y, adj = graphs[n]
            optimizer.zero_grad(set_to_none=True)
            m = masks[n]
            out = model(x, adj)
            keep = None if m is None else torch.from_numpy(m == TRAIN)
            loss = torch.nn.functional.mse_loss(out if keep is None else out[keep], y if keep is None else y[keep])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        scheduler.step()
        epoch_seconds.append(time.perf_counter() - started)
    model.eval()
    preds, targets = [], []
    with torch.no_grad():
        for n in test_names:
            x, _, adj = graphs[n]
            preds.append(select(std.untarget(model(x, adj)), n, TEST))
            targets.append(select(records[n].cell_labels, n, TEST))
    metrics = regression_metrics(np.concatenate(preds), np.concatenate(targets))
    return {
        "task": args.task, "model": args.model, "layers": args.layers, "k": args.k if args.model == "gsr" else None,
        "hidden": args.hidden, "epochs": args.epochs, "dropout": args.dropout, "seed": args.seed,
        "final_train_loss": float(loss),
        **{key: metrics[key] for key in ("pearson", "spearman", "kendall", "r2", "n")},
        # The first epoch includes one-off costs (graph preparation caches): report the median.
        "seconds_per_epoch": float(np.median(epoch_seconds)),
        "peak_rss_mb": peak_rss_bytes() / 2**20,
    }


def parse_config(text: str) -> tuple[str, int, int]:
    parts = text.split(":")
    return parts[0], int(parts[1]), int(parts[2]) if len(parts) > 2 else 8


def markdown(rows: list[dict]) -> str:
    head = "| task | model | layers | k | Pearson | Spearman | Kendall | R^2 | s/epoch | peak RSS (MB) | epochs |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['task']} | {r['model']} | {r['layers']} | | failed: {r['error']} | | | | | | |")
            continue
        lines.append(
            f"| {r['task']} | {r['model']} | {r['layers']} | {r['k'] or ''} | {r['pearson']:.4f} | {r['spearman']:.4f} "
            f"| {r['kendall']:.4f} | {r['r2']:.4f} | {r['seconds_per_epoch']:.2f} | {r['peak_rss_mb']:.0f} | {r['epochs']} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tasks", nargs="+", default=["aes", "circuitnet"], choices=["aes", "circuitnet"])
    p.add_argument("--configs", nargs="+",
                   default=["gcn:2", "gcn:4", "sage:2", "sage:4", "revgnn:16", "gsr:16:8", "gsr:16:16",
                            "revgnn:64", "gsr:64:8", "gsr:64:16"])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dropout", type=float, default=0.0, help="Dropout of every model (same for all).")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--cache", type=Path, default=REPO / "build" / "bench_quality")
    p.add_argument("--reingest", action="store_true", help="Re-ingest the cached stores.")
    p.add_argument("--out", type=Path, default=None, help="Append rows to this JSON-lines file.")
    p.add_argument("--timeout", type=int, default=3600, help="Seconds per configuration.")
    # Internal: one configuration in this process.
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--task", help=argparse.SUPPRESS)
    p.add_argument("--store", help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--layers", type=int, help=argparse.SUPPRESS)
    p.add_argument("--k", type=int, default=8, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    if not DATA.is_dir():
        sys.exit(f"benchmark data not found at {DATA}")
    stores = build_stores(args.cache, args.reingest)
    rows = []
    for task in args.tasks:
        for config in args.configs:
            model, layers, k = parse_config(config)
            cmd = [sys.executable, __file__, "--worker", "--task", task, "--store", str(stores[task]), "--model", model,
                   "--layers", str(layers), "--k", str(k), "--epochs", str(args.epochs), "--hidden", str(args.hidden),
                   "--lr", str(args.lr), "--seed", str(args.seed), "--threads", str(args.threads),
                   "--dropout", str(args.dropout)]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
                if proc.returncode == 0:
                    row = json.loads(proc.stdout.strip().splitlines()[-1])
                else:
                    last = (proc.stderr.strip().splitlines() or ["no message"])[-1][:120]
                    row = {"task": task, "model": model, "layers": layers, "error": f"exit {proc.returncode}: {last}"}
            except subprocess.TimeoutExpired:
                row = {"task": task, "model": model, "layers": layers, "error": f"timeout after {args.timeout}s"}
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.out:
                with open(args.out, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
    print(markdown(rows))


if __name__ == "__main__":
    main()
