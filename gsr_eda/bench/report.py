r"""Turn benchmark records into comparisons, target checks, and report files.

For a configuration ``c`` and the RevGNN baseline ``b`` at the same depth, hidden width,
groups and device:

.. math::

    \mathrm{speedup}(c) = \frac{t_{step}(b)}{t_{step}(c)}, \qquad
    \mathrm{memory\ reduction}(c) = 1 - \frac{M(c)}{M(b)},

where :math:`t_{step}` is the median time of a training step (forward + backward + optimizer)
and :math:`M` is the peak memory: on CPU the peak RSS above the baseline after loading the
graph, on CUDA the peak memory reserved by the caching allocator (what the GPU cannot lend
to anything else). "Flat in depth" means :math:`M(L_{max}) \le 1.25\, M(L_{min})` for the
same model and ``k``: parameters and optimizer state grow with depth, activations must not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gsr_eda.atomic import atomic_open, write_text_atomically
from gsr_eda.bench.config import BASELINE_MODEL
from gsr_eda.bench.machine import describe_machine
from gsr_eda.bench.targets import FLAT_MEMORY_TOLERANCE, Targets

RESULTS_SCHEMA = "gsr-eda-bench-train/1"


def peak_memory_bytes(record: dict[str, Any]) -> float | None:
    """The peak memory compared across models: CUDA reserved on GPU, else CPU RSS."""
    figures = record.get("figures") or {}
    if "cuda_max_reserved_bytes" in figures:
        return figures["cuda_max_reserved_bytes"]
    return figures.get("peak_rss_bytes")


def _comparison_key(config: dict[str, Any]) -> tuple:
    return (config["layers"], config["hidden"], config["groups"], config["device"])


def compare(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary row per record, with speedup and memory reduction against RevGNN."""
    baselines = {
        _comparison_key(r["config"]): r
        for r in records
        if r["config"]["model"] == BASELINE_MODEL and r["status"] == "ok"
    }
    rows = []
    for record in records:
        config, figures = record["config"], record.get("figures") or {}
        row: dict[str, Any] = {
            "label": record["label"],
            "model": config["model"],
            "layers": config["layers"],
            "hidden": config["hidden"],
            "groups": config["groups"],
            "k": config["k"],
            "device": config["device"],
            "status": record["status"],
            "message": record.get("message", ""),
            "forward_s": figures.get("forward_s"),
            "backward_s": figures.get("backward_s"),
            "optimizer_s": figures.get("optimizer_s"),
            "step_s": figures.get("step_s"),
            "peak_memory_bytes": peak_memory_bytes(record),
            "memory_efficiency": figures.get("cuda_memory_efficiency"),
            "val_pearson": figures.get("val_pearson"),
            "speedup_vs_revgnn": None,
            "memory_reduction_vs_revgnn": None,
        }
        baseline = baselines.get(_comparison_key(config))
        if record["status"] == "ok" and baseline is not None and config["model"] != BASELINE_MODEL:
            base_time = baseline["figures"]["step_s"]
            base_memory = peak_memory_bytes(baseline)
            if row["step_s"]:
                row["speedup_vs_revgnn"] = base_time / row["step_s"]
            if base_memory and row["peak_memory_bytes"] is not None:
                row["memory_reduction_vs_revgnn"] = 1.0 - row["peak_memory_bytes"] / base_memory
        rows.append(row)
    return rows


def check_targets(rows: list[dict[str, Any]], device: str) -> list[dict[str, Any]]:
    """Each target check as ``{"target", "subject", "value", "goal", "met", "reference"}``.

    Speed and memory are checked for every GSR run that has a RevGNN baseline; ``reference``
    marks the configuration the goal is stated for. Flatness is checked per ``k`` when GSR
    ran at two depths or more.
    """
    targets = Targets.for_device(device)
    ref = targets.reference
    checks: list[dict[str, Any]] = []
    gsr_ok = [r for r in rows if r["model"] == "gsr" and r["status"] == "ok"]
    for row in gsr_ok:
        is_reference = all(row[key] == value for key, value in ref.items())
        if row["speedup_vs_revgnn"] is not None:
            checks.append(
                {
                    "target": "speedup vs revgnn",
                    "subject": row["label"],
                    "value": row["speedup_vs_revgnn"],
                    "goal": targets.min_speedup,
                    "met": row["speedup_vs_revgnn"] >= targets.min_speedup,
                    "reference": is_reference,
                }
            )
        if row["memory_reduction_vs_revgnn"] is not None:
            checks.append(
                {
                    "target": "peak memory reduction vs revgnn",
                    "subject": row["label"],
                    "value": row["memory_reduction_vs_revgnn"],
                    "goal": targets.min_memory_reduction,
                    "met": row["memory_reduction_vs_revgnn"] >= targets.min_memory_reduction,
                    "reference": is_reference,
                }
            )
        if targets.min_memory_efficiency is not None and row["memory_efficiency"] is not None:
            checks.append(
                {
                    "target": "CUDA memory efficiency (allocated / reserved)",
                    "subject": row["label"],
                    "value": row["memory_efficiency"],
                    "goal": targets.min_memory_efficiency,
                    "met": row["memory_efficiency"] >= targets.min_memory_efficiency,
                    "reference": is_reference,
                }
            )
    by_k: dict[tuple, list[dict[str, Any]]] = {}
    for row in gsr_ok:
        if row["peak_memory_bytes"] is not None:
            by_k.setdefault((row["k"], row["hidden"], row["groups"]), []).append(row)
    for (k, hidden, groups), group in sorted(by_k.items(), key=lambda item: str(item[0])):
        if len({r["layers"] for r in group}) < 2:
            continue
        shallow = min(group, key=lambda r: r["layers"])
        deep = max(group, key=lambda r: r["layers"])
        growth = deep["peak_memory_bytes"] / max(shallow["peak_memory_bytes"], 1.0)
        checks.append(
            {
                "target": "gsr peak memory flat in depth",
                "subject": f"gsr k{k}: L{shallow['layers']} -> L{deep['layers']}",
                "value": growth,
                "goal": FLAT_MEMORY_TOLERANCE,
                "met": growth <= FLAT_MEMORY_TOLERANCE,
                "reference": k == ref["k"] and hidden == ref["hidden"] and groups == ref["groups"],
            }
        )
    return checks


def build_results(
    machine: dict[str, Any],
    graph: dict[str, Any],
    settings: dict[str, Any],
    records: list[dict[str, Any]],
) -> dict[str, Any]:
    """The complete ``results.json`` document."""
    device = settings.get("device", "cpu")
    rows = compare(records)
    return {
        "schema": RESULTS_SCHEMA,
        "machine": machine,
        "graph": graph,
        "settings": settings,
        "records": records,
        "summary": rows,
        "targets": check_targets(rows, device),
    }


def write_report(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """Write ``results.json``, ``report.md`` and the PNG plots; return the paths written.

    Each file is written to a temporary name and renamed, so a reader never sees half a file.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [
        write_text_atomically(out_dir / "results.json", json.dumps(results, indent=2, default=_json_default)),
    ]
    plots = write_plots(results, out_dir)
    written.append(write_text_atomically(out_dir / "report.md", render_markdown(results, [p.name for p in plots])))
    return written + plots


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


# --------------------------------------------------------------------------- markdown


def format_ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1e3:,.1f}"


def format_mib(num_bytes: float | None) -> str:
    return "—" if num_bytes is None else f"{num_bytes / 2**20:,.1f}"


def format_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}x"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def relative_memory(reduction: float | None) -> str:
    """``0.9`` -> ``90.0% lower``, ``-0.3`` -> ``30.0% higher`` (against the baseline)."""
    if reduction is None:
        return "—"
    return f"{abs(reduction) * 100:.1f}% {'lower' if reduction >= 0 else 'higher'}"


def format_corr(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def render_markdown(results: dict[str, Any], plot_names: list[str]) -> str:
    """The human-readable report: header, results table, target checks, failures, profiles."""
    machine, graph, settings = results["machine"], results["graph"], results["settings"]
    rows = results["summary"]
    on_cuda = settings.get("device", "cpu").startswith("cuda")
    memory_name = "peak reserved MiB" if on_cuda else "peak RSS MiB"
    lines = [
        "# gsr-eda training benchmark",
        "",
        f"- **Graph:** {graph.get('description')} — {graph.get('nodes', '?'):,} nodes, "
        f"{graph.get('nnz', '?'):,} adjacency nonzeros",
        f"- **Machine:** {describe_machine(machine)}; load average at start "
        f"{_load(machine)}; torch {machine['versions'].get('torch')}, "
        f"PyG {machine['versions'].get('torch_geometric')}, gsr-eda {machine['versions'].get('gsr-eda')}",
        f"- **Device:** {settings.get('device')}; hidden {settings.get('hidden')}, groups "
        f"{settings.get('groups')}; {settings.get('warmup')} warm-up + {settings.get('steps')} timed "
        f"steps (medians); correlation after {settings.get('epochs')} epochs"
        + (" (not measured)" if not settings.get("epochs") else ""),
        f"- **Date:** {machine.get('date_utc')}",
        f"- **Command:** `{machine.get('command')}`",
        "",
        "## Results",
        "",
        f"| configuration | status | forward ms | backward ms | optimizer ms | step ms | speedup vs revgnn "
        f"| {memory_name} | memory vs revgnn | val Pearson |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['label']} | {row['status']} | {format_ms(row['forward_s'])} | {format_ms(row['backward_s'])} "
            f"| {format_ms(row['optimizer_s'])} | {format_ms(row['step_s'])} | {format_ratio(row['speedup_vs_revgnn'])} "
            f"| {format_mib(row['peak_memory_bytes'])} | {relative_memory(row['memory_reduction_vs_revgnn'])} "
            f"| {format_corr(row['val_pearson'])} |"
        )
    if on_cuda:
        lines += [
            "",
            "Memory efficiency (max allocated / max reserved): "
            + ", ".join(
                f"{r['label']} {_percent(r['memory_efficiency'])}" for r in rows if r["memory_efficiency"] is not None
            ),
        ]

    lines += ["", "## Targets", ""]
    checks = results["targets"]
    targets = Targets.for_device(settings.get("device", "cpu"))
    ref = ", ".join(f"{key} {value}" for key, value in targets.reference.items())
    lines.append(
        f"Goals on {'CUDA' if on_cuda else 'CPU'} (stated for {ref}): GSR step >= "
        f"{targets.min_speedup:g}x faster than RevGNN, peak memory >= "
        f"{targets.min_memory_reduction * 100:g}% lower, memory flat in depth (deepest <= "
        f"{FLAT_MEMORY_TOLERANCE:g}x shallowest)"
        + (f", allocated/reserved >= {targets.min_memory_efficiency * 100:g}%" if targets.min_memory_efficiency else "")
        + "."
    )
    lines.append("")
    if not checks:
        lines.append("No target could be checked: the run needs gsr and revgnn configurations that both finished.")
    else:
        if not any(check["reference"] for check in checks):
            lines.append("**This run does not include the reference configuration; the checks below are indicative.**")
            lines.append("")
        lines += ["| target | configuration | measured | goal | verdict |", "|---|---|---:|---:|---|"]
        for check in checks:
            lines.append(
                f"| {check['target']} | {check['subject']}{' (reference)' if check['reference'] else ''} "
                f"| {_format_check(check['target'], check['value'])} | {_format_check(check['target'], check['goal'], goal=True)} "
                f"| {'met' if check['met'] else '**MISSED**'} |"
            )
        missed = [c for c in checks if not c["met"]]
        lines.append("")
        lines.append(f"{len(missed)} of {len(checks)} checks missed." if missed else f"All {len(checks)} checks met.")

    failures = [r for r in rows if r["status"] != "ok"]
    if failures:
        lines += ["", "## Configurations that did not finish", ""]
        lines += [f"- **{r['label']}**: {r['status']} — {r['message']}" for r in failures]

    profiled = [r for r in results["records"] if (r.get("figures") or {}).get("profile")]
    if profiled:
        lines += ["", "## Where the time goes (torch.profiler, one training step)", ""]
        for record in profiled:
            profile = record["figures"]["profile"]
            phases = ", ".join(f"{name} {format_ms(sec)} ms" for name, sec in profile["phases_s"].items())
            lines += [
                f"### {record['label']}",
                "",
                f"Profiled step ({profile['clock']} clock, profiler overhead included): {phases}.",
                "",
                "| kernel | calls | self ms | share |",
                "|---|---:|---:|---:|",
            ]
            lines += [
                f"| `{k['name']}` | {k['calls']} | {format_ms(k['self_s'])} | {_percent(k['share'])} |"
                for k in profile["kernels"]
            ]
            lines.append("")

    if plot_names:
        lines += ["", "## Plots", ""] + [f"![{name}]({name})" for name in plot_names]
    lines += ["", "## Method", "", _METHOD_TEXT]
    return "\n".join(lines) + "\n"


def _format_check(target: str, value: float, goal: bool = False) -> str:
    prefix = "" if not goal else ("<= " if "flat" in target else ">= ")
    if "speedup" in target or "flat" in target:
        return f"{prefix}{value:.2f}x"
    return f"{prefix}{value * 100:.1f}%"


def _load(machine: dict[str, Any]) -> str:
    load = machine.get("load_average_1_5_15")
    return "unknown" if not load else " / ".join(f"{v:.2f}" for v in load)


_METHOD_TEXT = (
    "Each configuration ran in its own child process. Step times are medians over the timed "
    "steps, with the device synchronised between phases. CPU peak memory is the process's "
    "resident-set high-water mark (VmHWM, reset through /proc/self/clear_refs after the graph "
    "was loaded and the runtime initialised) minus the resident set at that moment: it counts "
    "parameters, optimizer state, activations and workspaces, not the graph. CUDA memory is "
    "torch.cuda.max_memory_reserved / max_memory_allocated, reset after the graph was on the "
    "device. Speedups and memory reductions compare against RevGNN (PyG GroupAddRev) at the "
    "same depth, width and groups, measured in the same run."
)


# --------------------------------------------------------------------------- plots


def write_plots(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """``time_vs_depth.png``, ``memory_vs_depth.png`` and, with GSR and RevGNN, ``speedup_vs_k.png``."""
    # matplotlib costs about half a second to import, so only a call that draws pays for it;
    # the Agg backend (no display) must be chosen before pyplot is imported.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in results["summary"] if r["status"] == "ok"]
    if not rows:
        return []
    on_cuda = results["settings"].get("device", "cpu").startswith("cuda")
    series: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        name = row["model"] + (f" k{row['k']}" if row["k"] is not None else "")
        series.setdefault(name, []).append(row)
    title_suffix = f"{results['graph'].get('name', '')}, hidden {results['settings'].get('hidden')}"
    written = []

    def save(fig: Any, name: str) -> None:
        path = out_dir / name
        fig.tight_layout()
        with atomic_open(path, "wb") as handle:
            fig.savefig(handle, dpi=110, format="png")
        plt.close(fig)
        written.append(path)

    for value_key, ylabel, filename, scale in (
        ("step_s", "time per training step (s)", "time_vs_depth.png", 1.0),
        (
            "peak_memory_bytes",
            "peak reserved memory (MiB)" if on_cuda else "peak RSS above baseline (MiB)",
            "memory_vs_depth.png",
            1.0 / 2**20,
        ),
    ):
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for name, group in sorted(series.items()):
            group = sorted((r for r in group if r[value_key] is not None), key=lambda r: r["layers"])
            if group:
                ax.plot([r["layers"] for r in group], [r[value_key] * scale for r in group], marker="o", label=name)
        ax.set_xlabel("layers")
        ax.set_ylabel(ylabel)
        ax.set_yscale("log")
        ax.set_title(f"{ylabel.split(' (')[0]} vs depth ({title_suffix})", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        save(fig, filename)

    speedups = [r for r in rows if r["model"] == "gsr" and r["speedup_vs_revgnn"] is not None]
    if speedups:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for layers in sorted({r["layers"] for r in speedups}):
            group = sorted((r for r in speedups if r["layers"] == layers), key=lambda r: r["k"])
            ax.plot(
                [r["k"] for r in group], [r["speedup_vs_revgnn"] for r in group], marker="o", label=f"{layers} layers"
            )
        goal = Targets.for_device(results["settings"].get("device", "cpu")).min_speedup
        ax.axhline(goal, color="grey", linestyle="--", label=f"target {goal:g}x")
        ax.set_xlabel("k (top-k entries per group row)")
        ax.set_ylabel("speedup of GSR over RevGNN (step time)")
        ax.set_xscale("log", base=2)
        ax.set_title(f"GSR speedup vs k ({title_suffix})", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
        save(fig, "speedup_vs_k.png")
    return written


def rerender_report(out_dir: Path) -> list[Path]:
    """Recompute comparisons and target checks from ``out_dir/results.json`` and rewrite the
    report files (after a change of the report code, or of the records by hand)."""
    document = json.loads((out_dir / "results.json").read_text())
    results = build_results(document["machine"], document["graph"], document["settings"], document["records"])
    return write_report(results, out_dir)
