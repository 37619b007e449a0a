"""``gsr-eda train``: train a congestion model on a graph store, resumable, optionally data-parallel."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from gsr_eda.cli.app import app, emit_json
from gsr_eda.graph.placement_edges import DEFAULT_PLACEMENT_NEIGHBOURS


def split_names(values: list[str] | None) -> list[str] | None:
    """``--designs a,b --designs c`` -> ``[a, b, c]`` (None when not given)."""
    if not values:
        return None
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def check_new_run_folder(out: Path, force: bool) -> None:
    """Refuse an --out that holds a run (unless ``force``) or that cannot be created or written."""
    import os

    from gsr_eda.errors import InputError
    from gsr_eda.predict.checkpoint import BEST_NAME, LAST_NAME

    held = [name for name in (BEST_NAME, LAST_NAME) if (out / name).exists()]
    if held and not force:
        raise InputError(
            f"already holds a training run ({', '.join(held)}): continue it with --resume {out}, "
            "start a new one with --force, or choose another --out",
            out,
        )
    existing = next(p for p in (out, *out.absolute().parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        problem = "is not a folder" if not existing.is_dir() else "is not writable (read-only mount or permissions)"
        raise InputError(f"cannot create it: {existing} {problem}", out)


@app.command()
def train(
    store: Optional[Path] = typer.Option(
        None, "--store", "-s", dir_okay=False, help="Graph store (.h5) with labelled designs. Required unless --resume."
    ),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", file_okay=False, help="Run folder to create (checkpoints, logs, curves)."
    ),
    resume: Optional[Path] = typer.Option(
        None,
        "--resume",
        file_okay=False,
        help="Continue the interrupted (or finished) run in this folder from its last.pt, exactly where it "
        "stopped. Model and training options come from the checkpoint; only --epochs, --device and "
        "--store (if the store moved) apply.",
    ),
    designs: Optional[list[str]] = typer.Option(
        None, "--designs", "-d", help="Designs to use (comma-separated or repeated). Default: every labelled design."
    ),
    val_designs: Optional[list[str]] = typer.Option(
        None,
        "--val-designs",
        help="Designs held out for validation: early stopping and best.pt are chosen on them, and they never "
        "train (comma-separated or repeated). Naming held-out designs splits by design; every other design trains.",
    ),
    test_designs: Optional[list[str]] = typer.Option(
        None,
        "--test-designs",
        help="Designs held out for the final test: never trained on nor used for model selection, scored once "
        "with best.pt (summary.json). Without --val-designs, validation designs are drawn from the rest with --seed.",
    ),
    ignore_features: str = typer.Option(
        "x_norm,y_norm",
        "--ignore-features",
        help="Stored features the model does not read (comma-separated; 'none' reads them all). By default the "
        "absolute die position: it is a shortcut that holds on the training dies only, and leaving it out "
        "raised the held-out Pearson on CircuitNet zero-riscy-a from 0.38 to 0.52 (docs/training.md).",
    ),
    feature_scale: str = typer.Option(
        "design",
        "--feature-scale",
        help="Where the features' standardisation comes from: 'design' (each design's own, also for a new "
        "design at prediction time; the default, since a value's meaning differs between dies) or 'pooled' "
        "(the training designs' statistics, saved with the model).",
    ),
    target_scale: str = typer.Option(
        "design",
        "--target-scale",
        help="Where the labels' standardisation for the loss comes from: 'design' (the default: each design's "
        "own, so the model learns where a design is congested relative to itself; predictions come back on "
        "the training designs' typical scale) or 'pooled' (label units; they did not transfer to unseen "
        "designs either: R^2 from -78 to 0.4). docs/training.md, 'Unseen designs', measures both.",
    ),
    multiscale: str = typer.Option(
        "off",
        "--multiscale",
        help="Train the first --multiscale-epochs epochs on cheaper graphs, then on the full ones: "
        "coarse-to-fine (coarsened netlists, coarsest first), sub-to-full (random die windows) or gradients "
        "(the coarsest graph whole plus finer corrections on a window). The designs are coarsened once per run "
        "by placement-aware heavy-edge matching (docs/multiscale.md). Needs a split by design.",
    ),
    coarse_levels: int = typer.Option(
        2, "--coarse-levels", help="Coarsening levels above the cell graph (each about 0.6x the nodes)."
    ),
    multiscale_epochs: int = typer.Option(
        10, "--multiscale-epochs", help="Epochs on the cheap scales before the full graphs (counted in --epochs)."
    ),
    window_fraction: float = typer.Option(
        0.25, "--window-fraction", help="Share of the die one window covers (sub-to-full, gradients)."
    ),
    model: str = typer.Option(
        "gsr",
        "--model",
        "-m",
        help="Architecture: gsr, revgnn, gcn, sage, or on a store ingested with --net-model cell-net, "
        "gsr-cellnet and hetero-sage (docs/training.md describes each).",
    ),
    layers: int = typer.Option(16, "--layers", "-L", help="Message-passing layers (depth)."),
    hidden: int = typer.Option(128, "--hidden", help="Hidden channels."),
    groups: int = typer.Option(2, "--groups", help="Channel groups of the reversible models (gsr, revgnn)."),
    k: int = typer.Option(
        8,
        "--k",
        help="GS operator: entries kept per row and group (gsr only). Smaller trains faster, but at k 8 "
        "GSR-GNN transferred worse than RevGNN to designs it never saw (docs/training.md, 'Unseen "
        "designs'): check on a held-out design (--test-designs).",
    ),
    placement_neighbours: int = typer.Option(
        DEFAULT_PLACEMENT_NEIGHBOURS,
        "--placement-neighbours",
        help="Join each cell to its K nearest cells on the die, besides its netlist neighbours (0: the netlist "
        "alone). The nets that congest a cell's gcell are rarely the cell's own; K 8 raised GSR-GNN's held-out "
        "cells Pearson from 0.645 to 0.683 (docs/training.md, 'Placement neighbours'). The cell-net models take "
        "them as a cell -> cell relation. The edges move with the cells: predict and the flow hooks rebuild "
        "them. Not used with --multiscale (recorded as 0).",
    ),
    net_hidden: int | None = typer.Option(
        None,
        "--net-hidden",
        help="Width of the net nodes' state (gsr-cellnet only; default half of --hidden, at least --k per group). "
        "Nets are as many as cells, so a narrower net state makes every step cheaper "
        "(docs/training.md, 'Cell-net graphs').",
    ),
    dropout: float = typer.Option(0.0, "--dropout", help="Dropout probability."),
    epochs: int = typer.Option(50, "--epochs", "-e", help="Maximum epochs (one optimiser step per training design)."),
    lr: float = typer.Option(
        3e-3,
        "--lr",
        help="Peak AdamW learning rate (cosine decay to lr * --min-lr-ratio). The default suits runs on a few "
        "designs, one optimiser step per design and epoch: on unseen designs GSR-GNN k 8 gained 0.05 Pearson "
        "over 1e-3, the dense models were unchanged (docs/training.md, 'Unseen designs').",
    ),
    min_lr_ratio: float = typer.Option(0.01, "--min-lr-ratio", help="Final learning rate as a fraction of --lr."),
    weight_decay: float = typer.Option(1e-4, "--weight-decay", help="AdamW weight decay."),
    grad_clip: float = typer.Option(1.0, "--grad-clip", help="Clip the global gradient norm to this value."),
    ema_decay: float = typer.Option(
        0.0,
        "--ema-decay",
        help="Validate, save and predict with an exponential moving average of the weights, decaying by this "
        "factor per optimiser step (e.g. 0.9; 0: the trained weights). On the six-design benchmark 0.9 did not "
        "raise held-out quality (docs/training.md, 'Unseen designs').",
    ),
    gcell_head: bool = typer.Option(
        True,
        "--gcell-head/--no-gcell-head",
        help="After training, fit a linear output on the gcell grid over the model's mapped gcell values and "
        "RUDY, pin RUDY and cell density, on the validation designs' gcell labels (a split by design; with a "
        "split by node none is fitted); predict, evaluate and the flow hooks then report its map. Leaving one "
        "design out, GSR-GNN's gcell map went from 0.644 to 0.702 Pearson on proxy labels (RUDY 0.687) and from "
        "0.801 to 0.856 on routed ones (RUDY 0.803); cells are unchanged (docs/training.md, 'The gcell map').",
    ),
    patience: int = typer.Option(
        10, "--patience", help="Early stop after this many epochs without validation improvement."
    ),
    min_epochs: int = typer.Option(
        10,
        "--min-epochs",
        help="Epochs before best.pt may be chosen and patience starts counting (a run shorter than this "
        "chooses its last epoch): an underfit early model can rank a validation design well by chance.",
    ),
    monitor: str = typer.Option(
        "pearson",
        "--monitor",
        help="Validation metric for early stopping and best.pt: pearson, spearman, kendall, r2 or loss.",
    ),
    split: str = typer.Option(
        "auto",
        "--split",
        help="auto: by design with 3+ labelled designs, else by node (stored masks, or seeded); design; node.",
    ),
    val_fraction: float = typer.Option(0.15, "--val-fraction", help="Share of designs (or nodes) for validation."),
    test_fraction: float = typer.Option(0.15, "--test-fraction", help="Share of designs (or nodes) held out for test."),
    loss: str = typer.Option(
        "mse",
        "--loss",
        help="Training loss per design's step, on standardised targets: mse, or pearson (1 - Pearson "
        "correlation over the step's training nodes: invariant to each design's label scale and offset, "
        "the metric held-out designs are scored on; the prediction's own scale is then free, so its R^2 "
        "and MAE mean little). Validation loss is the MSE either way (docs/training.md).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the split, initial weights, design order and dropout."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda (cuda:N) or auto."),
    threads: Optional[int] = typer.Option(
        None,
        "--threads",
        min=1,
        help="CPU threads for torch (the same count is needed to reproduce a run bit for bit).",
    ),
    force: bool = typer.Option(
        False,
        "--force",
        help="Start a new run in an --out folder that already holds one (its best.pt is deleted once the new run has read its data and built its model; last.pt is replaced).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the run summary as JSON on stdout (no progress bar)."),
) -> None:
    """Train a congestion model (GSR-GNN or a baseline) on the labelled designs of a graph store.

    Full-graph training, one design per optimiser step (designs shuffled each epoch). To measure what the model does on designs it never saw, hold designs out by name: --val-designs for early stopping, --test-designs for the final score. Otherwise, with 3 or more labelled designs the split is by design, otherwise by node masks (stored in the store, or drawn with --seed); the split is always printed and saved. Features are standardised with statistics of the training nodes, saved with the model. AdamW, cosine learning-rate decay, gradient clipping and early stopping on the validation metric.

    The run folder receives last.pt (every epoch) and best.pt (best validation score), both written atomically; metrics.csv, metrics.json, curves.png and summary.json (with the test metrics of best.pt). Runs are reproducible on CPU for a given seed and thread count.

    Data-parallel across designs: launch under torchrun (gloo on CPU, nccl on GPU), e.g.

      torchrun --no-python --nproc-per-node 4 gsr-eda train --store S.h5 --out RUN --device cuda

    Examples:

      gsr-eda train --store designs.h5 --model gsr --layers 64 --hidden 256 --k 8 --out runs/gsr64

      gsr-eda train --store designs.h5 --val-designs cpu_b --test-designs cpu_c --out runs/held_out

      gsr-eda train --resume runs/gsr64 --epochs 80
    """
    import os

    import torch

    from gsr_eda.errors import InputError
    from gsr_eda.train.trainer import TrainConfig
    from gsr_eda.train.trainer import train as run_training

    if threads is not None:
        torch.set_num_threads(threads)
    if resume is not None:
        if out is not None and out.resolve() != resume.resolve():
            raise InputError("--resume continues a run in place; do not also give a different --out")
        out = resume
    elif out is None or store is None:
        raise InputError("give --store and --out (or --resume RUN to continue a run)")
    else:
        check_new_run_folder(out, force)
    cfg = TrainConfig(
        store=str(store.resolve()) if store is not None else "",  # "": taken from the checkpoint
        designs=split_names(designs),
        val_designs=split_names(val_designs),
        test_designs=split_names(test_designs),
        multiscale=multiscale,
        coarse_levels=coarse_levels,
        multiscale_epochs=multiscale_epochs,
        window_fraction=window_fraction,
        ignore_features=[] if ignore_features.strip().lower() == "none" else split_names([ignore_features]) or [],
        feature_scale=feature_scale,
        target_scale=target_scale,
        model=model,
        hidden=hidden,
        layers=layers,
        groups=groups,
        k=k,
        net_hidden=net_hidden,
        placement_neighbours=placement_neighbours,
        dropout=dropout,
        epochs=epochs,
        lr=lr,
        min_lr_ratio=min_lr_ratio,
        weight_decay=weight_decay,
        grad_clip=grad_clip,
        ema_decay=ema_decay,
        gcell_head=gcell_head,
        patience=patience,
        min_epochs=min_epochs,
        monitor=monitor,
        seed=seed,
        loss=loss,
        split=split,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        device=device,
        num_threads=torch.get_num_threads(),
    )
    log = (lambda msg: typer.echo(msg, err=True)) if json_out else typer.echo
    result = run_training(cfg, out, resume=resume is not None, log=log, show_progress=not json_out)
    if os.environ.get("RANK", "0") != "0":
        return  # under torchrun only rank 0 reports
    if json_out:
        import json

        summary_path = result.out_dir / "summary.json"
        if summary_path.exists():
            emit_json(json.loads(summary_path.read_text()))
    else:
        typer.echo(f"run folder: {result.out_dir}  (best.pt, last.pt, metrics.csv, curves.png, summary.json)")
