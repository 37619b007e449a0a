"""Quality on designs the model never saw: leave one design out, next to the model-free estimates.

Every labelled real design the project can read from ``../shared/data`` is held out in turn
(the *test* design, scored once with ``best.pt``); the next design in the list is the
*validation* design (early stopping); all others train. No node of a test design is ever
trained on. Every row is scored on the same cells and gcells as RUDY, pin RUDY and cell
density (and the proxy label itself where the label comes from a router), so the table says
whether the model beats the estimate a user already has for free.

Tasks:

* ``proxy``: CircuitNet zero-riscy-a and -b, asap7 ``aes_place``, sky130hd ``gcd`` and the qflow
  ``serv`` placements A and B, all with the proxy label (the CircuitNet label maps are not
  shipped).
* ``routed``: the qflow designs routed by qrouter (serv A and B, ``routed.def.gz``; picorv32 A and
  B when ``--routed-dir`` holds their routes), labelled with the tracks the router really used
  (``--label-kind routed-def``). With only two designs there is no third to validate on: each
  trains on the other for a fixed number of epochs and is scored with ``last.pt`` (no model
  selection at all).

Each configuration and fold runs in its own process through ``gsr_eda.train.train`` (the code
``gsr-eda train --test-designs T --val-designs V`` runs). After every epoch the test design is
predicted from ``last.pt`` (outside the timed training), so each row also carries the learning
curve on the unseen design: training seconds against held-out Pearson, the project's
time-to-quality figure.

    python benchmarks/bench_quality.py --task proxy --configs gsr:16:8 revgnn:16 gcn:2 gcn:4 sage:2 sage:4 \\
        --epochs 30 --hidden 128 --out benchmarks/results/quality/lodo_proxy.jsonl

Configs are ``model:layers`` or ``gsr:layers:k``, with an optional multiscale suffix ``:c2f`` (coarse-to-fine), ``:sub`` (sub-to-full) or ``:grad`` (multiscale gradients), e.g. ``gsr:16:8:c2f``. ``--loss pearson`` trains every configuration with ``gsr-eda train --loss pearson`` (default ``mse``); ``--feature-scale design`` and ``--target-scale design`` likewise. Timings depend on the machine's load: say so.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_ingest import design_args  # the aes_place ingest arguments, shared with the ingest benchmark

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
OSU018_LEF = Path("/usr/share/qflow/tech/osu018/osu018_stdcells.lef")
CIRCUITNET = (
    ("zero-riscy-a-1-c2", "7157-zero-riscy-a-1-c2-u0.8-m1-p1-f0"),
    ("zero-riscy-b-1-c2", "9276-zero-riscy-b-1-c2-u0.85-m1-p1-f1"),
)
BASELINE_NAMES = ("rudy", "pin_rudy", "density", "proxy")


def ingest_commands(task: str, routed_dir: Path | None = None) -> dict[str, list[str]]:
    """Design name -> ``gsr-eda ingest`` arguments (without ``--store``) for the task's designs.

    ``routed_dir`` (routed task) may hold ``picorv32A_routed.def`` / ``picorv32B_routed.def``, as
    ``gsr-eda route --def ../shared/data/qflow/picorv32-X/placed.def.gz --lef OSU018 --out DIR/picorv32X_routed.def``
    writes them (times in benchmarks/README.md); their route records give the provenance.
    """
    sky130, qflow = DATA / "openroad" / "sky130hd", DATA / "qflow"
    if task == "routed":
        routed = {f"serv-{v}": (qflow / f"serv-{v}" / "routed.def.gz", qflow / f"serv-{v}" / "fail.out") for v in "AB"}
        for v in "AB":
            path = routed_dir / f"picorv32{v}_routed.def" if routed_dir else None
            if path is not None and path.exists():
                routed[f"picorv32-{v}"] = (path, None)
        commands = {}
        for name, (labels, failed) in routed.items():
            argv = [
                "design",
                "--def",
                str(qflow / name / "placed.def.gz"),
                "--lef",
                str(OSU018_LEF),
                "--name",
                name,
                "--labels",
                str(labels),
                "--label-kind",
                "routed-def",
            ]
            if failed is not None:  # qflow's own routes: provenance given here, not in a route record
                argv += [
                    "--label-option",
                    "tool=qrouter",
                    "--label-option",
                    "tool_version=1.4.71",
                    "--label-option",
                    f"failed_nets={failed}",
                ]
            commands[name] = argv
        return commands
    commands = {  # a CircuitNet design is stored under its placement sample's name
        sample: [
            "circuitnet",
            "--root",
            str(DATA / "circuitnet"),
            "--design",
            base,
            "--placement",
            str(DATA / "circuitnet" / "instance_placement_gcell" / f"{sample}.npy"),
        ]
        for base, sample in CIRCUITNET
    }
    commands["aes_place"] = [*design_args()["aes_place"], "--name", "aes_place"]
    commands["gcd_sky130hd"] = [
        "design",
        "--def",
        str(sky130 / "insert_decap_gcd.def"),
        "--lef",
        str(sky130 / "sky130hd.tlef"),
        "--lef",
        str(sky130 / "sky130_fd_sc_hd_merged.lef"),
        "--name",
        "gcd_sky130hd",
    ]
    for v in "AB":
        commands[f"serv-{v}"] = [
            "design",
            "--def",
            str(qflow / f"serv-{v}" / "placed.def.gz"),
            "--lef",
            str(OSU018_LEF),
            "--name",
            f"serv-{v}",
        ]
    return commands


def build_store(task: str, cache: Path, reingest: bool, routed_dir: Path | None = None) -> tuple[Path, list[str]]:
    """Ingest the task's designs into one store (reused when present); returns it and the design names."""
    from gsr_eda.store import GraphStore

    cache.mkdir(parents=True, exist_ok=True)
    store = cache / f"{task}.h5"
    if reingest:
        store.unlink(missing_ok=True)
    exe = str(Path(sys.executable).with_name("gsr-eda"))
    present = set()
    if store.exists():
        with GraphStore(store) as gs:
            present = set(gs.designs)
        print(f"reusing {store} ({', '.join(sorted(present))}); --reingest after changes to ingest", file=sys.stderr)
    missing = {name: argv for name, argv in ingest_commands(task, routed_dir).items() if name not in present}
    if missing and not DATA.is_dir():
        sys.exit(f"benchmark data not found at {DATA} (needed to ingest {', '.join(sorted(missing))} into {store})")
    for argv in missing.values():
        subprocess.run([exe, "ingest", *argv, "--store", str(store)], check=True, stdout=subprocess.DEVNULL)
    with GraphStore(store) as gs:
        names = sorted(gs.designs)
    return store, names


def folds(names: list[str]) -> list[tuple[str, str | None]]:
    """``(test, validation)`` per fold: every design is the test design once, the next one validates.

    With two designs there is none left to validate on (``None``: fixed epochs, ``last.pt``).
    """
    if len(names) < 3:
        return [(name, None) for name in names]
    return [(name, names[(i + 1) % len(names)]) for i, name in enumerate(names)]


def run_worker(worker_args: list[str], timeout: float, identity: dict) -> dict:
    """One fold in a child process (``bench_quality.py --worker WORKER_ARGS``): its row, or
    ``identity`` with the error (the child's last stderr line, or the timeout)."""
    try:
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", *worker_args], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return identity | {"error": f"timeout after {timeout}s"}
    if proc.returncode == 0:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    last = (proc.stderr.strip().splitlines() or ["no message"])[-1][:200]
    return identity | {"error": f"exit {proc.returncode}: {last}"}


def worker(args: argparse.Namespace) -> dict:
    """Train one configuration on one fold in ``--run-dir`` (kept), or in a temporary folder."""
    if args.run_dir:
        out = Path(args.run_dir)
        out.mkdir(parents=True, exist_ok=True)
        return train_fold(args, out) | {"run_dir": str(out)}
    with tempfile.TemporaryDirectory(prefix="bench_quality_") as tmp:
        return train_fold(args, Path(tmp))


def train_fold(args: argparse.Namespace, out: Path) -> dict:
    """Train one configuration on one fold into ``out``, following the unseen design epoch by epoch."""
    import torch

    from gsr_eda.bench.memory import peak_rss_bytes
    from gsr_eda.predict import load_predictor, predict_design
    from gsr_eda.store import GraphStore
    from gsr_eda.train.evaluation import evaluate_records
    from gsr_eda.train.metrics import regression_metrics
    from gsr_eda.train.trainer import TrainConfig, train

    torch.set_num_threads(args.threads)
    with GraphStore(args.store) as gs:
        test = gs.read(args.test)
    fixed_epochs = args.val is None  # two designs: no validation design, no model selection
    # (epoch, training wall seconds, held-out cell Pearson, training CPU seconds of this process),
    # both clocks from the start of train() (reading the data, coarsening, every epoch) minus the
    # time spent here predicting the test design. CPU seconds are the figure to compare on a
    # shared machine: other processes' load stretches wall time, not the work this one does.
    curve: list[tuple[int, float, float, float]] = []
    outside = [0.0, 0.0]  # wall, CPU seconds spent predicting the test design
    clock = {}

    def follow_test_design(row: dict) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        trained = (round(wall - clock["wall"] - outside[0], 2), round(cpu - clock["cpu"] - outside[1], 2))
        predictor = load_predictor(out / "last.pt")
        pred = predict_design(predictor, test.design, test.indptr, test.indices, test.features)
        pearson = regression_metrics(pred.cells, test.cell_labels)["pearson"]
        outside[0] += time.perf_counter() - wall
        outside[1] += time.process_time() - cpu
        curve.append((row["epoch"], trained[0], round(pearson, 4), trained[1]))

    # With a validation design: early stopping on it, best.pt scored on the test design. Without
    # (two designs): the test design only stands in as the trainer's validation design, nothing
    # stops early, and last.pt is scored, so no choice is ever made on the test design.
    cfg = TrainConfig(
        store=str(args.store),
        model=args.model,
        layers=args.layers,
        hidden=args.hidden,
        k=args.k,
        net_hidden=args.net_hidden,
        epochs=args.epochs,
        seed=args.seed,
        loss=args.loss,
        patience=args.epochs if fixed_epochs else args.patience,
        val_designs=[args.test] if fixed_epochs else [args.val],
        test_designs=None if fixed_epochs else [args.test],
        num_threads=args.threads,
        ignore_features=split_features(args.ignore_features),
        multiscale=args.multiscale,
        coarse_levels=args.coarse_levels,
        multiscale_epochs=args.multiscale_epochs,
        window_fraction=args.window_fraction,
        **shared_options(args),
    )
    started = time.perf_counter()
    clock.update(wall=started, cpu=time.process_time())
    result = train(cfg, out, log=lambda _m: None, show_progress=False, on_epoch_end=follow_test_design)
    wall = time.perf_counter() - started
    checkpoint = out / ("last.pt" if fixed_epochs else "best.pt")
    scored = evaluate_records(load_predictor(checkpoint), [test], roles={args.test: "test"})
    entry = scored["designs"][args.test]
    return {
        "task": args.task,
        "model": args.model,
        "layers": args.layers,
        "k": args.k if args.model == "gsr" else None,
        "multiscale": args.multiscale,
        "coarse_levels": args.coarse_levels if args.multiscale != "off" else None,
        "multiscale_epochs": args.multiscale_epochs if args.multiscale != "off" else None,
        "window_fraction": args.window_fraction if args.multiscale in ("sub-to-full", "gradients") else None,
        "hidden": args.hidden,
        "net_hidden": cfg.model_options().get("net_hidden"),  # resolved: gsr-cellnet's default is half of hidden
        "graph_placement_neighbours": cfg.graph_placement_neighbours(),  # 0 with --multiscale
        "epochs": args.epochs,
        "seed": args.seed,
        "loss": args.loss,
        "test": args.test,
        "val": args.val,
        "ignore_features": args.ignore_features,
        **shared_options(args),
        "train": result.split.train_designs,
        "selection": "last.pt (fixed epochs)" if fixed_epochs else "best.pt",
        "best_epoch": result.best_epoch,
        "epochs_run": len(result.history),
        "cells": entry["cells"],
        "gcells": entry["gcells"],
        "baselines": entry["baselines"],
        "curve": curve,
        "train_seconds": curve[-1][1] if curve else None,
        "train_cpu_seconds": curve[-1][3] if curve else None,
        "wall_seconds": round(wall, 2),
        "peak_rss_mb": round(peak_rss_bytes() / 2**20, 1),
        "label": test.label_name,
        "label_is_proxy": test.label_is_proxy,
    }


def split_features(text: str) -> list[str]:
    """``--ignore-features``: comma-separated names, or ``none``."""
    return [] if text.strip().lower() == "none" else [f for f in text.split(",") if f]


#: ``gsr-eda train`` options every configuration of a run shares: forwarded to each worker as
#: ``--name value``, set in its TrainConfig and recorded in its row, all from this one list.
SHARED_OPTIONS = (
    "lr",
    "min_epochs",
    "dropout",
    "ema_decay",
    "gcell_head",
    "placement_neighbours",
    "feature_scale",
    "target_scale",
    "device",
)


def shared_options(args: argparse.Namespace) -> dict:
    return {name: getattr(args, name) for name in SHARED_OPTIONS}


def trainer_default(name: str):
    """``gsr-eda train``'s default for TrainConfig field ``name`` (a row trained at another is named so)."""
    from gsr_eda.train import TrainConfig

    return TrainConfig.__dataclass_fields__[name].default


#: Config suffix -> ``gsr-eda train --multiscale`` schedule.
SCHEDULE_SUFFIXES = {"c2f": "coarse-to-fine", "sub": "sub-to-full", "grad": "gradients"}


def parse_config(text: str) -> tuple[str, int, int, str]:
    """``model:layers[:k][:c2f|sub|grad]`` -> (model, layers, k, multiscale schedule)."""
    parts = text.split(":")
    schedule = "off"
    if parts[-1] in SCHEDULE_SUFFIXES:
        schedule = SCHEDULE_SUFFIXES[parts.pop()]
    return parts[0], int(parts[1]), int(parts[2]) if len(parts) > 2 else 8, schedule


def config_name(row: dict) -> str:
    """How a result row's configuration is printed: ``gsr 16 k8``, ``gsr 16 k8 coarse-to-fine``,
    ``gsr 16 k8 pearson loss``."""
    name = f"{row['model']} {row['layers']}" + (f" k{row['k']}" if row.get("k") else "")
    schedule = row.get("multiscale", "off")
    if schedule != "off":
        name = f"{name} {schedule}"
        if row.get("multiscale_epochs") != trainer_default("multiscale_epochs"):
            name = f"{name} {row['multiscale_epochs']} cheap epochs"
    return " ".join([name, *training_labels(row)])


def training_labels(row: dict) -> list[str]:
    """How a row was trained, where it differs from today's defaults (empty: the defaults)."""
    labels = []
    loss = row.get("loss", "mse")  # rows written before --loss trained with MSE
    if loss != "mse":
        labels.append(f"{loss} loss")
    lr = row.get("lr", 1e-3)  # rows written before lr was recorded trained at 1e-3
    if lr != trainer_default("lr"):
        labels.append(f"lr {lr:g}")
    if row.get("dropout"):
        labels.append(f"dropout {row['dropout']:g}")
    if row.get("ema_decay"):
        labels.append(f"ema {row['ema_decay']:g}")
    if row.get("gcell_head", False) != trainer_default("gcell_head"):  # rows before it: mapped cells
        labels.append("gcell head" if row.get("gcell_head") else "mapped gcells")
    if row.get("gcell_loss_weight"):  # rows of the reverted gcell-loss experiment (docs/training.md)
        labels.append(f"gcell-loss {row['gcell_loss_weight']:g}")
    if row.get("device", "cpu") != "cpu":
        labels.append(f"on {row['device']}")
    if row.get("min_epochs", 0) != trainer_default("min_epochs"):  # rows before --min-epochs: every epoch
        labels.append(f"min-epochs {row.get('min_epochs', 0)}")
    # Rows written before the scales were options standardised with pooled statistics.
    labels += [f"pooled {what}s" for what in ("feature", "target") if row.get(f"{what}_scale", "pooled") == "pooled"]
    return labels


def _f(value: float | None) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def markdown(rows: list[dict]) -> str:
    """Per test design: each model and each baseline, Pearson / Spearman / Kendall on cells and gcells."""
    head = (
        "| test design | estimate | cells Pearson | Spearman | Kendall | hot P | gcells Pearson | Spearman "
        "| Kendall | hot P | train s | best epoch |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    by_test: dict[str, list[dict]] = {}
    for r in rows:
        by_test.setdefault(r["test"], []).append(r)

    def cols(c: dict, g: dict) -> str:
        return " | ".join(_f(m.get(k)) for m in (c, g) for k in ("pearson", "spearman", "kendall", "hotspot_precision"))

    for test, group in by_test.items():
        for r in group:
            if "error" in r:
                lines.append(f"| {test} | {r['model']}:{r['layers']} | failed: {r['error']} |" + " |" * 9)
                continue
            lines.append(
                f"| {test} | {config_name(r)} | {cols(r['cells'], r['gcells'])} | {r['train_seconds']:.0f} | {r['best_epoch']} |"
            )
        first = next((r for r in group if "baselines" in r), None)
        for b in BASELINE_NAMES if first else ():
            if b in first["baselines"]:
                s = first["baselines"][b]
                lines.append(f"| {test} | {b} (no model) | {cols(s['cells'], s['gcells'])} | | |")
    return "\n".join(lines)


CLOCKS = {"wall": 1, "cpu": 3}  # index of the clock in a curve point


def first_time_at(curve: list, target: float, clock: str = "wall") -> float | None:
    """Training seconds at the first epoch whose held-out cell Pearson reaches ``target`` (None: never)."""
    return next((point[CLOCKS[clock]] for point in curve if point[2] >= target), None)


def _single_scale_gsr(group: list[dict], row: dict) -> dict | None:
    """The fold's single-scale GSR-GNN row trained like ``row`` (same learning rate, scales, ...)."""
    return next(
        (
            r
            for r in group
            if r["model"] == "gsr"
            and r.get("multiscale", "off") == "off"
            and training_labels(r) == training_labels(row)
        ),
        None,
    )


def time_to_quality(rows: list[dict], reference: str = "revgnn", clock: str = "wall", fraction: float = 1.0) -> str:
    """Per test design: seconds each configuration needs to reach ``fraction`` of the reference model's
    best held-out Pearson, and that time as a fraction of the reference's and of single-scale GSR-GNN's."""
    if clock == "cpu" and any(len(r.get("curve", [[]])[0]) < 4 for r in rows if r.get("curve")):
        clock = "wall"  # rows written before CPU seconds were recorded
    lines = [
        f"Clock: {clock} seconds from the start of training. Target: "
        + ("the" if fraction == 1.0 else f"{fraction:g} x the")
        + f" best held-out cells Pearson of {reference}.",
        "",
        "| test design | target | configuration | seconds to target | x reference | x single-scale gsr "
        "| best held-out Pearson | seconds to its best |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    by_test: dict[str, list[dict]] = {}
    summary: dict[str, list[tuple]] = {}
    for r in rows:
        if r.get("curve"):
            by_test.setdefault(r["test"], []).append(r)
    for test, group in by_test.items():
        ref = next((r for r in group if r["model"] == reference), None)
        if ref is None:
            continue
        target = fraction * max(point[2] for point in ref["curve"])
        ref_time = first_time_at(ref["curve"], target, clock)
        for r in group:
            single = _single_scale_gsr(group, r)
            single_time = first_time_at(single["curve"], target, clock) if single else None
            best = max(r["curve"], key=lambda point: point[2])
            reached = first_time_at(r["curve"], target, clock)
            summary.setdefault(config_name(r), []).append((reached, ref_time, single_time, best[2]))
            lines.append(
                f"| {test} | {target:.3f} | {config_name(r)} | {_seconds(reached)} | {_ratio(reached, ref_time)} "
                f"| {_ratio(reached, single_time)} | {best[2]:.3f} | {best[CLOCKS[clock]]:.0f} |"
            )
    lines += [
        "",
        "| configuration | folds reaching the target | median x reference | median x single-scale gsr "
        "| mean best held-out Pearson |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, points in summary.items():
        to_ref = [t / r for t, r, _, _ in points if t is not None and r]
        to_single = [t / s for t, _, s, _ in points if t is not None and s]
        lines.append(
            f"| {name} | {sum(t is not None for t, *_ in points)} of {len(points)} | {_median(to_ref)} "
            f"| {_median(to_single)} | {sum(p for *_, p in points) / len(points):.3f} |"
        )
    return "\n".join(lines)


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}" if values else "-"


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.0f}"


def _ratio(value: float | None, base: float | None) -> str:
    return "-" if value is None or not base else f"{value / base:.2f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--task", default="proxy", choices=["proxy", "routed"])
    p.add_argument("--configs", nargs="+", default=["gsr:16:8", "revgnn:16", "gcn:2", "gcn:4", "sage:2", "sage:4"])
    p.add_argument("--tests", nargs="*", default=None, help="Only these test designs (default: every design).")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--patience", type=int, default=10)
    p.add_argument(
        "--dropout", type=float, default=trainer_default("dropout"), help="gsr-eda train --dropout of every config."
    )
    p.add_argument(
        "--ema-decay", type=float, default=trainer_default("ema_decay"), help="gsr-eda train --ema-decay; recorded."
    )
    p.add_argument(
        "--min-epochs", type=int, default=trainer_default("min_epochs"), help="gsr-eda train --min-epochs; recorded."
    )
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument(
        "--placement-neighbours",
        type=int,
        default=trainer_default("placement_neighbours"),
        help="gsr-eda train --placement-neighbours of every configuration; recorded.",
    )
    p.add_argument(
        "--net-hidden",
        type=int,
        default=trainer_default("net_hidden"),
        help="gsr-eda train --net-hidden (gsr-cellnet's net state; worker option, set by bench_cellnet.py).",
    )
    p.add_argument("--lr", type=float, default=trainer_default("lr"), help="gsr-eda train --lr of every configuration.")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--gcell-head",
        action=argparse.BooleanOptionalAction,
        default=trainer_default("gcell_head"),
        help="gsr-eda train --gcell-head of every configuration; recorded.",
    )
    p.add_argument(
        "--device", default=trainer_default("device"), help="gsr-eda train --device of every configuration (cpu, cuda)."
    )
    p.add_argument(
        "--loss",
        default="mse",
        choices=["mse", "pearson"],
        help="Training loss of every configuration (gsr-eda train --loss); recorded in each row.",
    )
    for what in ("feature", "target"):
        p.add_argument(
            f"--{what}-scale",
            default=trainer_default(f"{what}_scale"),
            choices=["pooled", "design"],
            help=f"Every configuration's gsr-eda train --{what}-scale; recorded in each row.",
        )
    p.add_argument(
        "--ignore-features",
        default="x_norm,y_norm",
        help="Stored features the models do not read (gsr-eda train's default; 'none' for all).",
    )
    p.add_argument("--coarse-levels", type=int, default=2, help="Multiscale configs: gsr-eda train --coarse-levels.")
    p.add_argument("--multiscale-epochs", type=int, default=10, help="Multiscale configs: epochs on the cheap scales.")
    p.add_argument(
        "--window-fraction", type=float, default=0.25, help="Multiscale configs: share of the die a window covers."
    )
    p.add_argument("--cache", type=Path, default=REPO / "build" / "bench_quality")
    p.add_argument("--reingest", action="store_true", help="Re-ingest the cached stores.")
    p.add_argument(
        "--routed-dir",
        type=Path,
        default=None,
        help="Routed task: folder with picorv32A_routed.def / picorv32B_routed.def (gsr-eda route).",
    )
    p.add_argument("--out", type=Path, default=None, help="Append rows to this JSON-lines file.")
    p.add_argument("--timeout", type=int, default=3600, help="Seconds per configuration and fold.")
    p.add_argument(
        "--markdown", type=Path, nargs="+", default=None, help="Only print the tables of existing JSON-lines files."
    )
    p.add_argument(
        "--target-fraction",
        type=float,
        default=1.0,
        help="Time to quality: the target is this fraction of the reference's best held-out Pearson.",
    )
    p.add_argument(
        "--clock",
        default="cpu",
        choices=sorted(CLOCKS),
        help="Time-to-quality clock: this process's CPU seconds or wall.",
    )
    # Internal: one configuration and fold in this process.
    p.add_argument(
        "--keep-runs",
        type=Path,
        default=None,
        help="Keep each fold's run folder (checkpoints, curves) as DIR/<configuration>/<test design>.",
    )
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--run-dir", default=None, help=argparse.SUPPRESS)
    p.add_argument("--store", help=argparse.SUPPRESS)
    p.add_argument("--test", help=argparse.SUPPRESS)
    p.add_argument("--val", default=None, help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--layers", type=int, help=argparse.SUPPRESS)
    p.add_argument("--k", type=int, default=8, help=argparse.SUPPRESS)
    p.add_argument("--multiscale", default="off", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    if args.markdown:
        rows = [json.loads(line) for path in args.markdown for line in path.read_text().splitlines() if line.strip()]
        print(markdown(rows) + "\n\n" + time_to_quality(rows, clock=args.clock, fraction=args.target_fraction))
        return
    store, names = build_store(args.task, args.cache, args.reingest, args.routed_dir)
    rows = []
    for test, val in folds(names):
        if args.tests and test not in args.tests:
            continue
        for config in args.configs:
            model, layers, k, schedule = parse_config(config)
            cmd = [
                "--task",
                args.task,
                "--store",
                str(store),
                "--test",
                test,
                "--model",
                model,
                "--layers",
                str(layers),
                "--k",
                str(k),
                "--epochs",
                str(args.epochs),
                "--patience",
                str(args.patience),
                "--hidden",
                str(args.hidden),
                "--seed",
                str(args.seed),
                "--loss",
                args.loss,
                "--threads",
                str(args.threads),
                "--ignore-features",
                args.ignore_features,
                "--multiscale",
                schedule,
                "--coarse-levels",
                str(args.coarse_levels),
                "--multiscale-epochs",
                str(args.multiscale_epochs),
                "--window-fraction",
                str(args.window_fraction),
            ]
            for name, value in shared_options(args).items():
                flag = name.replace("_", "-")
                cmd += (
                    [f"--{flag}" if value else f"--no-{flag}"] if isinstance(value, bool) else [f"--{flag}", str(value)]
                )
            if val is not None:
                cmd += ["--val", val]
            if args.keep_runs:
                cmd += ["--run-dir", str(args.keep_runs / config.replace(":", "-") / test)]
            row = run_worker(cmd, args.timeout, {"test": test, "model": model, "layers": layers})
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k not in ("baselines", "curve")}), flush=True)
            if args.out:
                with open(args.out, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
    print(markdown(rows) + "\n\n" + time_to_quality(rows, clock=args.clock))


if __name__ == "__main__":
    main()
