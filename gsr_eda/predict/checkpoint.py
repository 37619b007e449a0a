"""Checkpoint files: atomic writes, safe loads and schema checks (the trainer writes, :mod:`gsr_eda.predict.predictor` reads).

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
from pathlib import Path
from typing import Any

import torch

from gsr_eda.atomic import atomic_open
from gsr_eda.errors import InputError
from gsr_eda.models import build_model

FORMAT_NAME = "gsr-eda-checkpoint"
FORMAT_VERSION = 1
BEST_NAME = "best.pt"
LAST_NAME = "last.pt"
_REQUIRED = ("model", "graph", "label", "feature_names", "standardizer", "model_state")


def save_checkpoint(path: str | Path, payload: dict[str, Any], also_to: Iterable[str | Path] = ()) -> None:
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
    cfg = dict(ckpt["model"])
    try:
        model = build_model(
            cfg["name"],
            int(cfg["in_channels"]),
            hidden=int(cfg["hidden"]),
            layers=int(cfg["layers"]),
            groups=int(cfg["groups"]),
            k=int(cfg["k"]),
            dropout=float(cfg["dropout"]),
            # Written before the option existed: the nets were as wide as the cells.
            net_hidden=int(cfg.get("net_hidden") or cfg["hidden"]),
            placement_groups=int(cfg.get("placement_groups", 0)),  # absent: written before the relation
        )
        model.load_state_dict(ckpt["model_state"])
    except (KeyError, ValueError, RuntimeError) as err:
        raise InputError(f"checkpoint weights do not fit its model configuration: {err}", path) from None
    return model
