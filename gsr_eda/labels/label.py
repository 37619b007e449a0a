"""The per-gcell label type shared by every label reader, and the checks every reader applies."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gsr_eda.design import GcellGrid
from gsr_eda.errors import InputError


@dataclass
class GcellLabel:
    """A congestion label on a design's gcell grid.

    ``values`` is ``(nx, ny)`` float32 and finite, indexed ``[x, y]``; ``source`` names the
    file(s) it came from, or ``"proxy"``; ``is_proxy`` marks estimates made without a router,
    which the store flags and never also uses as an input feature. ``provenance`` says how a
    router label was made (for routed DEFs: tool, version, nets, failed-net fraction); the store
    keeps it in the design's metadata as ``label_provenance``.
    """

    values: np.ndarray
    name: str
    source: str
    is_proxy: bool
    description: str
    provenance: dict[str, Any] = field(default_factory=dict)


def checked_map(values: np.ndarray, grid: GcellGrid, path: str | Path | None, what: str) -> np.ndarray:
    """``values`` as a finite float32 map of the grid's shape, or an :class:`InputError`."""
    values = np.asarray(values)
    if values.shape != grid.shape:
        raise InputError(f"{what} has shape {values.shape}, the design's gcell grid is {grid.shape}", path)
    if not (np.issubdtype(values.dtype, np.integer) or np.issubdtype(values.dtype, np.floating)):
        raise InputError(f"{what} is not a real numeric array (dtype {values.dtype})", path)
    values = values.astype(np.float32)
    if not np.all(np.isfinite(values)):
        raise InputError(f"{what} has {int(np.sum(~np.isfinite(values)))} non-finite values", path)
    return values


def read_text_lines(path: str | Path) -> list[str]:
    """The lines of a text file, or an :class:`InputError` naming why it cannot be read."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError("file not found", path) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a file", path) from None
    except UnicodeDecodeError:
        raise InputError("not a text file (invalid UTF-8)", path) from None
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror}", path) from None
