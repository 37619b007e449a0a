"""A plain per-gcell array (``.npy`` or ``.csv``) as a label, for any router or in-house tool."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gsr_eda.design import GcellGrid
from gsr_eda.errors import InputError
from gsr_eda.labels.label import GcellLabel, checked_map


def load_numeric_array(path: str | Path) -> np.ndarray:
    """A 2-D numeric array from ``.npy`` (pickles refused) or ``.csv`` (comma-separated rows)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except ValueError as err:
            # Bad headers and object arrays (which need pickle, which can run code) both land here.
            raise InputError(f"corrupt, or not a plain numeric .npy array ({err})", path) from None
        except (OSError, EOFError) as err:
            raise InputError(f"corrupt or truncated .npy file ({err})", path) from None
    elif suffix == ".csv":
        try:
            values = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64)
        except ValueError as err:
            raise InputError(f"malformed CSV: {err}", path) from None
    else:
        raise InputError(f"unsupported array format {suffix or '(no suffix)'!r}: use .npy or .csv", path)
    if values.ndim != 2:
        raise InputError(f"expected a 2-D array, got {values.ndim} dimensions", path)
    return values


def read_gcell_array(path: str | Path, grid: GcellGrid, *, transpose: bool = False) -> GcellLabel:
    """A label map from a ``.npy`` / ``.csv`` file whose shape is the grid's ``(nx, ny)``.

    Arrays stored ``[y, x]`` (row = y, as images usually are) need ``transpose=True``; the shape
    is never guessed, since a square grid would make a wrong guess silent.
    """
    values = load_numeric_array(path)
    if transpose:
        values = values.T
    return GcellLabel(
        values=checked_map(values, grid, path, "label array" + (" (transposed)" if transpose else "")),
        name="gcell_array",
        source=str(path),
        is_proxy=False,
        description="per-gcell values from a user-supplied array (units as produced by its tool)",
    )
