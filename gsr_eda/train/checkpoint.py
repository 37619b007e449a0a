"""Checkpoint files: atomic writes, safe loads, schema checks, and the :class:`Predictor`.

A checkpoint is a ``torch.save`` file holding only tensors, numbers, strings, lists and dicts,
so it loads with ``torch.load(weights_only=True)``: opening one never runs code from the file.
Its top-level keys:

==================  =====================================================================
``format``          ``"gsr-eda-checkpoint"``
``format_version``  integer; readers refuse versions newer than :data:`FORMAT_VERSION`
``gsr_eda_version`` the version that wrote it
``model``           ``build_model`` arguments: name, in_channels, hidden, layers, groups, k, dropout
``graph``           net_model, net_cap, normalization (the adjacency the model was trained on)
``label``           name, reduce (``max``/``mean``), is_proxy
``feature_names``   the feature schema, in column order
``standardizer``    feature mean/std and target mean/std fitted on the training split
``model_state``     the model's ``state_dict``
``train``           training state for ``--resume`` (absent from exported files): config,
                    epoch, history, split, optimizer, scheduler, best epoch and early-stop counters
                    (no RNG states: every epoch reseeds from the run seed and the epoch)
==================  =====================================================================
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gsr_eda.atomic import atomic_open
from gsr_eda.errors import InputError

FORMAT_NAME = "gsr-eda-checkpoint"
FORMAT_VERSION = 1
BEST_NAME = "best.pt"
LAST_NAME = "last.pt"
_REQUIRED = ("model", "graph", "label", "feature_names", "standardizer", "model_state")


def save_checkpoint(path: str | Path, payload: dict[str, Any],
                    also_to: Iterable[str | Path] = ()) -> None:
    """Write ``payload`` atomically: a temp file in the same folder, fsync, then ``os.replace``.

    A crash mid-write leaves the previous checkpoint intact (never a truncated file). The same
    bytes also go to every path of ``also_to`` (``best.pt`` beside ``last.pt``), serialised once.
    """
    buffer = io.BytesIO()
    torch.save({"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **payload}, buffer)
    for target in (path, *also_to):
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(target, "wb", fsync=True) as fh:
            fh.write(buffer.getbuffer())


def resolve_checkpoint_path(path: str | Path) -> Path:
    """A checkpoint file, or a training run folder (its ``best.pt``, else ``last.pt``)."""
    path = Path(path)
    if path.is_dir():
        for name in (BEST_NAME, LAST_NAME):
            if (path / name).is_file():
                return path / name
        raise InputError(f"no {BEST_NAME} or {LAST_NAME} in this run folder", path)
    if not path.exists():
        raise InputError("checkpoint not found", path)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and validate a checkpoint; every problem is an :class:`InputError` naming the file."""
    path = resolve_checkpoint_path(path)
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - zip, pickle and IO errors all mean "unreadable"
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(f"not a readable gsr-eda checkpoint (corrupt or truncated?): {first_line}", path) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT_NAME:
        raise InputError("not a gsr-eda checkpoint (missing format marker)", path)
    version = ckpt.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise InputError(f"invalid checkpoint format version {version!r}", path)
    if version > FORMAT_VERSION:
        raise InputError(
            f"checkpoint format version {version} was written by a newer gsr-eda "
            f"(this one reads up to version {FORMAT_VERSION}); upgrade gsr-eda",
            path,
        )
    missing = [key for key in _REQUIRED if key not in ckpt]
    if missing:
        raise InputError(f"checkpoint is missing {', '.join(missing)}", path)
    return ckpt


def check_feature_schema(ckpt: dict[str, Any], feature_names: list[str], *, what: str, path: str | Path) -> None:
    """Refuse inputs whose feature columns differ from the ones the model was trained on."""
    expected = list(ckpt["feature_names"])
    got = list(feature_names)
    if expected == got:
        return
    missing = [f for f in expected if f not in got]
    extra = [f for f in got if f not in expected]
    detail = []
    if missing:
        detail.append(f"missing {', '.join(missing)}")
    if extra:
        detail.append(f"unexpected {', '.join(extra)}")
    if not detail:
        detail.append("same features in a different order")
    raise InputError(
        f"checkpoint does not fit {what}: the model was trained on {len(expected)} features "
        f"({', '.join(expected)}); {what} has {len(got)} ({'; '.join(detail)})",
        path,
    )


def resolve_device(device: str) -> torch.device:
    """``cpu``, ``cuda`` (or ``cuda:N``) or ``auto`` (CUDA when available)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError(f"--device {device} asked for, but no CUDA device is available (use cpu or auto)")
        return torch.device(device)
    if device == "cpu":
        return torch.device("cpu")
    raise InputError(f"unknown device {device!r}; use cpu, cuda or auto")


def model_from_checkpoint(ckpt: dict[str, Any], path: str | Path):
    """Rebuild the model and load its weights (InputError when they do not fit the config)."""
    from gsr_eda.models import build_model

    cfg = dict(ckpt["model"])
    try:
        model = build_model(
            cfg["name"], int(cfg["in_channels"]), hidden=int(cfg["hidden"]), layers=int(cfg["layers"]),
            groups=int(cfg["groups"]), k=int(cfg["k"]), dropout=float(cfg["dropout"]),
        )
        model.load_state_dict(ckpt["model_state"])
    except (KeyError, ValueError, RuntimeError) as err:
        raise InputError(f"checkpoint weights do not fit its model configuration: {err}", path) from None
    return model


@dataclass
class Predictor:
    """A trained model ready for inference: raw features in, congestion in label units out."""

    config: dict
    feature_names: list[str]
    net_model: str
    net_cap: int
    label_reduce: str
    device: torch.device
    model: torch.nn.Module
    standardizer: Any  # gsr_eda.train.normalization.Standardizer
    normalization: str = "mean"

    def prepare_graph(self, indptr: np.ndarray, indices: np.ndarray, num_nodes: int):
        """The model's adjacency (CSRAdjacency, its normalisation, on its device)."""
        from gsr_eda.ops import CSRAdjacency

        return CSRAdjacency.from_csr(
            np.asarray(indptr, dtype=np.int64), np.asarray(indices, dtype=np.int32), int(num_nodes),
            normalization=self.normalization, device=self.device,
        )

    def check_graph_options(self, net_model: str, net_cap: int, *, what: str, path: str | Path) -> None:
        """Refuse a graph built with another net model or cap than the model was trained on."""
        if (net_model, int(net_cap)) != (self.net_model, self.net_cap):
            raise InputError(
                f"{what} was ingested with net model {net_model} (cap {net_cap}), the model was trained on "
                f"{self.net_model} (cap {self.net_cap}): re-ingest with matching options",
                path,
            )

    @torch.no_grad()
    def predict(self, features: np.ndarray, adj) -> np.ndarray:
        """Raw (un-normalised) features ``(N, F)`` -> predicted congestion ``(N,)`` float32."""
        features = np.asarray(features)
        if features.ndim != 2 or features.shape[1] != len(self.feature_names):
            raise ValueError(
                f"expected features of shape (N, {len(self.feature_names)}) "
                f"({', '.join(self.feature_names)}), got {features.shape}"
            )
        self.model.eval()
        out = self.model(self.standardizer.features(features, self.device), adj)
        return self.standardizer.untarget(out)


def load_predictor(path: str | Path, device: str | torch.device = "cpu") -> Predictor:
    """Load a checkpoint (file or run folder) for inference on ``device`` (``cpu``/``cuda``/``auto``)."""
    return predictor_from_checkpoint(load_checkpoint(path), path, device)


def predictor_from_checkpoint(ckpt: dict, path: str | Path,
                              device: str | torch.device = "cpu") -> Predictor:
    """:func:`load_predictor` for a checkpoint already loaded by :func:`load_checkpoint`."""
    from gsr_eda.train.normalization import Standardizer

    dev = device if isinstance(device, torch.device) else resolve_device(device)
    model = model_from_checkpoint(ckpt, path).to(dev).eval()
    return Predictor(
        config=dict(ckpt["model"]),
        feature_names=list(ckpt["feature_names"]),
        net_model=str(ckpt["graph"]["net_model"]),
        net_cap=int(ckpt["graph"]["net_cap"]),
        label_reduce=str(ckpt["label"]["reduce"]),
        device=dev,
        model=model,
        standardizer=Standardizer.from_state(ckpt["standardizer"]),
        normalization=str(ckpt["graph"].get("normalization", "mean")),
    )
