"""``gsr-eda evaluate``: score a trained model against the labels of a graph store."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer

from gsr_eda.cli.app import app, emit_json
from gsr_eda.cli.train import split_names
from gsr_eda.errors import InputError
from gsr_eda.jsonable import json_safe


def _fmt(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"


@app.command()
def evaluate(
    checkpoint: Path = typer.Option(..., "--checkpoint", "-c", help="Checkpoint file, or a run folder (its best.pt)."),
    store: Path = typer.Option(..., "--store", "-s", dir_okay=False, help="Graph store (.h5) with labelled designs."),
    designs: Optional[list[str]] = typer.Option(
        None, "--designs", "-d", help="Designs to score (comma-separated or repeated). Default: every labelled design."
    ),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda (cuda:N) or auto."),
    json_out: bool = typer.Option(False, "--json", help="Print every metric as JSON on stdout."),
) -> None:
    """Score a model: Pearson, Spearman, Kendall, R^2 and MAE, per design and overall.

    Metrics are computed on cells (against the stored per-cell labels) and on the gcell map (the per-cell predictions of standard cells reduced onto gcells with the label's max/mean, against the stored gcell label map, over gcells that a standard cell covers; macros are left out of the map). A model trained with --gcell-head (the default) reports its gcell head's map instead: a linear output over that map and RUDY, pin RUDY and density (JSON: "gcell_map"). Under each design the model-free estimates a user already has (RUDY, pin RUDY, cell density, and the proxy label where the labels come from a router) are scored on the same cells and gcells, so the table shows whether the model beats them. Designs are also pooled by role: what counts is the model on designs it never trained on (test, val, unseen). For designs that the model was trained on with a node split, the held-out test nodes are also scored separately (cells_test); the role of each design in the training split (train/val/test) is shown.

    The store must have the features, net model and label reduction the model was trained with.

    Example:

      gsr-eda evaluate --checkpoint runs/gsr64 --store designs.h5 --json
    """
    from gsr_eda.predict.checkpoint import check_feature_schema, load_checkpoint, resolve_checkpoint_path
    from gsr_eda.predict.predictor import predictor_from_checkpoint
    from gsr_eda.store import GraphStore
    from gsr_eda.train.evaluation import evaluate_records
    from gsr_eda.train.splits import TEST, SplitPlan

    ck_path = resolve_checkpoint_path(checkpoint)
    ckpt = load_checkpoint(ck_path)
    predictor = predictor_from_checkpoint(ckpt, ck_path, device)
    if not store.exists():
        raise InputError("graph store not found", store)
    with GraphStore(store) as gs:
        names = split_names(designs) or [n for n in gs.designs if gs.summary(n)["label"] is not None]
        unknown = [n for n in names if n not in gs]
        if unknown:
            raise InputError(
                f"no design {', '.join(map(repr, unknown))} in the store (it has: {', '.join(gs.designs)})", store
            )
        if not names:
            raise InputError("no design in the store has labels to evaluate against", store)
        for n in names:
            s = gs.summary(n)
            check_feature_schema(ckpt, s["features"], what=f"design {n!r}", path=ck_path)
            predictor.check_graph_options(s["net_model"], s["net_cap"], what=f"design {n!r}", path=store)
            if s["label"] is None:
                raise InputError(f"design {n!r} has no labels to evaluate against", store)
        records = [gs.read(n) for n in names]

    roles: dict[str, str] = {}
    test_masks = {}
    if "train" in ckpt:
        plan = SplitPlan.from_state(ckpt["train"]["split"])
        for n in names:
            if plan.mode == "node" and n in plan.node_masks:
                roles[n] = "node split"
                test_masks[n] = plan.mask(n, TEST)
            else:
                for role, members in (
                    ("train", plan.train_designs),
                    ("val", plan.val_designs),
                    ("test", plan.test_designs),
                ):
                    if n in members:
                        roles[n] = role
    from rich.progress import Progress

    with Progress(transient=True, disable=json_out) as progress:
        task = progress.add_task("evaluating", total=len(records))
        result = evaluate_records(
            predictor, records, test_masks, on_design=lambda _n: progress.advance(task), roles=roles
        )
    result["checkpoint"] = str(ck_path)
    result["store"] = str(store)
    result["model"] = predictor.config
    result["gcell_map"] = predictor.gcell_map_source
    if json_out:
        emit_json(json_safe(result))
        return
    _print_tables(result, predictor.config, store, any(r.label_is_proxy for r in records))


_METRICS = ("pearson", "spearman", "kendall", "hotspot_precision", "hotspot_recall", "r2", "mae")


def _print_tables(result: dict, config: dict, store: Path, proxy_labels: bool) -> None:
    """One table: per design the model's rows and, under them, the model-free baselines on the same items."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # logs and pipes: wide enough that no column is cut
        console = Console(width=140)
    table = Table(title=f"{config['name']} ({config['layers']} layers) on {store.name}")
    for col in (
        "design",
        "role",
        "estimate",
        "on",
        "n",
        "Pearson",
        "Spearman",
        "Kendall",
        "hot P",
        "hot R",
        "R^2",
        "MAE",
    ):
        table.add_column(col, justify="left" if col in ("design", "role", "estimate", "on") else "right")

    def add(name: str, role: str, estimate: str, entry: dict) -> None:
        for on in ("cells", "cells_test", "gcells"):
            m = entry.get(on)
            if m is not None:
                table.add_row(name, role, estimate, on, f"{m['n']:,}", *(_fmt(m.get(k)) for k in _METRICS))

    for name, entry in result["designs"].items():
        add(name, entry["role"], config["name"], entry)
        for baseline, scores in entry["baselines"].items():
            add("", "", baseline, scores)
        table.add_section()
    for role, pooled in result["roles"].items():
        add(f"pooled: {role}", role, config["name"], pooled)
    add("overall", "", config["name"], result["overall"])
    console.print(table)
    console.print(
        "[dim]role unseen/test/val: the model never trained on the design. Baselines (RUDY, pin RUDY, "
        "cell density; the proxy where labels are real) are scored on the same cells and gcells; their "
        "R^2 and MAE are not defined (other units). hot P / hot R: precision / recall of the top 10%.[/dim]"
    )
    if proxy_labels:
        console.print("[dim]labels are proxy estimates (no router output), not routed congestion[/dim]")
