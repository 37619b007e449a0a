"""Evaluate a trained model on labelled designs: per cell and on the gcell map, per design and overall.

On cells, predictions are compared with ``record.cell_labels``. On the gcell map, the per-cell
predictions are mapped onto gcells with the label's reduction (``gcell_map_from_cells``) and
compared with ``record.gcell_labels`` over the gcells at least one cell covers (the model says
nothing about empty gcells). "Overall" pools every item of every design.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gsr_eda.train.metrics import regression_metrics


@dataclass
class _Pool:
    pred: list[np.ndarray] = field(default_factory=list)
    target: list[np.ndarray] = field(default_factory=list)

    def add(self, pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
        self.pred.append(pred)
        self.target.append(target)
        return regression_metrics(pred, target)

    def metrics(self) -> dict[str, float] | None:
        if not self.pred:
            return None
        return regression_metrics(np.concatenate(self.pred), np.concatenate(self.target))


def evaluate_records(predictor, records, test_masks: dict[str, np.ndarray] | None = None,
                     on_design=None) -> dict:
    """Metrics per design (``cells``, ``gcells`` and, for node-split designs, ``cells_test``) and overall.

    ``test_masks`` maps a design name to the boolean test-node mask of the training split;
    ``on_design(name)`` is called after each design (for progress bars).
    """
    from gsr_eda.predict.core import predict_design

    cells, gcells, cells_test = _Pool(), _Pool(), _Pool()
    per_design = {}
    for record in records:
        pred = predict_design(predictor, record.design, record.indptr, record.indices, record.features)
        entry = {
            "cells": cells.add(pred.cells, record.cell_labels),
            "gcells": gcells.add(pred.gcell_map[pred.covered], record.gcell_labels[pred.covered]),
            "label": record.label_name,
            "label_is_proxy": record.label_is_proxy,
        }
        mask = (test_masks or {}).get(record.name)
        if mask is not None and mask.shape == pred.cells.shape:
            entry["cells_test"] = cells_test.add(pred.cells[mask], record.cell_labels[mask])
        per_design[record.name] = entry
        if on_design is not None:
            on_design(record.name)
    overall = {"cells": cells.metrics(), "gcells": gcells.metrics()}
    if cells_test.pred:
        overall["cells_test"] = cells_test.metrics()
    return {"designs": per_design, "overall": overall}
