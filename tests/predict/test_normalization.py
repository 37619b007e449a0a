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
