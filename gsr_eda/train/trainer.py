r"""Full-graph training of congestion models on a graph store, one design per optimiser step.

Loss (``TrainConfig.loss``, ``gsr-eda train --loss``), over the step's training nodes :math:`T` of
one design, on the standardised targets :math:`z = (y - \mu_y)/\sigma_y`, with :math:`\mu_y, \sigma_y`
the design's own (``target_scale="design"``, the default) or those of all training nodes
(``"pooled"``); features likewise (``feature_scale``; :mod:`gsr_eda.predict.normalization`):

* ``mse`` (default): :math:`\mathcal L = \frac{1}{|T|}\sum_{i \in T} (\hat z_i - z_i)^2`. It depends on
  each design's label scale: a design whose labels spread twice as wide weighs four times as much,
  and a model is penalised for the offset and scale of its prediction on a design, which Pearson
  per design (the metric that counts on unseen designs) ignores.
* ``pearson``: :math:`\mathcal L = 1 - r`, with
  :math:`r = \frac{1}{|T|}\sum_{i \in T} \frac{\hat z_i - \bar{\hat z}}{\sqrt{s^2_{\hat z} + \epsilon}}
  \cdot \frac{z_i - \bar z}{\sqrt{s^2_z + \epsilon}}`, the means and (population) variances
  :math:`s^2` taken over :math:`T` and :math:`\epsilon = 10^{-8}` guarding a constant prediction
  or target. Standardisation is affine, and :math:`r` is invariant to :math:`z \mapsto a z + b`
  (:math:`a > 0`) of the target and of the prediction (exactly, up to :math:`\epsilon / s^2`):
  each design's step weighs the same whatever its label scale or offset, and the model is free
  in the scale and offset of its output (its R^2 and MAE are then not meaningful; its rank
  metrics and Pearson are). Bounded in [0, 2], so one design cannot dominate an epoch's
  gradients. A multiscale step applies the same loss to each of its terms (with the term's
  weight).

Validation loss (``val_loss``, ``--monitor loss``) stays the MSE on standardised targets whatever
``loss`` is; ``train_loss`` is the mean step loss of the chosen ``loss``. After training, with
``gcell_head`` (the default) and validation designs, the gcell head is fitted on their gcell labels
and stored in the checkpoints (:mod:`gsr_eda.predict.gcell_head`).

Optimiser AdamW, cosine learning-rate decay over ``epochs`` (to ``lr * min_lr_ratio``), gradient
clipping by global norm, early stopping when the monitored validation metric has not improved
for ``patience`` epochs. The first ``min_epochs`` epochs are never chosen as ``best.pt`` and never
count towards patience: an underfit early model can rank one validation design well by chance,
and on unseen designs that choice was the commonest failure (docs/training.md, "Unseen designs").
With ``ema_decay`` :math:`\beta > 0` the weights validated, saved (``model_state``) and predicted
with are the exponential moving average :math:`\bar\theta_t = \beta\,\bar\theta_{t-1} + (1 -
\beta)\,\theta_t` over optimiser steps (``torch.optim.swa_utils.AveragedModel``;
:math:`\bar\theta_1 = \theta_1`); the trained weights are kept in ``train`` for resuming.

Reproducibility: every random draw (design order, dropout) comes from generators re-seeded at
the start of each epoch from ``(seed, epoch, rank)``, and deterministic algorithms are requested,
so two CPU runs with the same seed, inputs and thread count give identical losses and weights,
and ``resume`` continues an interrupted run exactly. (Float sums may associate differently
with a different ``torch.get_num_threads()``; the thread count is recorded in the run config.)

Outputs in the run folder: ``last.pt`` (every epoch) and ``best.pt`` (best validation score),
``metrics.csv`` and ``metrics.json`` (one row per epoch), ``curves.png`` and ``summary.json``.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from gsr_eda import __version__
from gsr_eda.atomic import atomic_open, write_text_atomically
from gsr_eda.errors import InputError
from gsr_eda.graph.coarsening import build_hierarchy
from gsr_eda.graph.features import position_maps
from gsr_eda.graph.placement_edges import DEFAULT_PLACEMENT_NEIGHBOURS
from gsr_eda.jsonable import json_safe
from gsr_eda.models import ADJACENCY_NORMALIZATION, MODEL_NAMES, build_model
from gsr_eda.models.gsr_cellnet import default_net_hidden, default_placement_groups
from gsr_eda.models.inputs import CELLNET_MODELS, model_graph
from gsr_eda.ops import CSRAdjacency
from gsr_eda.predict.checkpoint import (
    BEST_NAME,
    LAST_NAME,
    check_feature_schema,
    load_checkpoint,
    model_from_checkpoint,
    resolve_device,
    save_checkpoint,
)
from gsr_eda.predict.core import predict_design
from gsr_eda.predict.gcell_head import HEAD_INPUTS, GcellHead, head_inputs
from gsr_eda.predict.normalization import SCALES, Standardizer
from gsr_eda.predict.predictor import predictor_from_checkpoint
from gsr_eda.store import GraphStore
from gsr_eda.train.curves import plot_learning_curves
from gsr_eda.train.distributed import init_distributed, shutdown_distributed
from gsr_eda.train.metrics import regression_metrics
from gsr_eda.train.multiscale import SCHEDULES, LossTerm, MultiscaleSchedule, ScaleGraph
from gsr_eda.train.splits import MIN_DESIGNS_FOR_DESIGN_SPLIT, TEST, TRAIN, VAL, SplitPlan, plan_split

DEFAULT_IGNORED_FEATURES = ("x_norm", "y_norm")
#: What a run saved before these options existed trained with: its resume keeps that behaviour.
OLD_RUN_DEFAULTS = {
    "feature_scale": "pooled",
    "target_scale": "pooled",
    "min_epochs": 0,
    "gcell_head": False,
    "placement_neighbours": 0,
}
#: Validation metrics that can drive early stopping and ``best.pt``; all but ``loss`` are maximised.
MONITORS = ("pearson", "spearman", "kendall", "r2", "loss")
#: Training losses (module docstring): MSE on standardised targets, or 1 - Pearson per design.
LOSSES = ("mse", "pearson")
#: Guards the variances of the Pearson loss against a constant prediction or target.
PEARSON_EPS = 1e-8
EPOCH_COLUMNS = (
    "epoch",
    "lr",
    "train_loss",
    "val_loss",
    "val_pearson",
    "val_spearman",
    "val_kendall",
    "val_r2",
    "val_mae",
    "seconds",
)


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved in every checkpoint)."""

    store: str
    designs: list[str] | None = None  # None: every labelled design in the store
    model: str = "gsr"
    hidden: int = 128
    layers: int = 16
    groups: int = 2
    k: int = 8
    #: Nearest nodes on the die joined to each node's netlist neighbours (the cell-net models take
    #: them as a cell -> cell relation). 8 since 2026-12-04: held-out cells Pearson 0.645 -> 0.683
    #: for GSR-GNN 16 k 8 (docs/training.md, "Placement neighbours").
    placement_neighbours: int = DEFAULT_PLACEMENT_NEIGHBOURS
    #: Width of the net nodes' state (gsr-cellnet; None: models.gsr_cellnet.default_net_hidden, half of hidden).
    net_hidden: int | None = None
    dropout: float = 0.0
    epochs: int = 50
    #: Peak learning rate. 3e-3 since 2026-12-03: a run on a few designs takes few optimiser steps
    #: (one per design and epoch), and GSR-GNN's top-k gradients reach k of d weights per row, so it
    #: was undertrained at 1e-3 (docs/training.md, "Unseen designs"); the dense models did not move.
    lr: float = 3e-3
    min_lr_ratio: float = 0.01
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    #: Weights validated, saved and predicted with: an exponential moving average of the trained
    #: ones with this decay per optimiser step (0: the trained weights themselves; module docstring).
    ema_decay: float = 0.0
    #: Fit a gcell head on the validation designs after training (gsr_eda.predict.gcell_head); it
    #: raised the held-out gcell map by 0.05-0.06 Pearson (docs/training.md, "The gcell map").
    gcell_head: bool = True
    patience: int = 10
    min_epochs: int = 10  # epochs before best.pt may be chosen and patience counts (module docstring)
    monitor: str = "pearson"
    seed: int = 0
    loss: str = "mse"  # mse | pearson (module docstring)
    split: str = "auto"  # auto | design | node
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    #: Stored features the model does not read; the absolute die position by default, since where a
    #: hotspot sits on one die does not carry over to another (docs/training.md, "Unseen designs").
    ignore_features: list[str] = field(default_factory=lambda: list(DEFAULT_IGNORED_FEATURES))
    #: Where the feature and target standardisation statistics come from: pooled over the training
    #: designs, or each design's own (gsr_eda.predict.normalization; docs/training.md, "Unseen designs").
    feature_scale: str = "design"
    target_scale: str = "design"
    val_designs: list[str] | None = None  # held out for early stopping (a split by design around them)
    test_designs: list[str] | None = None  # held out and scored once, at the end
    #: Multiscale training (gsr_eda.train.multiscale): off, coarse-to-fine, sub-to-full or gradients.
    multiscale: str = "off"
    coarse_levels: int = 2  # levels above the cell graph (coarse-to-fine, gradients)
    multiscale_epochs: int = 10  # the first epochs, on the cheap scales; the rest on the full graphs
    window_fraction: float = 0.25  # share of the die a window covers (sub-to-full, gradients)
    device: str = "cpu"
    num_threads: int = field(default_factory=torch.get_num_threads)

    def validate(self) -> None:
        """Raise :class:`InputError` for values a user may get wrong."""
        if self.model not in MODEL_NAMES:
            raise InputError(f"unknown model {self.model!r}; choose one of {', '.join(MODEL_NAMES)}")
        if self.monitor not in MONITORS:
            raise InputError(f"unknown monitor {self.monitor!r}; choose one of {', '.join(MONITORS)}")
        if self.loss not in LOSSES:
            raise InputError(f"unknown --loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        for name in ("feature_scale", "target_scale"):
            if getattr(self, name) not in SCALES:
                raise InputError(
                    f"unknown --{name.replace('_', '-')} {getattr(self, name)!r}; choose one of {', '.join(SCALES)}"
                )
        if self.split not in ("auto", "design", "node"):
            raise InputError(f"unknown split {self.split!r}; choose auto, design or node")
        for name in ("hidden", "layers", "groups", "k", "epochs"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name} must be at least 1, got {getattr(self, name)}")
        for name in ("lr", "min_lr_ratio", "weight_decay", "grad_clip", "dropout", "val_fraction", "test_fraction"):
            if not math.isfinite(getattr(self, name)):
                raise InputError(f"--{name.replace('_', '-')} must be a finite number, got {getattr(self, name)}")
        if self.multiscale not in SCHEDULES:
            raise InputError(f"unknown --multiscale {self.multiscale!r}; choose one of {', '.join(SCHEDULES)}")
        if self.multiscale != "off":
            if self.model in CELLNET_MODELS:
                raise InputError(
                    f"--multiscale coarsens cell graphs; --model {self.model} trains on the cell-net graph"
                )
            if self.coarse_levels < 1 or self.multiscale_epochs < 1:
                raise InputError("--coarse-levels and --multiscale-epochs must be at least 1")
            if not 0.0 < self.window_fraction <= 1.0:
                raise InputError(f"--window-fraction must be in (0, 1], got {self.window_fraction}")
        if self.placement_neighbours < 0:
            raise InputError(f"--placement-neighbours must be >= 0, got {self.placement_neighbours}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise InputError(f"--ema-decay must be in [0, 1), got {self.ema_decay}")
        if self.lr <= 0 or self.grad_clip <= 0 or self.weight_decay < 0 or self.patience < 1 or self.min_epochs < 0:
            raise InputError(
                "--lr and --grad-clip must be positive, --weight-decay >= 0, --patience >= 1, --min-epochs >= 0"
            )
        self._check_model_options()

    def _check_model_options(self) -> None:
        """The model's own checks (dropout range, --hidden a multiple of --groups, --k per group),
        run on a one-layer probe before any data is read, so a bad combination is a usage error."""
        try:
            build_model(self.model, 1, layers=1, **self.model_options())
        except ValueError as err:
            raise InputError(
                f"--model {self.model} with --hidden {self.hidden} --groups {self.groups} "
                f"--k {self.k} --dropout {self.dropout}"
                + (f" --net-hidden {self.net_hidden}" if self.net_hidden is not None else "")
                + f": {err}"
            ) from None

    def graph_placement_neighbours(self) -> int:
        """The placement neighbours the model's graph gets: none with --multiscale, whose coarse
        levels and windows are cut from the netlist graph (the multilevel gradient telescopes to
        the full one only when every level is a cut of the same graph)."""
        if self.multiscale != "off":
            return 0
        return self.placement_neighbours

    def model_options(self) -> dict[str, Any]:
        """The options of :func:`gsr_eda.models.build_model` besides the name, inputs and depth."""
        options = {"hidden": self.hidden, "groups": self.groups, "k": self.k, "dropout": self.dropout}
        if self.model == "gsr-cellnet":
            net_hidden = self.net_hidden
            options["net_hidden"] = (
                default_net_hidden(self.hidden, self.groups, self.k) if net_hidden is None else net_hidden
            )
        if self.model in CELLNET_MODELS:
            options["placement_groups"] = default_placement_groups(self.graph_placement_neighbours())
        return options


@dataclass
class Graph:
    """One design on the device, ready for training or evaluation."""

    name: str
    x: torch.Tensor  # standardised features (N, F)
    y: torch.Tensor  # standardised targets (N,)
    labels: np.ndarray  # targets in label units (N,)
    adj: Any  # the model's graph input (models.inputs.model_graph): CSRAdjacency or CellNetGraph
    masks: dict[int, torch.Tensor | None]  # split -> bool mask, None = all nodes


@dataclass
class TrainResult:
    """What a finished (or early-stopped) run produced."""

    out_dir: Path
    history: list[dict[str, float]]
    best_epoch: int
    best_score: float
    stopped_early: bool
    split: SplitPlan
    test_metrics: dict[str, float] | None


def _set_determinism() -> None:
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False


def _epoch_seed(seed: int, epoch: int, rank: int) -> int:
    return int(np.random.SeedSequence([seed, epoch, rank]).generate_state(1)[0])


def _score(metrics: dict[str, float], monitor: str) -> float:
    """Higher is better; ``nan`` (undefined correlation) never counts as an improvement."""
    value = metrics["loss"] if monitor == "loss" else metrics[monitor]
    return -value if monitor == "loss" else value


class _Data:
    """The labelled designs of a run: checks that they agree, plans the split, reads records."""

    def __init__(self, cfg: TrainConfig, log: Callable[[str], None]) -> None:
        self.cfg = cfg
        self._records: dict[str, Any] = {}
        self.store_path = Path(cfg.store)
        if not self.store_path.exists():
            raise InputError("graph store not found", self.store_path)
        held_out = [*(cfg.val_designs or []), *(cfg.test_designs or [])]
        with GraphStore(self.store_path) as store:
            # Held-out designs take part whether or not --designs lists them.
            names = list(dict.fromkeys([*cfg.designs, *held_out])) if cfg.designs else list(store.designs)
            unknown = [n for n in names if n not in store]
            if unknown:
                raise InputError(
                    f"no design {', '.join(map(repr, unknown))} in the store (it has: {', '.join(store.designs)})",
                    self.store_path,
                )
            self.summaries = {n: store.summary(n) for n in names}
        unlabelled = [n for n in names if self.summaries[n]["label"] is None]
        if unlabelled and (cfg.designs or set(unlabelled) & set(held_out)):
            raise InputError(f"design(s) {', '.join(unlabelled)} have no labels to train on", self.store_path)
        if unlabelled:
            log(f"skipping {len(unlabelled)} design(s) without labels: {', '.join(unlabelled)}")
        self.names = [n for n in names if n not in unlabelled]
        if not self.names:
            raise InputError("no design in the store has labels (ingest with a label source)", self.store_path)
        self._check_consistent()

    def _check_consistent(self) -> None:
        first = self.summaries[self.names[0]]
        for n in self.names[1:]:
            s = self.summaries[n]
            for key, what in (("features", "feature columns"), ("net_model", "net model"), ("net_cap", "net cap")):
                if s[key] != first[key]:
                    raise InputError(
                        f"designs {self.names[0]!r} and {n!r} differ in {what} ({first[key]} vs {s[key]}); "
                        "re-ingest them with the same options",
                        self.store_path,
                    )
            if s["label"]["reduce"] != first["label"]["reduce"]:
                raise InputError(f"designs {self.names[0]!r} and {n!r} use different label reductions", self.store_path)
        self.feature_names = list(first["features"])
        self.net_model, self.net_cap = first["net_model"], int(first["net_cap"])
        self.label = dict(first["label"])

    def model_columns(self) -> np.ndarray:
        """Indices of the stored feature columns the model reads: all but ``cfg.ignore_features``."""
        unknown = sorted(set(self.cfg.ignore_features) - set(self.feature_names))
        if unknown:
            raise InputError(
                f"--ignore-features names {', '.join(unknown)}, which the store does not have "
                f"(it has {', '.join(self.feature_names)})",
                self.store_path,
            )
        columns = [i for i, name in enumerate(self.feature_names) if name not in self.cfg.ignore_features]
        if not columns:
            raise InputError("--ignore-features leaves no feature for the model to read", self.store_path)
        return np.asarray(columns, dtype=np.int64)

    def plan(self) -> SplitPlan:
        """The split: by design needs only summaries; by node reads stored masks."""
        cfg = self.cfg
        mode = cfg.split
        if cfg.val_designs or cfg.test_designs:
            mode = "design" if mode == "auto" else mode
        elif mode == "auto":
            mode = "design" if len(self.names) >= MIN_DESIGNS_FOR_DESIGN_SPLIT else "node"
        stored: dict[str, np.ndarray | None] = {n: None for n in self.names}
        if mode == "node" and all(self.summaries[n]["has_split"] for n in self.names):
            # A node split trains on every design: keep the records for read().
            self._records = self.read(self.names)
            stored = {n: r.node_split for n, r in self._records.items()}
        try:
            plan = plan_split(
                {n: (self.summaries[n]["nodes"], stored[n]) for n in self.names},
                seed=cfg.seed,
                val_fraction=cfg.val_fraction,
                test_fraction=cfg.test_fraction,
                mode=mode,
                val_designs=cfg.val_designs,
                test_designs=cfg.test_designs,
            )
            # A correlation needs two validation nodes; without them no epoch is ever "best".
            plan.check_node_counts(min_val_nodes=1 if cfg.monitor == "loss" else 2)
            return plan
        except ValueError as err:
            raise InputError(str(err), self.store_path) from None

    def read(self, names: list[str]) -> dict[str, Any]:
        """The records of ``names``; those plan() already read are handed over, not read again."""
        kept, self._records = self._records, {}
        records = {n: kept[n] for n in names if n in kept}
        missing = [n for n in names if n not in records]
        if missing:
            with GraphStore(self.store_path) as store:
                records.update((n, store.read(n)) for n in missing)
        return {n: records[n] for n in names}


def _to_graph(
    record, plan: SplitPlan, std: Standardizer, device: torch.device, model_name: str, placement_neighbours: int
) -> Graph:
    node_masks = {split: plan.mask(record.name, split) for split in (TRAIN, VAL, TEST)}
    train_nodes = node_masks[TRAIN]
    return Graph(
        record.name,
        std.features(record.features, device),
        std.target(record.cell_labels, device, fit_on=None if train_nodes is None else record.cell_labels[train_nodes]),
        np.asarray(record.cell_labels, dtype=np.float32),
        model_graph(model_name, record, device, ADJACENCY_NORMALIZATION, placement_neighbours),
        {split: None if m is None else torch.from_numpy(m).to(device) for split, m in node_masks.items()},
    )


def _select(t: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return t if mask is None else t[mask]


@torch.no_grad()
def evaluate_graphs(model: torch.nn.Module, graphs: list[Graph], split: int, std: Standardizer) -> dict[str, float]:
    """Loss and metrics of ``split`` nodes, pooled over ``graphs`` (label units for metrics)."""
    model.eval()
    preds, targets, sq, count = [], [], 0.0, 0
    for g in graphs:
        out = model(g.x, g.adj)
        mask = g.masks[split]
        z, y = _select(out, mask), _select(g.y, mask)
        sq += float(torch.sum((z - y) ** 2))
        count += int(y.numel())
        preds.append(std.untarget(z))
        targets.append(g.labels if mask is None else g.labels[mask.cpu().numpy()])
    metrics = regression_metrics(np.concatenate(preds), np.concatenate(targets))
    metrics["loss"] = sq / max(count, 1)
    return metrics


def _model_config(cfg: TrainConfig, in_channels: int) -> dict[str, Any]:
    return {"name": cfg.model, "in_channels": in_channels, "layers": cfg.layers} | cfg.model_options()


def _write_logs(out_dir: Path, history: list[dict[str, float]]) -> None:
    # Rewritten every epoch while pipelines may be reading them: never half a file.
    with atomic_open(out_dir / "metrics.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=EPOCH_COLUMNS)
        writer.writeheader()
        writer.writerows({k: row.get(k) for k in EPOCH_COLUMNS} for row in history)
    write_text_atomically(out_dir / "metrics.json", json.dumps(json_safe(history), indent=1) + "\n")


def train(
    cfg: TrainConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    log: Callable[[str], None] = print,
    show_progress: bool = True,
    on_epoch_end: Callable[[dict[str, float]], None] | None = None,
) -> TrainResult:
    """Train (or, with ``resume``, continue) a run in ``out_dir``; see the module docstring.

    ``on_epoch_end(row)`` is called after each epoch's checkpoints are written (an exception
    raised there interrupts the run exactly as Ctrl-C would; ``resume`` then continues it).
    """
    out_dir = Path(out_dir)
    state: dict[str, Any] | None = None
    if resume:
        state = load_checkpoint(out_dir / LAST_NAME)
        if "train" not in state:
            raise InputError("checkpoint has no training state to resume from", out_dir / LAST_NAME)
        old = state["train"]["config"]
        # A run saved before --net-hidden had nets as wide as the cells.
        saved = TrainConfig(**(OLD_RUN_DEFAULTS | {"net_hidden": old["hidden"]} | old))
        if saved.model in CELLNET_MODELS:
            # Cell-net runs saved before their placement relation trained without placement
            # neighbours, whatever --placement-neighbours said; the checkpoint's graph says which.
            saved.placement_neighbours = int(state["graph"].get("placement_neighbours", 0))
        saved.epochs, saved.device = cfg.epochs, cfg.device
        if cfg.store:
            saved.store = cfg.store  # the store may have moved; its features are checked below
        cfg = saved
    cfg.validate()
    _set_determinism()
    ctx, device = init_distributed(resolve_device(cfg.device))
    if not ctx.is_main:
        log = lambda _msg: None  # noqa: E731 - only rank 0 talks
    try:
        return _run(cfg, out_dir, state, ctx, device, log, show_progress, on_epoch_end)
    finally:
        shutdown_distributed(ctx)


def _fit_standardizer(
    data: _Data, plan: SplitPlan, records: dict[str, Any], my_train: list[str], ctx: Any, device: torch.device
) -> Standardizer:
    """Feature and target statistics of the training nodes, over the columns the model reads.

    In a distributed job each rank adds the sums of its share of the designs (a node split
    trains every rank on every design, so only rank 0 adds those).
    """
    own = my_train if plan.mode == "design" or ctx.is_main else []
    columns = data.model_columns()
    feats, targets = [], []
    for n in own:
        m = plan.mask(n, TRAIN)
        feats.append(records[n].features[:, columns] if m is None else records[n].features[m][:, columns])
        targets.append(records[n].cell_labels if m is None else records[n].cell_labels[m])
    moments = Standardizer.moments(feats, targets) if feats else np.zeros(2 * len(columns) + 4)
    return Standardizer.from_moments(
        np.asarray(ctx.all_reduce_sum(list(moments), device)),
        columns,
        feature_scale=data.cfg.feature_scale,
        target_scale=data.cfg.target_scale,
    )


def _run(
    cfg: TrainConfig,
    out_dir: Path,
    state: dict[str, Any] | None,
    ctx: Any,
    device: torch.device,
    log: Callable[[str], None],
    show_progress: bool,
    on_epoch_end: Callable[[dict[str, float]], None] | None,
) -> TrainResult:
    s = _prepare(cfg, out_dir, state, ctx, device, log)
    if ctx.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
        if state is None:
            # A new run in a folder that held one (--force): the old best.pt is not this run's,
            # and a run that never improves must not leave it behind as if it were.
            (out_dir / BEST_NAME).unlink(missing_ok=True)
        write_text_atomically(out_dir / "config.json", json.dumps(asdict(cfg), indent=2) + "\n")
    steps = ctx.steps_per_epoch(len(s.plan.train_designs)) if s.plan.mode == "design" else len(s.train_graphs)
    stopped_early = False
    progress = _progress(show_progress and ctx.is_main)
    with progress:
        task = progress.add_task("training", total=cfg.epochs, completed=s.start_epoch, status="")
        for epoch in range(s.start_epoch, cfg.epochs):
            started = time.perf_counter()
            lr = s.optimizer.param_groups[0]["lr"]
            train_loss = _train_epoch(s, epoch, ctx, device, steps, lambda status: progress.update(task, status=status))
            s.scheduler.step()
            row = _validate(s, epoch, lr, train_loss, started)
            if ctx.is_main:
                save_checkpoint(
                    out_dir / LAST_NAME, s.checkpoint(epoch), also_to=[out_dir / BEST_NAME] if row["improved"] else []
                )
                _write_logs(out_dir, s.history)
            ctx.barrier()
            progress.update(
                task,
                advance=1,
                status=f"loss {train_loss:.4f} val {cfg.monitor} {row[f'val_{cfg.monitor}']:.4f} "
                f"(best epoch {s.best_epoch})",
            )
            if not show_progress or not ctx.is_main:
                log(
                    f"epoch {epoch + 1}/{cfg.epochs}: train loss {train_loss:.4f}, val loss {row['val_loss']:.4f}, "
                    f"val pearson {row['val_pearson']:.4f}, {row['seconds']:.1f}s"
                )
            if on_epoch_end is not None:
                on_epoch_end(s.history[-1])
            if s.wait >= cfg.patience:
                stopped_early = True
                log(f"early stop: no {cfg.monitor} improvement for {cfg.patience} epochs")
                break

    test_metrics = None
    if ctx.is_main:
        test_metrics = _finish(
            out_dir, cfg, s.plan, s.std, s.graphs, s.data, device, s.history, s.best_epoch, log, ctx.world_size
        )
    ctx.barrier()
    return TrainResult(out_dir, s.history, s.best_epoch, s.best_score, stopped_early, s.plan, test_metrics)


def _validate(s: _Session, epoch: int, lr: float, train_loss: float, started: float) -> dict[str, Any]:
    """Score the validation designs, append the epoch's row and update best epoch and patience.

    Patience counts only epochs on the full graphs: a multiscale run's cheap epochs may set a
    best score, but never stop the run before it has trained at full resolution. Neither counts
    before ``min_epochs``.
    """
    val = evaluate_graphs(s.scored_model, s.val_graphs, VAL, s.std)
    row = {
        "epoch": epoch + 1,
        "lr": lr,
        "train_loss": train_loss,
        "val_loss": val["loss"],
        **{f"val_{k}": val[k] for k in ("pearson", "spearman", "kendall", "r2", "mae")},
        "seconds": time.perf_counter() - started,
    }
    s.history.append(row)
    score = _score(val, s.cfg.monitor)
    # A run shorter than min_epochs still chooses among its last epoch.
    eligible = epoch + 1 >= min(s.cfg.min_epochs, s.cfg.epochs)
    improved = eligible and not math.isnan(score) and score > s.best_score
    full_graph = s.schedule is None or s.schedule.is_full_graph_epoch(epoch)
    if improved:
        s.best_epoch, s.best_score, s.wait = epoch + 1, score, 0
    elif full_graph and eligible:
        s.wait += 1
    return row | {"improved": improved}


@dataclass
class _Session:
    """A run being trained: its data, model, optimiser and the counters a checkpoint saves."""

    cfg: TrainConfig
    data: _Data
    plan: SplitPlan
    std: Standardizer
    graphs: dict[str, Graph]
    train_graphs: list[Graph]
    val_graphs: list[Graph]
    model: torch.nn.Module
    step_model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    base: dict[str, Any]
    schedule: MultiscaleSchedule | None = None
    averaged: AveragedModel | None = None  # with --ema-decay: the weights scored and saved
    history: list[dict[str, float]] = field(default_factory=list)
    start_epoch: int = 0
    best_epoch: int = -1
    best_score: float = -math.inf
    wait: int = 0

    @property
    def scored_model(self) -> torch.nn.Module:
        """The model validated, saved as ``model_state`` and predicted with: the average, if any."""
        return self.model if self.averaged is None else self.averaged.module

    def after_step(self) -> None:
        """Fold the weights of the optimiser step just taken into the average, if any."""
        if self.averaged is not None:
            self.averaged.update_parameters(self.model)

    def checkpoint(self, epoch: int) -> dict[str, Any]:
        averaged = {}
        if self.averaged is not None:  # resuming needs the trained weights and the average's count
            averaged = {"trained_state": self.model.state_dict(), "averaged_count": int(self.averaged.n_averaged)}
        return self.base | {
            "model_state": self.scored_model.state_dict(),
            "train": averaged
            | {
                "config": asdict(self.cfg),
                "epoch": epoch,
                "history": self.history,
                "split": self.plan.to_state(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "best_epoch": self.best_epoch,
                "best_score": self.best_score,
                "wait": self.wait,
            },
        }


def _prepare(
    cfg: TrainConfig,
    out_dir: Path,
    state: dict[str, Any] | None,
    ctx: Any,
    device: torch.device,
    log: Callable[[str], None],
) -> _Session:
    """Read the data, plan the split, fit the standardiser, build the model and its optimiser."""
    data = _Data(cfg, log)
    plan = SplitPlan.from_state(state["train"]["split"]) if state else data.plan()
    if state:
        check_feature_schema(state, data.feature_names, what="the store", path=out_dir / LAST_NAME)
    log(plan.describe())
    if ctx.enabled:
        log(f"data-parallel over {ctx.world_size} ranks ({device.type}); each rank trains on its share of designs")
    if plan.mode == "design" and len(plan.train_designs) < ctx.world_size:
        raise InputError(
            f"{len(plan.train_designs)} training design(s) cannot feed {ctx.world_size} ranks", data.store_path
        )
    if cfg.multiscale != "off" and plan.mode != "design":
        raise InputError(
            "multiscale training needs a split by design (--val-designs, or 3 or more labelled designs)",
            data.store_path,
        )

    my_train = ctx.share(plan.train_designs) if plan.mode == "design" else plan.train_designs
    needed = sorted(set(my_train) | set(plan.val_designs))
    records = data.read(needed)
    std = (
        Standardizer.from_state(state["standardizer"])
        if state
        else _fit_standardizer(data, plan, records, my_train, ctx, device)
    )
    in_channels = len(std.feature_mean)
    neighbours = cfg.graph_placement_neighbours()
    graphs = {n: _to_graph(records[n], plan, std, device, cfg.model, neighbours) for n in needed}
    schedule = _multiscale_schedule(cfg, {n: records[n] for n in my_train}, graphs, std, device, log)
    del records

    model, step_model, optimizer, scheduler = _build_model(cfg, in_channels, ctx, device)
    base = _checkpoint_base(cfg, data, std, in_channels)
    session = _Session(
        cfg,
        data,
        plan,
        std,
        graphs,
        [graphs[n] for n in my_train],
        [graphs[n] for n in plan.val_designs],
        model,
        step_model,
        optimizer,
        scheduler,
        base,
        schedule,
        _weight_average(model, cfg.ema_decay),
    )
    if state:
        _restore(session, state, out_dir, log)
    return session


def _weight_average(model: torch.nn.Module, decay: float) -> AveragedModel | None:
    """The exponential moving average of ``model``'s weights (``--ema-decay``), or None at 0."""
    if decay == 0.0:
        return None
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def _build_model(cfg: TrainConfig, in_channels: int, ctx: Any, device: torch.device) -> tuple[Any, Any, Any, Any]:
    """The seeded model, its data-parallel wrapper (the model itself on one process), AdamW and
    the cosine schedule."""
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, in_channels, layers=cfg.layers, **cfg.model_options()).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=cfg.epochs, eta_min=cfg.lr * cfg.min_lr_ratio
    )
    step_model = model
    if ctx.enabled:
        step_model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    return model, step_model, optimizer, scheduler


def _checkpoint_base(cfg: TrainConfig, data: _Data, std: Standardizer, in_channels: int) -> dict[str, Any]:
    """What every checkpoint of the run carries besides weights and training state."""
    return {
        "gsr_eda_version": __version__,
        "model": _model_config(cfg, in_channels),
        "graph": {
            "net_model": data.net_model,
            "net_cap": data.net_cap,
            "normalization": ADJACENCY_NORMALIZATION,
            "placement_neighbours": cfg.graph_placement_neighbours(),
        },
        "label": {"name": data.label["name"], "reduce": data.label["reduce"], "is_proxy": bool(data.label["is_proxy"])},
        "feature_names": data.feature_names,
        "standardizer": std.to_state(),
    }


def _restore(s: _Session, state: dict[str, Any], out_dir: Path, log: Callable[[str], None]) -> None:
    """Continue from a checkpoint's weights, optimiser, schedule and counters."""
    t = state["train"]
    if s.averaged is None:
        s.model.load_state_dict(state["model_state"])
    else:
        s.model.load_state_dict(t["trained_state"])
        s.averaged.module.load_state_dict(state["model_state"])
        s.averaged.n_averaged.fill_(t["averaged_count"])
    s.optimizer.load_state_dict(t["optimizer"])
    s.scheduler.load_state_dict(t["scheduler"])
    s.scheduler.T_max = s.cfg.epochs  # --epochs may extend a finished run
    s.history = [dict(row) for row in t["history"]]
    s.start_epoch, s.best_epoch, s.best_score, s.wait = t["epoch"] + 1, t["best_epoch"], t["best_score"], t["wait"]
    log(f"resuming {out_dir} at epoch {s.start_epoch + 1} of {s.cfg.epochs}")


def _multiscale_schedule(
    cfg: TrainConfig,
    records: dict[str, Any],
    graphs: dict[str, Graph],
    std: Standardizer,
    device: torch.device,
    log: Callable[[str], None],
) -> MultiscaleSchedule | None:
    """Coarsen each training design once (in memory, for the whole run) and plan the schedule."""
    if cfg.multiscale == "off":
        return None
    started = time.perf_counter()
    hierarchies, scales = {}, {}
    for name, record in records.items():
        h = build_hierarchy(record, cfg.coarse_levels, seed=cfg.seed)
        hierarchies[name] = h
        g = graphs[name]
        scales[name] = [ScaleGraph(h.levels[0], g.x, g.y, g.adj)] + [
            ScaleGraph(lv, std.features(lv.features, device), std.target(lv.labels, device), _adjacency(lv, device))
            for lv in h.levels[1:]
        ]
        log(f"coarsened {h.describe()}")
    log(f"multiscale ({cfg.multiscale}): hierarchies built in {time.perf_counter() - started:.1f}s")
    return MultiscaleSchedule(
        cfg.multiscale,
        hierarchies,
        scales,
        {n: tuple(r.design.die) for n, r in records.items()},
        cfg.multiscale_epochs,
        cfg.window_fraction,
        lambda indptr, indices, n: _csr(indptr, indices, n, device),
    )


def _csr(indptr: np.ndarray, indices: np.ndarray, num_nodes: int, device: torch.device) -> CSRAdjacency:
    return CSRAdjacency.from_csr(indptr, indices, num_nodes, normalization=ADJACENCY_NORMALIZATION, device=device)


def _adjacency(level: Any, device: torch.device) -> CSRAdjacency:
    return _csr(level.indptr, level.indices, level.num_nodes, device)


def _step_terms(s: _Session, g: Graph, epoch: int, rng: np.random.Generator) -> list[LossTerm]:
    """What one design's step trains on: its full graph, or the schedule's scales in a multiscale epoch."""
    if s.schedule is None or s.schedule.is_full_graph_epoch(epoch):
        mask = g.masks[TRAIN]
        return [LossTerm(g.x, g.y, g.adj, 1.0, mask)]
    return s.schedule.terms(g.name, epoch, rng)


def pearson_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = PEARSON_EPS) -> torch.Tensor:
    """``1 - r(pred, target)`` over all entries, each side centred and scaled by ``sqrt(var + eps)``
    (population variance), so a constant side gives ``r = 0`` instead of a division by zero."""
    p = pred - pred.mean()
    t = target - target.mean()
    p = p / torch.sqrt(p.pow(2).mean() + eps)
    t = t / torch.sqrt(t.pow(2).mean() + eps)
    return 1.0 - (p * t).mean()


def step_loss_fn(pred: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """The training loss ``kind`` (:data:`LOSSES`) of one design's nodes, on standardised targets."""
    if kind == "pearson":
        return pearson_loss(pred, target)
    return torch.nn.functional.mse_loss(pred, target)


def _train_epoch(
    s: _Session, epoch: int, ctx: Any, device: torch.device, steps: int, report: Callable[[str], None]
) -> float:
    """One epoch of optimiser steps (one per training design); returns the mean step loss over ranks."""
    seed = _epoch_seed(s.cfg.seed, epoch, ctx.rank)
    torch.manual_seed(seed)  # dropout draws
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)  # multiscale windows
    order = torch.randperm(len(s.train_graphs), generator=gen).tolist()
    order = [order[i % len(order)] for i in range(steps)]
    s.model.train()
    loss_sum = 0.0
    for step, idx in enumerate(order):
        s.optimizer.zero_grad(set_to_none=True)
        loss = sum(
            term.weight
            * step_loss_fn(_select(s.step_model(term.x, term.adj), term.mask), _select(term.y, term.mask), s.cfg.loss)
            for term in _step_terms(s, s.train_graphs[idx], epoch, rng)
        )
        loss.backward()
        torch.nn.utils.clip_grad_norm_(s.model.parameters(), s.cfg.grad_clip)
        s.optimizer.step()
        s.after_step()
        step_loss = loss.item()  # one device sync per step
        loss_sum += step_loss
        report(f"epoch {epoch + 1} step {step + 1}/{steps} loss {step_loss:.4f}")
    return ctx.all_reduce_sum([loss_sum], device)[0] / (steps * ctx.world_size)


def _fit_gcell_head(
    out_dir: Path, plan: SplitPlan, data: _Data, device: torch.device, log: Callable[[str], None]
) -> None:
    """Fit the gcell head on the validation designs' gcell labels with the best model, and put it
    into ``best.pt`` and ``last.pt`` (:mod:`gsr_eda.predict.gcell_head`)."""
    best_path = out_dir / BEST_NAME
    if plan.mode != "design" or not plan.val_designs or not best_path.exists():
        log("no gcell head fitted: it is fitted on validation designs, and this run has none (a split by node)")
        return
    # Fitted on the mapped cells, also when a resumed run's best.pt already holds a head.
    predictor = replace(predictor_from_checkpoint(load_checkpoint(best_path), best_path, device), gcell_head=None)
    samples = []
    for record in data.read(plan.val_designs).values():
        if record.gcell_labels is None:
            continue
        design, spans = record.design, record.design.gcell_spans()
        pred = predict_design(predictor, design, record.indptr, record.indices, record.features, spans=spans)
        maps = position_maps(design, design.x, design.y, spans=spans)
        samples.append((head_inputs(maps, pred.gcell_map, pred.covered), record.gcell_labels[pred.covered]))
    if not samples:
        log("no gcell head fitted: the validation designs have no gcell labels")
        return
    head = GcellHead.fit(samples)
    for path in (best_path, out_dir / LAST_NAME):
        if path.exists():
            save_checkpoint(path, load_checkpoint(path) | {"gcell_head": head.to_state()})
    weights = ", ".join(f"{name} {w:.3f}" for name, w in zip(HEAD_INPUTS, head.weights))
    log(f"gcell head fitted on {', '.join(plan.val_designs)}: {weights}")


def _finish(
    out_dir: Path,
    cfg: TrainConfig,
    plan: SplitPlan,
    std: Standardizer,
    graphs: dict[str, Graph],
    data: _Data,
    device: torch.device,
    history: list[dict[str, float]],
    best_epoch: int,
    log: Callable[[str], None],
    world_size: int,
) -> dict[str, float] | None:
    """Learning curves, test metrics of the best model, ``summary.json``."""

    plot_learning_curves(history, out_dir / "curves.png", monitor=cfg.monitor)
    test_metrics = None
    best_path = out_dir / BEST_NAME
    if cfg.gcell_head:
        _fit_gcell_head(out_dir, plan, data, device, log)
    if best_path.exists() and plan.test_designs:
        best = model_from_checkpoint(load_checkpoint(best_path), best_path).to(device)
        missing = [n for n in plan.test_designs if n not in graphs]
        if missing:
            for n, r in data.read(missing).items():
                graphs[n] = _to_graph(r, plan, std, device, cfg.model, cfg.graph_placement_neighbours())
        test_metrics = json_safe(evaluate_graphs(best, [graphs[n] for n in plan.test_designs], TEST, std))
        log(
            f"best epoch {best_epoch}; test: pearson {test_metrics['pearson']}, spearman {test_metrics['spearman']}, "
            f"kendall {test_metrics['kendall']}, r2 {test_metrics['r2']}, mae {test_metrics['mae']}"
        )
    summary = {
        "config": asdict(cfg),
        "split": plan.describe(),
        "split_mode": plan.mode,
        "train_designs": plan.train_designs,
        "val_designs": plan.val_designs,
        "test_designs": plan.test_designs,
        "epochs_run": len(history),
        "best_epoch": best_epoch,
        "world_size": world_size,
        "best_val": json_safe(history[best_epoch - 1]) if best_epoch > 0 else None,
        "test": test_metrics,
        "label": data.label,
        "feature_names": data.feature_names,
        "files": {
            "best": str(best_path),
            "last": str(out_dir / LAST_NAME),
            "metrics_csv": str(out_dir / "metrics.csv"),
            "metrics_json": str(out_dir / "metrics.json"),
            "curves": str(out_dir / "curves.png"),
        },
    }
    write_text_atomically(out_dir / "summary.json", json.dumps(json_safe(summary), indent=2) + "\n")
    return test_metrics


def _progress(enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Column

    # In a narrow or non-terminal console (80 columns) the status line is the one to shorten:
    # the epoch count and the elapsed time keep their width.
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(table_column=Column(min_width=7, no_wrap=True, justify="right")),
        TextColumn("epochs"),
        TimeElapsedColumn(table_column=Column(min_width=7, no_wrap=True)),
        TextColumn("{task.fields[status]}", table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis")),
        disable=not enabled,
        transient=False,
    )
