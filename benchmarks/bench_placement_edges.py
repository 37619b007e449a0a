#!/usr/bin/env python
"""Placement neighbours as graph edges: does message passing over the die beat more netlist hops?

``bench_label_locality.py`` found that the nets congesting a cell's gcell are rarely the cell's
own and are reached through the netlist only at depths that reach most of the design. This
experiment adds each cell's ``K`` nearest cells on the die (by centre, Euclidean) to the stored
capped-clique adjacency, symmetrised and without duplicates, and runs the leave-one-design-out
protocol of ``bench_quality.py`` (same folds, worker, scoring next to RUDY) on stores so
augmented. The edges are added to the store record, so the trainer and the held-out scoring see
the same graph.

    python benchmarks/bench_placement_edges.py --knn 0 8 --configs gsr:16:8 sage:2 \\
        --out benchmarks/results/quality/lodo_proxy_placement_edges.jsonl

``--step`` instead times one full training step (forward, backward, AdamW; median of
``--steps`` after a warm-up) of GSR-GNN k 8 on zero-riscy-a's graph with and without the
neighbours, at 16 and 64 layers (``--layers``, ``--hidden``), each configuration in its own process:

    python benchmarks/bench_placement_edges.py --step --knn 0 8 --out benchmarks/results/quality/placement_edges_step.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import bench_quality  # the leave-one-design-out protocol: designs, folds, worker
import numpy as np

from gsr_eda.graph.placement_edges import add_placement_neighbours, node_centres

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "build" / "bench_placement_edges"


def with_placement_edges(record, k: int):
    """``record`` with each node joined to its ``k`` nearest nodes on the die (symmetric, no duplicates)."""
    indptr, indices = add_placement_neighbours(record.indptr, record.indices, node_centres(record.design), k)
    return replace(record, indptr=indptr, indices=indices, metadata=dict(record.metadata, placement_neighbours=k))


def store_with_edges(k: int, cache: Path) -> Path:
    """The proxy benchmark's store with ``k`` placement neighbours per node (cached; 0: as stored)."""
    from gsr_eda.store import GraphStore
    from gsr_eda.store.writer import write_designs

    source, _ = bench_quality.build_store("proxy", bench_quality.REPO / "build" / "bench_quality", False, None)
    if k == 0:
        return source
    path = cache / f"proxy-knn{k}.h5"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        with GraphStore(source) as gs:
            records = [with_placement_edges(gs.read(name), k) for name in sorted(gs.designs)]
        write_designs(path, records)
    return path


STEP_DESIGN = "7157-zero-riscy-a-1-c2-u0.8-m1-p1-f0"


def step_child(k: int, layers: int, steps: int, threads: int, hidden: int) -> dict:
    """Median training step of GSR-GNN k 8 (``layers`` deep, ``hidden`` wide) with ``k`` placement neighbours."""
    import statistics

    import torch

    from gsr_eda.models import build_model, model_graph
    from gsr_eda.store import GraphStore

    torch.manual_seed(0)
    torch.set_num_threads(threads)
    source, _ = bench_quality.build_store("proxy", bench_quality.REPO / "build" / "bench_quality", False, None)
    with GraphStore(source) as gs:
        record = gs.read(STEP_DESIGN)
    features = record.features.astype(np.float64)
    x = torch.from_numpy(((features - features.mean(0)) / (features.std(0) + 1e-12)).astype(np.float32))
    y = torch.from_numpy((record.cell_labels - record.cell_labels.mean()) / record.cell_labels.std())
    built = time.perf_counter()
    graph = model_graph("gsr", record, "cpu", placement_neighbours=k)
    graph_seconds = time.perf_counter() - built
    model = build_model("gsr", x.shape[1], hidden=hidden, layers=layers, k=8)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    times = []
    for step in range(steps + 1):  # the first step warms up
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(x, graph), y).backward()
        optimizer.step()
        if step:
            times.append(time.perf_counter() - start)
    return {
        "knn": k,
        "layers": layers,
        "hidden": hidden,
        "threads": threads,
        "nnz": graph.nnz,
        "graph_s": round(graph_seconds, 3),
        "step_s": statistics.median(times),
        "steps": times,
    }


def run_steps(args: argparse.Namespace) -> None:
    """Every (k, layers) in its own process, interleaved ``--repeats`` times."""
    from gsr_eda.bench.machine import machine_info

    rows = []
    for repeat in range(args.repeats):
        for layers in args.layers:
            for k in args.knn:
                cmd = [
                    sys.executable,
                    __file__,
                    "--step-child",
                    str(k),
                    str(layers),
                    str(args.steps),
                    str(args.threads),
                    str(args.hidden),
                ]
                proc = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=args.timeout)
                row = json.loads(proc.stdout.strip().splitlines()[-1]) | {"repeat": repeat}
                print(json.dumps({key: v for key, v in row.items() if key != "steps"}), flush=True)
                rows.append(row)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"machine": machine_info(sys.argv), "rows": rows}, indent=1) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--knn", type=int, nargs="+", default=[0, 8], help="placement neighbours per node (0: none)")
    parser.add_argument("--configs", nargs="+", default=["gsr:16:8"])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tests", nargs="*", default=None, help="only these held-out designs")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--timeout", type=int, default=3600)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--step", action="store_true", help="time training steps instead of quality")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--layers", type=int, nargs="+", default=[16, 64], help="depths (--step)")
    parser.add_argument("--step-child", nargs=5, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step_child:
        print(json.dumps(step_child(*args.step_child)))
        return
    if args.step:
        run_steps(args)
        return
    from gsr_eda.store import GraphStore

    stores = {k: store_with_edges(k, args.cache) for k in args.knn}
    with GraphStore(stores[args.knn[0]]) as gs:
        names = sorted(gs.designs)
    for test, val in bench_quality.folds(names):
        if args.tests and test not in args.tests:
            continue
        for k, store in stores.items():
            for text in args.configs:
                model, layers, top_k, _ = bench_quality.parse_config(text)
                worker = ["--task", "proxy", "--store", str(store), "--test", test, "--model", model]
                worker += ["--layers", str(layers), "--k", str(top_k), "--epochs", str(args.epochs)]
                worker += ["--hidden", str(args.hidden), "--seed", str(args.seed), "--threads", str(args.threads)]
                if val is not None:
                    worker += ["--val", val]
                started = time.perf_counter()
                identity = {"test": test, "model": model, "layers": layers}
                row = bench_quality.run_worker(worker, args.timeout, identity)
                row.update(config=text, placement_neighbours=k, bench_seconds=round(time.perf_counter() - started, 1))
                print(json.dumps({key: v for key, v in row.items() if key not in ("baselines", "curve")}), flush=True)
                if args.out:
                    args.out.parent.mkdir(parents=True, exist_ok=True)
                    with open(args.out, "a") as fh:
                        fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
