"""Metrics against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gsr_eda.train.metrics import regression_metrics


def test_metrics_match_hand_computed_values():
    pred = np.array([1.0, 2.0, 3.0, 5.0])
    target = np.array([1.0, 3.0, 2.0, 4.0])
    m = regression_metrics(pred, target)
    # Pearson: means 2.75 and 2.5; deviations (-1.75,-0.75,0.25,2.25) and (-1.5,0.5,-0.5,1.5);
    # cross-product sum 5.5, sums of squares 8.75 and 5.
    assert m["pearson"] == pytest.approx(5.5 / math.sqrt(8.75 * 5.0))
    # Ranks (1,2,3,4) vs (1,3,2,4): sum d^2 = 2 -> rho = 1 - 6*2/(4*15) = 0.8.
    assert m["spearman"] == pytest.approx(0.8)
    # 6 pairs, one discordant (items 2 and 3): tau = (5 - 1) / 6.
    assert m["kendall"] == pytest.approx(4 / 6)
    # Residuals (0,-1,1,1): SSE 3; total sum of squares 5 -> R^2 = 0.4. MAE = 3/4.
    assert m["r2"] == pytest.approx(0.4)
    assert m["mae"] == pytest.approx(0.75)
    assert m["n"] == 4


def test_constant_input_gives_nan_correlations_not_errors():
    m = regression_metrics(np.ones(5), np.arange(5.0))
    assert math.isnan(m["pearson"]) and math.isnan(m["spearman"]) and math.isnan(m["kendall"])
    assert m["mae"] == pytest.approx(np.mean(np.abs(1 - np.arange(5.0))))
    m = regression_metrics(np.arange(5.0), np.ones(5))
    assert math.isnan(m["r2"])


def test_length_mismatch_is_refused():
    with pytest.raises(ValueError, match="differ in length"):
        regression_metrics(np.zeros(3), np.zeros(4))
