"""``gsr-eda bench``: performance measurements (``bench kernels``; ``bench train`` lives in
:mod:`gsr_eda.cli.bench_train` and registers on the same sub-app)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from gsr_eda.cli.app import app, emit_json
from gsr_eda.errors import InputError

bench_app = typer.Typer(
    help="Measure performance: the compute-core kernels against PyTorch, or full training runs.",
    no_args_is_help=True,
)
app.add_typer(bench_app, name="bench")

GRAPHS = ("circuitnet-zero-riscy-a", "synthetic")
DEVICES = ("cpu", "cuda")


@bench_app.command("kernels")
def bench_kernels(
    graph: str = typer.Option(
        "circuitnet-zero-riscy-a",
        "--graph",
        "-g",
        help="circuitnet-zero-riscy-a (the real netlist, 38,656 placed cells, built with the "
        "full-clique and the capped-clique-8 net models) or synthetic (a random circuit-like "
        "graph with degree-1 rows and clock hubs, no data needed).",
    ),
    device: str = typer.Option("cpu", "--device", "-d", help="cpu or cuda."),
    data_root: Optional[Path] = typer.Option(
        None,
        "--data-root",
        file_okay=False,
        help="Folder holding circuitnet/ (default: $GSR_EDA_DATA, else ../shared/data next to the checkout).",
    ),
    hidden: int = typer.Option(256, "--hidden", min=2, help="Hidden channels of the model."),
    groups: int = typer.Option(2, "--groups", min=2, help="Reversible groups; d = hidden / groups."),
    k: int = typer.Option(8, "--k", min=1, help="Entries kept per row by the GS(k) operator."),
    repeats: int = typer.Option(5, "--repeats", min=1, help="Timed repetitions (median reported)."),
    synthetic_nodes: int = typer.Option(40000, "--synthetic-nodes", min=100, help="Nodes of the synthetic graph."),
    threads: Optional[int] = typer.Option(
        None, "--threads", min=1, help="CPU threads for ours and torch alike (default: all)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the results as JSON on stdout."),
) -> None:
    """Time the GSR kernels against the PyTorch operations they replace, side by side.

    For each graph: row top-k vs torch.topk; CBSR aggregation A @ S(V, I) vs torch.sparse.mm with the dense N x d input; the sampled backward (A^T G) at I vs torch's backward of the same product; the weighted aggregation A @ S(V, I) @ W and its backward vs the dense torch equivalents.

    Each line gives both medians, the speed-up, and our effective GB/s next to the machine's measured memory bandwidth (a numpy copy). Timings depend on machine load: the load average is recorded in the output.
    """  # noqa: E501 - typer keeps line breaks: one line per paragraph
    if graph not in GRAPHS:
        raise InputError(f"--graph: unknown graph {graph!r}; choose one of {', '.join(GRAPHS)}")
    if device not in DEVICES:
        raise InputError(f"--device: unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    if hidden % groups != 0 or not 1 <= k <= hidden // groups:
        raise InputError(
            f"--hidden {hidden} must divide by --groups {groups} and --k {k} must be in [1, {hidden // max(groups, 1)}]"
        )
    from gsr_eda.bench.kernels import load_benchmark_graphs, run_kernel_benchmarks

    graphs = load_benchmark_graphs(graph, data_root, synthetic_nodes=synthetic_nodes)
    results = run_kernel_benchmarks(
        graphs, device=device, dim=hidden // groups, k=k, repeats=repeats, threads=threads, progress=not json_out
    )
    if json_out:
        emit_json(results)
        return
    from gsr_eda.bench.kernels import format_table

    typer.echo(format_table(results))
