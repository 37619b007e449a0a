"""``gsr-eda bench train``: GSR-GNN against RevGNN, GCN and GraphSAGE, side by side.

Registers on the ``bench`` sub-app of :mod:`gsr_eda.cli.bench`; the work is done by
:mod:`gsr_eda.bench`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer

from gsr_eda.cli.app import emit_json
from gsr_eda.cli.bench import bench_app
from gsr_eda.errors import InputError


def parse_int_list(option: str, text: str) -> list[int]:
    """``"16,64"`` -> ``[16, 64]``; anything but positive integers is an :class:`InputError`."""
    values = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        if not item.isdigit() or int(item) < 1:
            raise InputError(f"{option}: expected comma-separated positive integers, got {text!r}")
        values.append(int(item))
    if not values:
        raise InputError(f"{option}: expected at least one value, got {text!r}")
    return values


def parse_models(text: str) -> list[str]:
    """``"gsr,revgnn"`` -> names, checked against the model factory."""
    from gsr_eda.models import MODEL_NAMES

    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in MODEL_NAMES]
    if unknown or not names:
        raise InputError(
            f"--models: unknown model {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"choose from {', '.join(MODEL_NAMES)}"
        )
    return names


def check_device(device: str) -> None:
    """``cpu`` always works; ``cuda[:N]`` only with a CUDA build of torch and a visible GPU."""
    import torch

    if device == "cpu":
        return
    if not device.startswith("cuda"):
        raise InputError(f"--device: expected cpu, cuda or cuda:N, got {device!r}")
    if not torch.cuda.is_available():
        raise InputError(
            f"--device {device}: CUDA is not available (torch {torch.__version__}"
            + (" is a CPU-only build" if torch.version.cuda is None else " sees no GPU")
            + "); run on a machine with an NVIDIA GPU or use --device cpu"
        )
    index = int(device.split(":", 1)[1]) if ":" in device else 0
    if index >= torch.cuda.device_count():
        raise InputError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) visible")


@bench_app.command("train")
def bench_train(
    store: Path = typer.Option(..., "--store", "-s", dir_okay=False, help="Graph store (.h5) holding the design."),
    design: Optional[str] = typer.Option(
        None, "--design", "-d", help="Design to train on (default: the only design of a one-design store)."
    ),
    models: str = typer.Option(
        "gsr,revgnn,gcn,sage", "--models", "-m", help="Comma-separated architectures: gsr, revgnn, gcn, sage."
    ),
    layers: str = typer.Option("16,64", "--layers", "-L", help="Comma-separated depths, e.g. 16,64,100."),
    hidden: int = typer.Option(256, "--hidden", min=1, help="Hidden channels of every model."),
    k: str = typer.Option(
        "8", "--k", help="Comma-separated GS widths (entries kept per row and group); applies to gsr only."
    ),
    groups: int = typer.Option(2, "--groups", min=2, help="Channel groups of the reversible models (gsr, revgnn)."),
    steps: int = typer.Option(5, "--steps", min=1, help="Timed training steps per configuration (medians reported)."),
    warmup: int = typer.Option(2, "--warmup", min=0, help="Untimed warm-up steps before the timed ones."),
    epochs: int = typer.Option(
        0,
        "--epochs",
        min=0,
        help="Train each configuration for this many full-batch epochs in total (warm-up and timed steps "
        "count) and report the validation Pearson correlation; 0 skips it. Needs a labelled design.",
    ),
    lr: float = typer.Option(1e-3, "--lr", help="Adam learning rate of the training steps."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda or cuda:N."),
    threads: Optional[int] = typer.Option(
        None, "--threads", min=1, help="torch CPU threads in each configuration's process (default: torch's choice)."
    ),
    timeout_s: float = typer.Option(
        1800.0, "--timeout-s", min=1.0, help="Kill a configuration after this many seconds (recorded as timeout)."
    ),
    memory_limit_gb: Optional[float] = typer.Option(
        None,
        "--memory-limit-gb",
        help="Kill a configuration whose resident memory passes this many GiB (recorded as oom). "
        "Default: 90% of the memory available at the start.",
    ),
    profile: bool = typer.Option(
        False, "--profile", help="Profile one extra step of each gsr configuration: time per kernel in the report."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the initial weights and of the node split (if not stored)."),
    out: Path = typer.Option(Path("bench_out"), "--out", "-o", file_okay=False, help="Folder for the report files."),
    json_out: bool = typer.Option(False, "--json", help="Print the results document as JSON on stdout."),
) -> None:
    """Benchmark training of GSR-GNN against RevGNN, GCN and GraphSAGE on one design.

    Every configuration (each model at each depth; gsr also at each --k) trains in its own process, one after the other, so its peak memory is its own and a configuration that runs out of time or memory is recorded as timeout or oom without stopping the others.

    Measured per configuration: forward, backward and optimizer time of a full-batch training step (median of --steps after --warmup); peak memory (CPU: peak resident set above the process's baseline after loading the graph, from the kernel's high-water mark; CUDA: max allocated and max reserved, and their ratio); with --epochs and a labelled design, the validation Pearson correlation. Speedup and memory reduction are against revgnn at the same depth, width and groups; the report checks the project's targets (CPU: >= 20x faster, >= 80% less peak memory, gsr memory flat in depth) and says which are missed.

    Writes into --out: results.json (machine, load, versions, command, every figure), report.md (tables, target checks, kernel profiles) and time_vs_depth.png, memory_vs_depth.png, speedup_vs_k.png. Progress goes to stderr. Exit code 0 even when configurations fail (they are in the report); 3 for bad input.

    Examples:

      gsr-eda bench train --store zr.h5 --models gsr,revgnn --layers 16,64 --out bench/zr

      gsr-eda bench train --store zr.h5 --models gsr --layers 64 --k 4,8,16,32 --profile --json
    """
    from gsr_eda.bench import GraphSpec, GridSpec, RunLimits
    from gsr_eda.bench.graph_source import check_graph

    model_names = parse_models(models)
    depths = parse_int_list("--layers", layers)
    k_values = parse_int_list("--k", k)
    if hidden % groups:
        raise InputError(f"--hidden {hidden} is not divisible by --groups {groups}")
    if "gsr" in model_names and max(k_values) > hidden // groups:
        raise InputError(
            f"--k {max(k_values)} is larger than the {hidden // groups} channels of each group (--hidden / --groups)"
        )
    check_device(device)
    graph = check_graph(GraphSpec(kind="store", path=str(store), design=design, seed=seed))
    if out.exists() and not out.is_dir():
        raise InputError("--out exists and is not a folder", out)

    grid = GridSpec(
        models=model_names,
        layers=depths,
        k_values=k_values,
        hidden=hidden,
        groups=groups,
        settings={
            "steps": steps,
            "warmup": warmup,
            "epochs": epochs,
            "lr": lr,
            "device": device,
            "threads": threads,
            "profile": profile,
            "seed": seed,
        },
    )
    limits = RunLimits(
        timeout_s=timeout_s,
        memory_limit_bytes=None if memory_limit_gb is None else int(memory_limit_gb * 2**30),
    )
    results = _run_with_progress(graph, grid, limits, out, ["gsr-eda", *sys.argv[1:]])
    if json_out:
        emit_json(results)
    else:
        _print_summary(results)


def _run_with_progress(graph: Any, grid: Any, limits: Any, out: Path, argv: list[str]) -> dict[str, Any]:
    """Run the grid under a rich progress bar on stderr (stdout stays clean for --json)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from gsr_eda.bench import run_train_benchmark

    console = Console(stderr=True)
    configs = grid.configs()
    with Progress(
        TextColumn("[bold]bench train"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("starting", total=len(configs))

        def on_progress(index: int, config: Any, record: dict[str, Any] | None) -> None:
            if record is None:
                progress.update(task, description=f"running {config.label}")
                return
            progress.console.print(f"  {config.label}: {_one_line(record)}")
            progress.advance(task)

        results = run_train_benchmark(graph, grid, limits, out, argv=argv, on_progress=on_progress)
        progress.update(task, description="report written")
    return results


def _one_line(record: dict[str, Any]) -> str:
    if record["status"] != "ok":
        return f"[red]{record['status']}[/red]: {record['message']}"
    from gsr_eda.bench.report import peak_memory_bytes

    figures = record["figures"]
    text = f"{figures['step_s'] * 1e3:,.1f} ms/step, peak {(peak_memory_bytes(record) or 0) / 2**20:,.1f} MiB"
    if figures.get("val_pearson") is not None:
        text += f", val Pearson {figures['val_pearson']:.3f}"
    return text


def _print_summary(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from gsr_eda.bench.report import format_corr, format_mib, format_ms, format_ratio, relative_memory

    console = Console()
    table = Table(title="gsr-eda bench train")
    for column in (
        "configuration",
        "status",
        "step ms",
        "speedup vs revgnn",
        "peak MiB",
        "memory vs revgnn",
        "val Pearson",
    ):
        table.add_column(column, justify="left" if column in ("configuration", "status") else "right")
    for row in results["summary"]:
        table.add_row(
            row["label"],
            row["status"],
            format_ms(row["step_s"]),
            format_ratio(row["speedup_vs_revgnn"]),
            format_mib(row["peak_memory_bytes"]),
            relative_memory(row["memory_reduction_vs_revgnn"]),
            format_corr(row["val_pearson"]),
        )
    console.print(table)
    checks = results["targets"]
    missed = [check for check in checks if not check["met"]]
    if checks:
        console.print(
            f"targets: {len(checks) - len(missed)} of {len(checks)} checks met"
            + (": missed " + "; ".join(f"{c['target']} ({c['subject']})" for c in missed) if missed else "")
        )
    console.print("wrote " + ", ".join(results["files"]))
