"""The training benchmark end to end: grid -> child processes -> results.json, report.md, PNGs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gsr_eda.bench.config import GraphSpec, GridSpec
from gsr_eda.bench.graph_source import check_graph, graph_size
from gsr_eda.bench.machine import machine_info
from gsr_eda.bench.report import build_results, write_report
from gsr_eda.bench.runner import ProgressCallback, RunLimits, run_grid


def run_train_benchmark(
    graph: GraphSpec,
    grid: GridSpec,
    limits: RunLimits,
    out_dir: Path,
    *,
    argv: list[str] | None = None,
    on_progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Run every configuration of ``grid`` on ``graph`` and write the report into ``out_dir``.

    Returns the results document (also written as ``out_dir/results.json``), with the list
    of files written under ``"files"``.
    """
    graph = check_graph(graph)
    machine = machine_info(argv)  # before the run: the load average says how busy it was
    num_nodes, nnz = graph_size(graph)
    configs = grid.configs()
    records = run_grid(graph, configs, limits, on_progress=on_progress)
    settings = {
        "models": grid.models,
        "layers": grid.layers,
        "k": grid.k_values,
        "hidden": grid.hidden,
        "groups": grid.groups,
        "timeout_s": limits.timeout_s,
        "memory_limit_bytes": limits.memory_limit_bytes,
        **{key: value for key, value in configs[0].to_dict().items() if key in _SHARED_SETTINGS},
        "profile": bool(grid.settings.get("profile")),
    }
    graph_info = {
        **graph.__dict__,
        "name": graph.design if graph.kind == "store" else f"random-{graph.num_nodes}",
        "description": graph.describe(),
        "nodes": num_nodes,
        "nnz": nnz,
    }
    results = build_results(machine, graph_info, settings, records)
    results["files"] = [str(path) for path in write_report(results, out_dir)]
    return results


_SHARED_SETTINGS = ("steps", "warmup", "epochs", "lr", "dropout", "device", "profile", "threads", "seed")
