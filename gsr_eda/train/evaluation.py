"""Evaluate a trained model on labelled designs: per cell and on the gcell map, per design, per role, overall.

On cells, predictions are compared with ``record.cell_labels``. On the gcell map, the per-cell
predictions are mapped onto gcells with the label's reduction (macros left out:
:func:`gsr_eda.predict.core.gcell_map_of_cells`) and compared with ``record.gcell_labels`` over
the gcells a standard cell covers (the model says nothing about empty gcells).

Every design is also scored with the model-free baselines (:mod:`gsr_eda.train.baselines`) on
the same cells and gcells, and designs are pooled by their role in the model's training split
(``train``, ``val``, ``test``, ``node split``, or ``unseen`` for designs the run never saw), so
what the model does on designs it never trained on is reported apart from the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gsr_eda.predict.core import predict_design
from gsr_eda.train.baselines import score_baselines
from gsr_eda.train.metrics import regression_metrics

#: Roles whose designs the model never took a gradient step on.
HELD_OUT_ROLES = ("val", "test", "unseen")


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


@dataclass
class _Pools:
    """Cells and gcells pooled over a set of designs."""

    cells: _Pool = field(default_factory=_Pool)
    gcells: _Pool = field(default_factory=_Pool)

    def metrics(self) -> dict[str, dict[str, float] | None]:
        return {"cells": self.cells.metrics(), "gcells": self.gcells.metrics()}


def evaluate_records(
    predictor,
    records,
    test_masks: dict[str, np.ndarray] | None = None,
    on_design=None,
    roles: dict[str, str] | None = None,
) -> dict:
    """Metrics per design, per role and overall, with the baselines beside the model.

    Returns ``{"designs": {name: entry}, "roles": {role: {"cells", "gcells"}}, "overall": ...}``;
    an entry holds the model's ``cells`` and ``gcells`` metrics (and ``cells_test`` for the test
    nodes of a node-split design, whose mask ``test_masks`` gives), its ``role`` (from ``roles``,
    default ``unseen``) and ``baselines``. ``on_design(name)`` is called after each design.
    """
    roles = roles or {}
    overall, cells_test = _Pools(), _Pool()
    by_role: dict[str, _Pools] = {}
    per_design = {}
    for record in records:
        # One gcell lookup per design, shared by the model's gcell map and every baseline.
        spans = record.design.gcell_spans()
        pred = predict_design(predictor, record.design, record.indptr, record.indices, record.features, spans=spans)
        role = roles.get(record.name, "unseen")
        pools = by_role.setdefault(role, _Pools())
        gcell_pred, gcell_label = pred.gcell_map[pred.covered], record.gcell_labels[pred.covered]
        entry = {
            "role": role,
            "cells": overall.cells.add(pred.cells, record.cell_labels),
            "gcells": overall.gcells.add(gcell_pred, gcell_label),
            "label": record.label_name,
            "label_is_proxy": record.label_is_proxy,
            "baselines": score_baselines(
                record.design,
                record.cell_labels,
                record.gcell_labels,
                pred.covered,
                reduce=predictor.label_reduce,
                label_is_proxy=record.label_is_proxy,
                spans=spans,
            ),
        }
        pools.cells.add(pred.cells, record.cell_labels)
        pools.gcells.add(gcell_pred, gcell_label)
        mask = (test_masks or {}).get(record.name)
        if mask is not None and mask.shape == pred.cells.shape:
            entry["cells_test"] = cells_test.add(pred.cells[mask], record.cell_labels[mask])
        per_design[record.name] = entry
        if on_design is not None:
            on_design(record.name)
    summary = overall.metrics()
    if cells_test.pred:
        summary["cells_test"] = cells_test.metrics()
    return {"designs": per_design, "roles": {r: p.metrics() for r, p in by_role.items()}, "overall": summary}
