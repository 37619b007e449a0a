"""Standardisation fitted on chunks equals the statistics of the concatenated data."""

from __future__ import annotations

import numpy as np
import pytest

from gsr_eda.predict.normalization import Standardizer


def test_fit_on_chunks_matches_numpy_and_round_trips():
    rng = np.random.default_rng(0)
    a, b = rng.normal(3, 2, (40, 3)), rng.normal(3, 2, (25, 3))
    a[:, 2] = b[:, 2] = 7.0  # a constant feature must not divide by zero
    ya, yb = rng.normal(0.5, 0.1, 40), rng.normal(0.5, 0.1, 25)
    std = Standardizer.fit([a, b], [ya, yb])
    both = np.vstack([a, b])
    np.testing.assert_allclose(std.feature_mean, both.mean(0))
    np.testing.assert_allclose(std.feature_std[:2], both.std(0)[:2])
    assert std.feature_std[2] == 1.0
    y = np.concatenate([ya, yb])
    assert std.target_mean == pytest.approx(y.mean()) and std.target_std == pytest.approx(y.std())
    z = std.features(both)
    assert z.dtype.is_floating_point and abs(float(z[:, 0].mean())) < 1e-5
    np.testing.assert_allclose(std.untarget(std.target(y)), y, rtol=1e-5)
    back = Standardizer.from_state(std.to_state())
    np.testing.assert_array_equal(back.feature_mean, std.feature_mean)


def test_no_training_data_is_refused():
    with pytest.raises(ValueError):
        Standardizer.fit([np.zeros((0, 2))], [np.zeros(0)])


def test_per_design_scale_uses_each_designs_own_statistics():
    rng = np.random.default_rng(1)
    train = rng.normal(0, 1, (50, 2))
    std = Standardizer.fit([train], [rng.normal(0, 1, 50)])
    design = Standardizer.from_moments(
        Standardizer.moments([train], [rng.normal(0, 1, 50)]), feature_scale="design", target_scale="design"
    )
    # A design whose features and labels sit on another scale than the training set's.
    x = np.column_stack([rng.normal(40, 5, 30), np.full(30, 3.0)])
    y = rng.normal(10, 4, 30)
    z = design.features(x).double().numpy()
    np.testing.assert_allclose(z[:, 0].mean(), 0, atol=1e-6)
    np.testing.assert_allclose(z[:, 0].std(), 1, atol=1e-5)
    np.testing.assert_array_equal(z[:, 1], 0)  # constant there: centred, not divided by zero
    assert float(std.features(x)[:, 0].mean()) > 20  # the pooled scale keeps the offset
    t = design.target(y).double().numpy()
    np.testing.assert_allclose([t.mean(), t.std()], [0, 1], atol=1e-5)
    # Statistics from the given nodes only (a split by node: the design's training nodes).
    fit_on = y[:10]
    t = design.target(y, fit_on=fit_on).double().numpy()
    np.testing.assert_allclose(t[:10].mean(), 0, atol=1e-5)
    assert abs(t.mean()) > 1e-3 or np.isclose(y[:10].mean(), y.mean())
    # Saved and restored with the checkpoint; older states read as pooled.
    back = Standardizer.from_state(design.to_state())
    assert (back.feature_scale, back.target_scale) == ("design", "design")
    old = {k: v for k, v in std.to_state().items() if not k.endswith("_scale")}
    assert Standardizer.from_state(old).feature_scale == "pooled"
