r"""Model-free congestion estimates a user already has, scored like a model on the same items.

A model earns its keep only where it beats what a formula gives for free. Every quality report
(``gsr-eda evaluate``, the quality benchmark) puts these next to the model, on the same cells and
the same gcells:

* ``rudy``: RUDY, the wire density of each net's bounding box (:func:`gsr_eda.graph.gcell_maps.rudy_maps`);
* ``pin_rudy``: pin RUDY, the same density put at the net's pins;
* ``density``: the fraction of each gcell covered by cells;
* ``proxy``: the project's proxy label (:func:`gsr_eda.labels.proxy_congestion`), a probabilistic
  L-shape routing estimate. Only where the label is real (router output): on a proxy-labelled
  design it *is* the label.

Each estimate is a gcell map :math:`E[i, j]`; its per-cell value is the label's reduction (max
or mean) of :math:`E` over the cell's gcell span, exactly as cell labels come from gcell labels.
Only ranks matter for the correlations and hotspot scores; their R^2 and MAE are left out
(``nan``) because an estimate in its own units is not a prediction of the label's value.
"""

from __future__ import annotations

import math

import numpy as np

from gsr_eda.design import PlacedDesign, cells_from_gcell_map
from gsr_eda.graph.gcell_maps import cell_density_map, rudy_maps
from gsr_eda.labels import proxy_congestion
from gsr_eda.train.metrics import regression_metrics

BASELINES = ("rudy", "pin_rudy", "density", "proxy")


def baseline_maps(
    design: PlacedDesign, *, label_is_proxy: bool, spans: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Gcell maps ``(nx, ny)`` of every baseline at the design's positions (no ``proxy`` on proxy labels).

    ``spans`` may pass ``design.gcell_spans()`` when the caller has them.
    """
    rudy, pin_rudy = rudy_maps(design, design.x, design.y)
    density = cell_density_map(design, design.x, design.y, spans)
    maps = {"rudy": rudy, "pin_rudy": pin_rudy, "density": density}
    if not label_is_proxy:
        maps["proxy"] = proxy_congestion(design).values.astype(np.float64)
    return maps


def score_baselines(
    design: PlacedDesign,
    cell_labels: np.ndarray,
    gcell_labels: np.ndarray,
    covered: np.ndarray,
    *,
    reduce: str,
    label_is_proxy: bool,
    spans: np.ndarray | None = None,
) -> dict[str, dict[str, dict[str, float]]]:
    """``{baseline: {"cells": metrics, "gcells": metrics}}`` on all cells and the ``covered`` gcells.

    ``spans`` may pass ``design.gcell_spans()`` when the caller has them (the evaluation shares
    them with the model's gcell map).
    """
    spans = design.gcell_spans() if spans is None else spans
    scores = {}
    for name, gmap in baseline_maps(design, label_is_proxy=label_is_proxy, spans=spans).items():
        scores[name] = {
            "cells": _ranks_only(regression_metrics(cells_from_gcell_map(gmap, spans, reduce), cell_labels)),
            "gcells": _ranks_only(regression_metrics(gmap[covered], gcell_labels[covered])),
        }
    return scores


def _ranks_only(metrics: dict[str, float]) -> dict[str, float]:
    return metrics | {"r2": math.nan, "mae": math.nan}
