#!/usr/bin/env python
r"""The cell-net graph against the homogeneous ones: training step time and memory, and quality.

**step**: one full training step (forward, backward, ``AdamW.step``) of the whole model
(encoder, body, head; MSE on the design's standardised proxy label) on CircuitNet zero-riscy-a
(38,656 cells; 39,532 net nodes with 152,165 pin edges; the capped clique has 300,818 nnz),
ingested once with ``--net-model cell-net``, so ``gsr`` runs on the capped clique of the same
store. Every configuration runs in its own child process (its peak RSS, ``VmHWM``, is its own),
the configurations are interleaved ``--repeats`` times, and the median step of each is
reported next to its ratio to ``gsr`` at the same depth in the same run: on a shared machine
only the ratios within one run compare. Configurations: ``gsr`` (capped clique),
``gsr-cellnet`` (sequential), ``gsr-cellnet:concurrent`` (the two relation products of each group
on two threads, half the OpenMP threads each; off by default), ``hetero-sage``.

**profile**: the seconds a step spends in each kernel of the compute core, ``gsr`` against
``gsr-cellnet`` (sequential), in one process.

**quality**: the leave-one-design-out protocol of ``benchmarks/bench_quality.py`` (same
designs, folds, trainer, epochs and scoring next to RUDY), with each configuration on a store
of its own net model: ``gsr:16:8@capped-clique``, ``gsr:16:8@star``, ``gsr-cellnet:16:8``
(``@cell-net`` implied for the cell-net models), ``hetero-sage:4``; ``model:layers:k``. Each fold runs in a child
process through ``bench_quality.py``'s worker (the trainer builds each model's graph input
with :func:`gsr_eda.models.inputs.model_graph`).

    python benchmarks/bench_cellnet.py step --layers 16,64 --repeats 2 \
        --out benchmarks/results/cellnet/step.json
    python benchmarks/bench_cellnet.py quality --configs gsr:16:8@capped-clique gsr:16:8@star \
        gsr-cellnet:16:8 hetero-sage:4 --epochs 30 --out benchmarks/results/cellnet/quality.jsonl
    python benchmarks/bench_cellnet.py profile --threads 1 --out benchmarks/results/cellnet/profile.json
    python benchmarks/bench_cellnet.py table --quality benchmarks/results/cellnet/quality.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import bench_quality  # the leave-one-design-out protocol: designs, folds, worker, tables

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "build" / "bench_cellnet"
STEP_DESIGN = "7157-zero-riscy-a-1-c2-u0.8-m1-p1-f0"
CELLNET_MODELS = ("gsr-cellnet", "hetero-sage")


# ------------------------------------------------------------------------------------ stores


def store_for(net_model: str, cache: Path, designs: dict[str, list[str]] | None = None) -> Path:
    """A store of the proxy task's designs (or ``designs``) ingested with ``net_model`` (cached)."""
    from gsr_eda.store import GraphStore

    cache.mkdir(parents=True, exist_ok=True)
    commands = designs if designs is not None else bench_quality.ingest_commands("proxy")
    store = cache / f"{'proxy' if designs is None else 'step'}-{net_model}.h5"
    present: set[str] = set()
    if store.exists():
        with GraphStore(store) as gs:
            present = set(gs.designs)
    exe = str(Path(sys.executable).with_name("gsr-eda"))
    for name, argv in commands.items():
        if name not in present:
            cmd = [exe, "ingest", *argv, "--store", str(store), "--net-model", net_model]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return store


# -------------------------------------------------------------------------------------- step


def model_and_graph(spec: str, record, args: argparse.Namespace) -> tuple:
    """The seeded model of ``spec`` (``model[:concurrent][:netW][:placeG]``, ``W`` the net state width, ``G``
    the groups with the placement relation) and its graph input."""
    import torch

    from gsr_eda.models import build_model, model_graph
    from gsr_eda.models.gsr_cellnet import default_placement_groups

    name, *options = spec.split(":")
    net_hidden = next((int(o.removeprefix("net")) for o in options if o.startswith("net")), None)
    placement_groups = next((int(o.removeprefix("place")) for o in options if o.startswith("place")), None)
    if placement_groups is None:
        placement_groups = default_placement_groups(args.placement_neighbours)
    torch.manual_seed(0)
    graph = model_graph(name, record, "cpu", placement_neighbours=args.placement_neighbours)
    model = build_model(
        name,
        record.features.shape[1],
        hidden=args.hidden,
        layers=args.layers,
        groups=2,
        k=args.k,
        net_hidden=net_hidden,
        placement_groups=placement_groups if name in CELLNET_MODELS else 0,
    )
    if name == "gsr-cellnet":  # explicit either way (the model default is sequential)
        model.body.stack.concurrent = "concurrent" in options
    return model, graph


def step_child(args: argparse.Namespace) -> dict:
    """Median training step of one configuration, in this process."""
    import numpy as np
    import torch

    from gsr_eda.bench.memory import current_rss_bytes, peak_rss_bytes
    from gsr_eda.store import GraphStore

    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    with GraphStore(args.store) as gs:
        record = gs.read(args.design)
    features = record.features.astype(np.float64)
    x = torch.from_numpy(((features - features.mean(0)) / (features.std(0) + 1e-12)).astype(np.float32))
    y = torch.from_numpy((record.cell_labels - record.cell_labels.mean()) / record.cell_labels.std())
    model, graph = model_and_graph(args.model, record, args)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    del record
    before = current_rss_bytes()
    times, forward_times = [], []
    for step in range(args.steps + 1):  # the first step warms up (allocator, OpenMP team)
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(x, graph), y)
        forward = time.perf_counter()
        loss.backward()
        optimizer.step()
        end = time.perf_counter()
        if step:
            times.append(end - start)
            forward_times.append(forward - start)
    return {
        "model": args.model,
        "layers": args.layers,
        "hidden": args.hidden,
        "k": args.k if args.model.startswith("gsr") else None,
        "threads": args.threads,
        "cells": int(x.shape[0]),
        "net_nodes": getattr(graph, "num_nets", None),
        "placement_neighbours": args.placement_neighbours,
        "step_s": statistics.median(times),
        "forward_s": statistics.median(forward_times),
        "steps": times,
        "rss_before_mib": round(before / 2**20, 1),
        "peak_rss_mib": round(peak_rss_bytes() / 2**20, 1),
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def run_step(args: argparse.Namespace) -> None:
    from gsr_eda.bench.machine import machine_info

    commands = bench_quality.ingest_commands("proxy")
    store = store_for("cell-net", args.cache, {STEP_DESIGN: commands[STEP_DESIGN]})
    results: dict[tuple[str, int, int], list[dict]] = {}
    for repeat in range(args.repeats):
        for threads in args.threads:
            for layers in args.layers:
                for model in args.models:
                    if model == "hetero-sage" and layers > args.max_dense_layers:
                        continue
                    cmd = [sys.executable, __file__, "step-child", "--store", str(store), "--design", STEP_DESIGN]
                    cmd += ["--model", model, "--layers", str(layers), "--hidden", str(args.hidden)]
                    cmd += ["--k", str(args.k), "--steps", str(args.steps), "--threads", str(threads)]
                    cmd += ["--placement-neighbours", str(args.placement_neighbours)]
                    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
                    if proc.returncode != 0:
                        row = {"model": model, "layers": layers, "threads": threads}
                        row["error"] = (proc.stderr.strip().splitlines() or ["no message"])[-1][:200]
                    else:
                        row = json.loads(proc.stdout.strip().splitlines()[-1])
                    row["repeat"] = repeat
                    results.setdefault((model, layers, threads), []).append(row)
                    print(json.dumps({k: v for k, v in row.items() if k != "steps"}), flush=True)
    summary = []
    for (model, layers, threads), rows in results.items():
        ok = [r for r in rows if "error" not in r]
        if not ok:
            summary.append({"model": model, "layers": layers, "threads": threads, "error": rows[-1]["error"]})
            continue
        summary.append(
            {
                "model": model,
                "layers": layers,
                "threads": threads,
                "step_s": statistics.median(r["step_s"] for r in ok),
                "step_s_runs": [round(r["step_s"], 3) for r in ok],
                "forward_s": statistics.median(r["forward_s"] for r in ok),
                "peak_rss_mib": max(r["peak_rss_mib"] for r in ok),
                "rss_before_mib": max(r["rss_before_mib"] for r in ok),
            }
        )
    base = {(s["layers"], s["threads"]): s["step_s"] for s in summary if s["model"] == "gsr" and "step_s" in s}
    for s in summary:
        key = (s["layers"], s["threads"])
        if "step_s" in s and key in base:
            s["x_gsr_capped_clique"] = round(s["step_s"] / base[key], 3)
    doc = {
        "benchmark": "bench_cellnet step",
        "design": STEP_DESIGN,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "func"},
        "machine": machine_info(sys.argv),
        "summary": summary,
        "runs": [r for rows in results.values() for r in rows],
    }
    print(step_markdown(summary))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(doc, indent=1) + "\n")


def step_markdown(summary: list[dict]) -> str:
    lines = [
        "| model | layers | threads | step (s) | runs (s) | x gsr capped clique | forward (s) | peak RSS (MiB) |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for s in sorted(summary, key=lambda s: (s["layers"], s["threads"], s["model"])):
        if "error" in s:
            lines.append(f"| {s['model']} | {s['layers']} | {s['threads']} | failed: {s['error']} | | | | |")
            continue
        lines.append(
            f"| {s['model']} | {s['layers']} | {s['threads']} | {s['step_s']:.3f} | {', '.join(map(str, s['step_s_runs']))} "
            f"| {s.get('x_gsr_capped_clique', float('nan')):.2f} | {s['forward_s']:.3f} | {s['peak_rss_mib']:,.0f} |"
        )
    return "\n".join(lines)


def run_profile(args: argparse.Namespace) -> None:
    """Seconds per training step in each compute-core kernel (sequential relation products)."""
    import collections

    import numpy as np
    import torch

    from gsr_eda.ops import kernels
    from gsr_eda.store import GraphStore

    torch.set_num_threads(args.threads)
    spent: dict[str, float] = collections.defaultdict(float)
    for name in [n for n in dir(kernels) if n.endswith("_into")]:
        kernel = getattr(kernels, name)

        def timed(*a, _kernel=kernel, _name=name, **kw):
            start = time.perf_counter()
            _kernel(*a, **kw)
            spent[_name] += time.perf_counter() - start

        setattr(kernels, name, timed)  # the blocks call kernels.<name>: every call is timed
    commands = bench_quality.ingest_commands("proxy")
    store = store_for("cell-net", args.cache, {STEP_DESIGN: commands[STEP_DESIGN]})
    with GraphStore(store) as gs:
        record = gs.read(STEP_DESIGN)
    features = record.features.astype(np.float64)
    x = torch.from_numpy(((features - features.mean(0)) / (features.std(0) + 1e-12)).astype(np.float32))
    y = torch.randn(record.num_nodes)
    rows = []
    for repeat in range(args.repeats):
        for name in args.models.split(","):
            model, graph = model_and_graph(name, record, args)
            optimizer = torch.optim.AdamW(model.parameters())
            for step in range(args.steps + 1):
                if step == 1:
                    spent.clear()
                    start = time.perf_counter()
                optimizer.zero_grad(set_to_none=True)
                torch.nn.functional.mse_loss(model(x, graph), y).backward()
                optimizer.step()
            total = (time.perf_counter() - start) / args.steps
            row = {"model": name, "repeat": repeat, "step_s": round(total, 3)}
            row.update({k: round(v / args.steps, 3) for k, v in sorted(spent.items())})
            rows.append(row)
            print(json.dumps(row), flush=True)
    names = sorted({k for r in rows for k in r if k.endswith("_into")})
    lines = ["| model | repeat | step (s) | " + " | ".join(n.removesuffix("_into") for n in names) + " |"]
    lines.append("|---|---:|---:|" + "---:|" * len(names))
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['repeat']} | {r['step_s']} | " + " | ".join(str(r.get(n, "")) for n in names) + " |"
        )
    print("\n".join(lines))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"threads": args.threads, "layers": args.layers, "rows": rows}, indent=1) + "\n")


# ----------------------------------------------------------------------------------- quality


def parse_config(text: str) -> tuple[str, int, int, str, int | None]:
    """``model:layers[:k][:netW][@net-model]`` -> (model, layers, k, net model, net state width)."""
    spec, _, net_model = text.partition("@")
    parts = spec.split(":")
    model = parts[0]
    net_model = net_model or ("cell-net" if model in CELLNET_MODELS else "capped-clique")
    k = int(parts[2]) if len(parts) > 2 else 8
    net_hidden = int(parts[3].removeprefix("net")) if len(parts) > 3 else None
    return model, int(parts[1]), k, net_model, net_hidden


def run_quality(args: argparse.Namespace) -> None:
    configs = [parse_config(c) for c in args.configs]
    stores = {net: store_for(net, args.cache) for net in sorted({c[3] for c in configs})}
    from gsr_eda.store import GraphStore

    with GraphStore(next(iter(stores.values()))) as gs:
        names = sorted(gs.designs)
    for test, val in bench_quality.folds(names):
        if args.tests and test not in args.tests:
            continue
        for text, (model, layers, k, net_model, net_hidden) in zip(args.configs, configs):
            worker = ["--task", "proxy", "--store", str(stores[net_model]), "--test", test, "--model", model]
            if net_hidden is not None:
                worker += ["--net-hidden", str(net_hidden)]
            worker += ["--layers", str(layers), "--k", str(k), "--epochs", str(args.epochs)]
            worker += ["--patience", str(args.patience), "--hidden", str(args.hidden), "--seed", str(args.seed)]
            worker += ["--threads", str(args.threads), "--placement-neighbours", str(args.placement_neighbours)]
            if val is not None:
                worker += ["--val", val]
            started = time.perf_counter()
            row = bench_quality.run_worker(worker, args.timeout, {"test": test, "model": model, "layers": layers})
            row.update(config=text, net_model=net_model, k=k if model.startswith("gsr") else None)
            row["bench_seconds"] = round(time.perf_counter() - started, 1)
            print(json.dumps({k: v for k, v in row.items() if k not in ("baselines", "curve")}), flush=True)
            if args.out:
                args.out.parent.mkdir(parents=True, exist_ok=True)
                with open(args.out, "a") as fh:
                    fh.write(json.dumps(row) + "\n")


def quality_summary(rows: list[dict]) -> str:
    """Mean held-out Pearson per configuration over the folds it completed, with RUDY's on the same folds."""
    by_config: dict[str, list[dict]] = {}
    for r in rows:
        if "error" not in r:
            by_config.setdefault(r["config"], []).append(r)
    lines = [
        "| configuration | net model | folds | cells Pearson (mean) | gcells Pearson (mean) | RUDY cells / gcells "
        "(same folds) | per fold (cells) |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for config, group in by_config.items():
        cells = [r["cells"]["pearson"] for r in group]
        gcells = [r["gcells"]["pearson"] for r in group]
        rudy_c = [r["baselines"]["rudy"]["cells"]["pearson"] for r in group]
        rudy_g = [r["baselines"]["rudy"]["gcells"]["pearson"] for r in group]
        per_fold = ", ".join(
            f"{r['test'].split('-')[0] if r['test'][0].isdigit() else r['test']} {c:.2f}" for r, c in zip(group, cells)
        )
        lines.append(
            f"| {config} | {group[0]['net_model']} | {len(group)} | {statistics.mean(cells):.3f} "
            f"| {statistics.mean(gcells):.3f} | {statistics.mean(rudy_c):.3f} / {statistics.mean(rudy_g):.3f} "
            f"| {per_fold} |"
        )
    failed = [r for r in rows if "error" in r]
    for r in failed:
        lines.append(
            f"| {r.get('config', r['model'])} | {r.get('net_model', '')} | failed on {r['test']}: {r['error']} | | | | |"
        )
    return "\n".join(lines)


def add_placement_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--placement-neighbours",
        type=int,
        default=bench_quality.trainer_default("placement_neighbours"),
        help="gsr-eda train --placement-neighbours of every configuration: joined to the capped clique of "
        "gsr, the cell -> cell relation of the cell-net models (0: the netlist alone); recorded.",
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("step", help="Step time and peak memory at each depth.")
    s.add_argument("--layers", type=lambda t: [int(v) for v in t.split(",")], default=[16, 64])
    s.add_argument(
        "--models",
        type=lambda t: t.split(","),
        default=["gsr", "gsr-cellnet", "gsr-cellnet:concurrent", "hetero-sage"],
    )
    s.add_argument("--hidden", type=int, default=128)
    s.add_argument("--k", type=int, default=8)
    s.add_argument("--steps", type=int, default=3)
    s.add_argument("--repeats", type=int, default=2, help="Interleaved runs of every configuration.")
    s.add_argument("--threads", type=lambda t: [int(v) for v in t.split(",")], default=[2])
    s.add_argument(
        "--max-dense-layers",
        type=int,
        default=64,
        help="hetero-sage keeps every activation: skip it above this depth.",
    )
    add_placement_option(s)
    s.add_argument("--timeout", type=int, default=1800)
    s.add_argument("--cache", type=Path, default=CACHE)
    s.add_argument("--out", type=Path, default=None)
    c = sub.add_parser("step-child", help=argparse.SUPPRESS)
    for name, kind in (("--store", str), ("--design", str), ("--model", str)):
        c.add_argument(name, type=kind, required=True)
    for name in ("--layers", "--hidden", "--k", "--steps", "--threads", "--placement-neighbours"):
        c.add_argument(name, type=int, required=True)
    f = sub.add_parser("profile", help="Seconds per step in each kernel, gsr against gsr-cellnet.")
    f.add_argument("--layers", type=int, default=16)
    f.add_argument("--models", default="gsr,gsr-cellnet", help="Comma-separated, as step's --models.")
    f.add_argument("--hidden", type=int, default=128)
    f.add_argument("--k", type=int, default=8)
    f.add_argument("--steps", type=int, default=2)
    f.add_argument("--repeats", type=int, default=2)
    f.add_argument("--threads", type=int, default=1)
    add_placement_option(f)
    f.add_argument("--cache", type=Path, default=CACHE)
    f.add_argument("--out", type=Path, default=None)
    q = sub.add_parser("quality", help="Leave-one-design-out quality per configuration and net model.")
    q.add_argument("--configs", nargs="+", default=["gsr:16:8@capped-clique", "gsr-cellnet:16:8", "hetero-sage:4"])
    q.add_argument("--tests", nargs="*", default=None)
    q.add_argument("--epochs", type=int, default=30)
    q.add_argument("--patience", type=int, default=10)
    q.add_argument("--hidden", type=int, default=128)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--threads", type=int, default=2)
    add_placement_option(q)
    q.add_argument("--timeout", type=int, default=3600)
    q.add_argument("--cache", type=Path, default=CACHE)
    q.add_argument("--out", type=Path, default=None)
    t = sub.add_parser("table", help="Print the tables of result files.")
    t.add_argument("--quality", type=Path, default=None)
    t.add_argument("--step", type=Path, default=None)
    args = p.parse_args()
    if args.command == "step-child":
        print(json.dumps(step_child(args)))
    elif args.command == "step":
        run_step(args)
    elif args.command == "quality":
        run_quality(args)
    elif args.command == "profile":
        run_profile(args)
    elif args.command == "table":
        if args.step:
            print(step_markdown(json.loads(args.step.read_text())["summary"]))
        if args.quality:
            rows = [json.loads(line) for line in args.quality.read_text().splitlines() if line.strip()]
            named = [  # bench_quality's table names a row by model: add the net model to it
                {**r, "model": f"{r['model']}@{r['net_model']}"} for r in rows if "error" not in r
            ]
            print(quality_summary(rows) + "\n\n" + bench_quality.markdown(named))


if __name__ == "__main__":
    main()
