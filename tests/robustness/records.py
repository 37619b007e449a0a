"""Hand-built graph-store records for the robustness tests (no readers or features involved)."""

from __future__ import annotations

import numpy as np

from gsr_eda.store import DesignRecord
from placed_design_builder import make_design


def chain_record(name: str, cells: int = 50, *, labelled: bool = False) -> DesignRecord:
    """``cells`` cells chained by two-pin nets, three random features, optionally a random label."""
    rng = np.random.default_rng(cells)
    boxes = [(float(rng.uniform(0, 9)), float(rng.uniform(0, 9)), 0.5, 0.5) for _ in range(cells)]
    design = make_design(boxes, [[i, i + 1] for i in range(cells - 1)])
    design.name = name
    neighbours = [[j for j in (i - 1, i + 1) if 0 <= j < cells] for i in range(cells)]
    indptr = np.concatenate([[0], np.cumsum([len(n) for n in neighbours])]).astype(np.int64)
    indices = np.asarray([j for n in neighbours for j in n], dtype=np.int32)
    record = DesignRecord(
        name=name,
        design=design,
        indptr=indptr,
        indices=indices,
        net_model="clique",
        net_cap=0,
        features=rng.normal(size=(cells, 3)).astype(np.float32),
        feature_names=["a", "b", "c"],
    )
    if labelled:
        record.gcell_labels = rng.uniform(0, 1, design.grid.shape).astype(np.float32)
        record.cell_labels = rng.uniform(0, 1, cells).astype(np.float32)
        record.label_name, record.label_source, record.label_is_proxy = "random", "test", True
    return record
