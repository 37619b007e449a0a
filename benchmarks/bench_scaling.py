#!/usr/bin/env python
r"""Scaling study of one GSR layer: time and memory of forward + backward as the graph grows.

Two sweeps, each point measured in its own child process (so the peak memory is its own):

* **size**: synthetic circuit-like graphs from 10k to 1M cells at constant average degree
  (capped-clique net model, cap 8, the default of ``gsr-eda ingest``), ``k`` fixed;
* **degree**: CircuitNet zero-riscy-a under the capped-clique (cap 8) and full-clique net
  models, at several ``k``.

The GSR layer's sparse work is the CBSR aggregation and its sampled backward, ``O(nnz k)``
(plus ``O(N k d)`` dense work for the weight product and ``O(N d)`` for LayerNorm and top-k).
The study fits

.. math::  t = c_0 + c_1\, \mathrm{nnz}\cdot k + c_2\, N

by least squares over all points, reports :math:`c_1` (time per nonzero per kept entry) and the
:math:`R^2`, and the log-log slope of time against ``nnz * k`` along the size sweep (1.0 means
linear). Output: ``scaling.json``, ``scaling.md`` and ``scaling.png`` in ``--out``.

Synthetic graphs are generated here, not with ``gsr-eda synth`` (whose per-net Python objects
are too slow at 1M cells), from the same fan-out law as the synthetic generator: every cell
drives one net whose sinks are placement neighbours, one buffer per 2,000 cells drives a
high-fan-out net of 100-300 pins anywhere on the die, and a clock net reaches every tenth
cell. Cells are numbered in placement order, so "neighbours" are nearby indices.

Usage::

    python benchmarks/bench_scaling.py --out benchmarks/results/scaling
    python benchmarks/bench_scaling.py --sizes 10000,30000 --k 8 --degree-k 8 --out /tmp/scaling  # quick
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CIRCUITNET = REPO.parent / "shared" / "data" / "circuitnet"
ZERO_RISCY_A = ("zero-riscy-a-1-c2", "7157-zero-riscy-a-1-c2-u0.8-m1-p1-f0.npy")


# --------------------------------------------------------------------------- graphs


def build_graph(point: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, int]:
    """CSR ``(indptr, indices, N)`` of a point's graph."""
    from gsr_eda.graph import build_adjacency

    if point["graph"] == "synthetic":
        from gsr_eda.synth.graphs import circuit_netlist, netlist_design

        num_cells = int(point["cells"])
        net_ptr, pin_node = circuit_netlist(num_cells, seed=int(point.get("seed", 0)))
        design = netlist_design(num_cells, net_ptr, pin_node)
    else:
        from gsr_eda.ingest import read_circuitnet_design

        base, placement = ZERO_RISCY_A
        design, _ = read_circuitnet_design(point["root"], base, placement)
    indptr, indices = build_adjacency(design, net_model=point["net_model"], cap=8)
    return indptr, indices, design.num_nodes


# --------------------------------------------------------------------------- one point (child)


def measure_point(point: dict[str, Any]) -> dict[str, Any]:
    """Forward + backward of one GSR layer on the point's graph: medians and peak memory."""
    import torch

    from gsr_eda.bench.memory import PeakRssMeter
    from gsr_eda.nn import GSRStack
    from gsr_eda.ops import CSRAdjacency

    if point.get("threads"):
        torch.set_num_threads(int(point["threads"]))
    torch.manual_seed(0)
    indptr, indices, num_nodes = build_graph(point)
    adjacency = CSRAdjacency.from_csr(indptr, indices, num_nodes, normalization="mean")
    hidden, k = int(point["hidden"]), int(point["k"])
    x = torch.randn(num_nodes, hidden, requires_grad=True)
    upstream = torch.randn(num_nodes, hidden)
    layer = GSRStack(hidden, 1, groups=int(point["groups"]), k=k)

    def run_once() -> tuple[float, float]:
        t0 = time.perf_counter()
        out = layer(x, adjacency)
        t1 = time.perf_counter()
        out.backward(upstream)
        t2 = time.perf_counter()
        x.grad = None
        layer.zero_grad(set_to_none=True)
        return t1 - t0, t2 - t1

    run_once()  # warm-up: workspaces, thread pools
    meter = PeakRssMeter()
    meter.start()
    times = [run_once() for _ in range(int(point["repeats"]))]
    peak = meter.stop()
    forward = statistics.median(t[0] for t in times)
    backward = statistics.median(t[1] for t in times)
    return {
        **point,
        "nodes": int(num_nodes),
        "nnz": int(len(indices)),
        "avg_degree": len(indices) / max(num_nodes, 1),
        "max_degree": int(np.diff(indptr).max()),
        "forward_s": forward,
        "backward_s": backward,
        "time_s": statistics.median(sum(t) for t in times),
        "peak_rss_bytes": int(peak),
        "memory_method": meter.method,
        "torch_threads": torch.get_num_threads(),
    }


def run_point(point: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """Measure ``point`` in a child process of this script."""
    from gsr_eda.bench.runner import run_child

    child = run_child([sys.executable, __file__, "--point", json.dumps(point)], timeout_s)
    if child.killed_for == "timeout":
        return {**point, "status": "timeout", "message": f"killed after {timeout_s:g} s"}
    if child.returncode != 0:
        # A crash (even at exit, after printing) means the point is not trustworthy.
        tail = child.output.strip().splitlines()[-1:]
        return {**point, "status": "error", "message": child.how_it_ended() + (f": {tail[0]}" if tail else "")}
    result = child.printed_result()
    result["status"] = "ok"
    result["wall_s"] = child.wall_s
    return result


# --------------------------------------------------------------------------- analysis


def fit(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Least squares ``t = c0 + c1 nnz k + c2 N`` and the size sweep's log-log slope."""
    ok = [p for p in points if p.get("status") == "ok"]
    summary: dict[str, Any] = {}
    if len(ok) >= 3:
        design = np.array([[1.0, p["nnz"] * p["k"], p["nodes"]] for p in ok])
        target = np.array([p["time_s"] for p in ok])
        coef, *_ = np.linalg.lstsq(design, target, rcond=None)
        residual = target - design @ coef
        r2 = 1.0 - float(residual @ residual) / float(((target - target.mean()) ** 2).sum())
        summary.update(
            intercept_s=float(coef[0]),
            seconds_per_nnz_k=float(coef[1]),
            seconds_per_node=float(coef[2]),
            r2=r2,
        )
    sizes = [p for p in ok if p["sweep"] == "size"]
    if len(sizes) >= 2:
        x = np.log([p["nnz"] * p["k"] for p in sizes])
        y = np.log([p["time_s"] for p in sizes])
        summary["size_loglog_slope_time"] = float(np.polyfit(x, y, 1)[0])
        ym = np.log([max(p["peak_rss_bytes"], 1) for p in sizes])
        summary["size_loglog_slope_memory"] = float(np.polyfit(x, ym, 1)[0])
    return summary


def render_markdown(doc: dict[str, Any]) -> str:
    from gsr_eda.bench.machine import describe_machine

    machine, summary = doc["machine"], doc["fit"]
    lines = [
        "# GSR layer scaling (one layer, forward + backward)",
        "",
        f"- **Machine:** {describe_machine(machine)}; load average at start "
        f"{' / '.join(f'{v:.2f}' for v in machine.get('load_average_1_5_15') or [])}",
        f"- **Layer:** hidden {doc['settings']['hidden']}, groups {doc['settings']['groups']}; "
        f"median of {doc['settings']['repeats']} runs after one warm-up",
        f"- **Date:** {machine['date_utc']}",
        f"- **Command:** `{machine['command']}`",
        "",
        "| sweep | graph | net model | k | nodes | nnz | avg degree | max degree | forward ms | backward ms "
        "| total ms | ns per nnz*k | peak RSS MiB | status |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for p in doc["points"]:
        graph = f"synthetic {p['cells']:,}" if p["graph"] == "synthetic" else "zero-riscy-a"
        if p.get("status") != "ok":
            lines.append(
                f"| {p['sweep']} | {graph} | {p['net_model']} | {p['k']} | | | | | | | | | | "
                f"{p['status']}: {p.get('message', '')} |"
            )
            continue
        lines.append(
            f"| {p['sweep']} | {graph} | {p['net_model']} | {p['k']} | {p['nodes']:,} | {p['nnz']:,} "
            f"| {p['avg_degree']:.1f} | {p['max_degree']:,} | {p['forward_s'] * 1e3:,.1f} "
            f"| {p['backward_s'] * 1e3:,.1f} | {p['time_s'] * 1e3:,.1f} "
            f"| {p['time_s'] / (p['nnz'] * p['k']) * 1e9:.2f} | {p['peak_rss_bytes'] / 2**20:,.1f} | ok |"
        )
    lines += ["", "## Fit", ""]
    if "seconds_per_nnz_k" in summary:
        lines.append(
            f"Least squares over all points: t = {summary['intercept_s'] * 1e3:.2f} ms + "
            f"{summary['seconds_per_nnz_k'] * 1e9:.3f} ns x nnz*k + {summary['seconds_per_node'] * 1e9:.1f} ns x N "
            f"(R^2 = {summary['r2']:.4f})."
        )
    if "size_loglog_slope_time" in summary:
        lines.append(
            f"Size sweep, log-log slope against nnz*k: time {summary['size_loglog_slope_time']:.3f}, "
            f"peak memory {summary['size_loglog_slope_memory']:.3f} (1.0 = linear)."
        )
    by_model = {
        (p["net_model"], p["k"]): p for p in doc["points"] if p["sweep"] == "degree" and p.get("status") == "ok"
    }
    pairs = [
        (by_model[("capped-clique", k)], by_model[("clique", k)])
        for (model, k) in sorted(by_model)
        if model == "capped-clique" and ("clique", k) in by_model
    ]
    if pairs:
        lines += [
            "",
            "Degree at fixed N (zero-riscy-a, full clique against capped clique): "
            + "; ".join(
                f"k {capped['k']}: nnz x{full['nnz'] / capped['nnz']:.1f}, time x{full['time_s'] / capped['time_s']:.2f}"
                for capped, full in pairs
            )
            + ".",
        ]
    lines += ["", "![scaling](scaling.png)", ""]
    return "\n".join(lines) + "\n"


def plot(doc: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gsr_eda.atomic import atomic_open

    ok = [p for p in doc["points"] if p.get("status") == "ok"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for sweep, marker in (("size", "o"), ("degree", "s")):
        group = [p for p in ok if p["sweep"] == sweep]
        if not group:
            continue
        work = np.array([p["nnz"] * p["k"] for p in group], dtype=float)
        left.scatter(work, [p["time_s"] for p in group], marker=marker, label=f"{sweep} sweep")
        right.scatter(
            [p["nodes"] * p["k"] for p in group],
            [p["peak_rss_bytes"] / 2**20 for p in group],
            marker=marker,
            label=f"{sweep} sweep",
        )
    summary = doc["fit"]
    if "seconds_per_nnz_k" in summary and ok:
        work = np.array(sorted(p["nnz"] * p["k"] for p in ok), dtype=float)
        left.plot(
            work,
            summary["seconds_per_nnz_k"] * work,
            color="grey",
            linestyle="--",
            label=f"fitted nnz*k term alone: {summary['seconds_per_nnz_k'] * 1e9:.2f} ns x nnz*k",
        )
    left.set(
        xscale="log", yscale="log", xlabel="nnz * k", ylabel="forward + backward time (s)", title="one GSR layer: time"
    )
    right.set(
        xscale="log",
        yscale="log",
        xlabel="N * k",
        ylabel="peak RSS above baseline (MiB)",
        title="one GSR layer: memory",
    )
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, dpi=110, format="png")
    plt.close(fig)


def write_outputs(doc: dict[str, Any], out: Path) -> None:
    """``scaling.json``, ``scaling.md`` and ``scaling.png`` in ``out``, each written atomically."""
    from gsr_eda.atomic import write_text_atomically

    out.mkdir(parents=True, exist_ok=True)
    for name, text in (("scaling.json", json.dumps(doc, indent=2, default=str)), ("scaling.md", render_markdown(doc))):
        write_text_atomically(out / name, text)
    plot(doc, out / "scaling.png")


# --------------------------------------------------------------------------- main


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--point", help=argparse.SUPPRESS)  # internal: measure one point, print JSON
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "scaling")
    parser.add_argument("--sizes", type=_ints, default=_ints("10000,30000,100000,300000,1000000"))
    parser.add_argument("--k", type=int, default=8, help="k of the size sweep")
    parser.add_argument("--degree-k", type=_ints, default=_ints("4,8,16,32"), help="k values of the degree sweep")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--groups", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--circuitnet", type=Path, default=CIRCUITNET, help="CircuitNet root (degree sweep)")
    parser.add_argument("--timeout-s", type=float, default=900.0, help="per point")
    parser.add_argument("--render", type=Path, help="re-render scaling.md and scaling.png from this scaling.json")
    args = parser.parse_args(argv)

    if args.point:
        print(json.dumps(measure_point(json.loads(args.point))))
        return 0
    if args.render:
        doc = json.loads(args.render.read_text())
        doc["fit"] = fit(doc["points"])
        write_outputs(doc, args.render.parent)
        return 0

    from gsr_eda.bench.machine import machine_info

    machine = machine_info(["python", "benchmarks/bench_scaling.py", *(sys.argv[1:] if argv is None else argv)])
    common = {"hidden": args.hidden, "groups": args.groups, "repeats": args.repeats, "threads": args.threads}
    points = [
        {"sweep": "size", "graph": "synthetic", "cells": n, "net_model": "capped-clique", "k": args.k, **common}
        for n in args.sizes
    ]
    if args.circuitnet.is_dir():
        points += [
            {
                "sweep": "degree",
                "graph": "circuitnet",
                "root": str(args.circuitnet),
                "net_model": model,
                "k": k,
                **common,
            }
            for model in ("capped-clique", "clique")
            for k in args.degree_k
        ]
    else:
        print(f"note: {args.circuitnet} not found, skipping the degree sweep", file=sys.stderr)
    results = []
    for index, point in enumerate(points, 1):
        result = run_point(point, args.timeout_s)
        results.append(result)
        shown = (
            f"{result['time_s'] * 1e3:,.1f} ms, {result['peak_rss_bytes'] / 2**20:,.1f} MiB"
            if result["status"] == "ok"
            else f"{result['status']}: {result.get('message')}"
        )
        print(
            f"[{index}/{len(points)}] {point['sweep']} {point.get('cells', 'zero-riscy-a')} "
            f"{point['net_model']} k{point['k']}: {shown}",
            file=sys.stderr,
            flush=True,
        )
    doc = {
        "schema": "gsr-eda-bench-scaling/1",
        "machine": machine,
        "settings": vars(args) | {"out": str(args.out)},
        "points": results,
        "fit": fit(results),
    }
    doc["settings"]["circuitnet"] = str(args.circuitnet)
    write_outputs(doc, args.out)
    summary = doc["fit"]
    if "seconds_per_nnz_k" in summary:
        print(
            f"fit: t = {summary['intercept_s'] * 1e3:.2f} ms + {summary['seconds_per_nnz_k'] * 1e9:.3f} ns * nnz*k "
            f"+ {summary['seconds_per_node'] * 1e9:.1f} ns * N  (R^2 {summary['r2']:.4f})"
        )
    if "size_loglog_slope_time" in summary:
        print(f"size sweep log-log slope (time vs nnz*k): {summary['size_loglog_slope_time']:.3f}")
    print(f"wrote {args.out}/scaling.json, scaling.md, scaling.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
