r"""Regression and rank-correlation metrics for congestion predictions.

For predictions :math:`\hat y` and labels :math:`y` over ``n`` items (cells or gcells):

* Pearson :math:`r = \frac{\sum (\hat y_i - \bar{\hat y})(y_i - \bar y)}{\sqrt{\sum (\hat y_i - \bar{\hat y})^2 \sum (y_i - \bar y)^2}}`
* Spearman :math:`\rho`: Pearson of the (average) ranks.
* Kendall :math:`\tau_b`: concordant minus discordant pairs, tie-corrected.
* :math:`R^2 = 1 - \sum (y_i - \hat y_i)^2 / \sum (y_i - \bar y)^2`.
* MAE :math:`= \frac1n \sum |y_i - \hat y_i|`.
* Hotspot precision and recall at 10%: the hotspots are the items at or above the 90th
  percentile of the labels, the predicted hotspots those at or above the 90th percentile of the
  predictions; precision is the share of predicted hotspots that are hotspots, recall the share
  of hotspots predicted. Ranks only, so they compare estimators in any unit (RUDY, a model).

The implementations are scipy's and scikit-learn's. A correlation is undefined (``nan``) when
either side is constant; :math:`R^2` is ``nan`` when the labels are constant.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

METRIC_NAMES = ("pearson", "spearman", "kendall", "r2", "mae")
HOTSPOT_FRACTION = 0.10


def regression_metrics(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Pearson, Spearman, Kendall, R^2 and MAE of ``pred`` against ``target`` (same length).

    Also returns ``n``, the number of items compared.
    """
    # scipy.stats and sklearn.metrics take about 1.2 s to import: `import gsr_eda.train` (and
    # everything that imports a split or the trainer's config) pays for them only when scoring.
    from scipy import stats
    from sklearn.metrics import mean_absolute_error, r2_score

    pred = np.asarray(pred, dtype=np.float64).ravel()
    target = np.asarray(target, dtype=np.float64).ravel()
    if pred.shape != target.shape:
        raise ValueError(f"predictions ({pred.size}) and targets ({target.size}) differ in length")
    out: dict[str, float] = {"n": int(pred.size)}
    if pred.size < 2:
        return (
            out
            | {name: math.nan for name in METRIC_NAMES[:-1]}
            | {"mae": float(np.abs(pred - target).mean()) if pred.size else math.nan}
        )
    constant = np.ptp(pred) == 0 or np.ptp(target) == 0
    if constant:
        out.update(pearson=math.nan, spearman=math.nan, kendall=math.nan)
    else:
        with warnings.catch_warnings():  # near-constant inputs warn; the value is still defined
            warnings.simplefilter("ignore")
            out["pearson"] = float(stats.pearsonr(pred, target).statistic)
            out["spearman"] = float(stats.spearmanr(pred, target).statistic)
            out["kendall"] = float(stats.kendalltau(pred, target).statistic)
    out["r2"] = math.nan if np.ptp(target) == 0 else float(r2_score(target, pred))
    out["mae"] = float(mean_absolute_error(target, pred))
    out.update(hotspot_metrics(pred, target))
    return out


def hotspot_metrics(pred: np.ndarray, target: np.ndarray, fraction: float = HOTSPOT_FRACTION) -> dict[str, float]:
    """``hotspot_precision`` and ``hotspot_recall`` of the top ``fraction`` (module docstring)."""
    hot = target >= np.quantile(target, 1 - fraction)
    flagged = pred >= np.quantile(pred, 1 - fraction)
    both = int(np.count_nonzero(hot & flagged))
    return {"hotspot_precision": both / max(int(flagged.sum()), 1), "hotspot_recall": both / max(int(hot.sum()), 1)}
