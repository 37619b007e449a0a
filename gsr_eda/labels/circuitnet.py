"""CircuitNet congestion label maps.

CircuitNet stores, per placement sample, ``congestion_{eGR|GR}_{horizontal|vertical}_{overflow|util}/
<sample>.npy``: 2-D maps indexed ``[x, y]`` on the sample's gcell grid. Overflow is
``-remain / capacity`` where the remaining tracks are negative, else 0 (it can exceed 1);
utilisation is ``usage / capacity``. CircuitNet's official congestion label is the min-max
normalised sum of the GR horizontal and vertical overflow maps; every ``which`` here is built
the same way from its stage (eGR = early global route, GR = global route) and measure.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gsr_eda.design import GcellGrid
from gsr_eda.errors import InputError
from gsr_eda.labels.array import load_numeric_array
from gsr_eda.labels.label import GcellLabel, checked_map

CIRCUITNET_LABELS = {
    "gr_overflow": ("GR", "overflow"),
    "gr_util": ("GR", "util"),
    "egr_overflow": ("eGR", "overflow"),
    "egr_util": ("eGR", "util"),
}


def read_circuitnet_congestion(
    root: str | Path, sample: str, grid: GcellGrid, which: str = "gr_overflow", *, normalise: bool = True
) -> GcellLabel:
    """Horizontal + vertical map of one CircuitNet stage/measure, min-max normalised to [0, 1].

    .. math:: L = \\frac{S - \\min S}{\\max S - \\min S}, \\quad S = M_\\mathrm{h} + M_\\mathrm{v}

    (``L = 0`` where ``S`` is constant; ``normalise=False`` keeps ``S``, in overflow or
    utilisation ratio units summed over the two directions).
    """
    if which not in CIRCUITNET_LABELS:
        raise InputError(f"unknown CircuitNet label {which!r}; choose one of {', '.join(CIRCUITNET_LABELS)}")
    stage, measure = CIRCUITNET_LABELS[which]
    root = Path(root)
    sample = sample.removesuffix(".npy")
    paths = [
        root / f"congestion_{stage}_{direction}_{measure}" / f"{sample}.npy" for direction in ("horizontal", "vertical")
    ]
    total = sum(
        checked_map(load_numeric_array(p), grid, p, f"CircuitNet {which} map").astype(np.float64) for p in paths
    )
    if normalise:
        lo, hi = float(total.min()), float(total.max())
        total = (total - lo) / (hi - lo) if hi > lo else np.zeros_like(total)
    unit = "min-max normalised to [0, 1]" if normalise else "ratio, summed over directions"
    return GcellLabel(
        values=total.astype(np.float32),
        name=f"circuitnet_{which}",
        source=", ".join(str(p) for p in paths),
        is_proxy=False,
        description=f"CircuitNet {stage} horizontal + vertical {measure} ({unit})",
    )
