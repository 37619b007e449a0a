"""json_safe: undefined metrics become null, so the JSON files parse everywhere."""

from __future__ import annotations

import json
import math

import numpy as np

from gsr_eda.jsonable import json_safe


def test_non_finite_floats_become_null_at_any_depth() -> None:
    value = {
        "pearson": math.nan,
        "r2": np.float64(-math.inf),
        "n": 3,
        "name": "a",
        "rows": [{"mae": math.nan, "mse": 0.5}, (math.inf, 1.0)],
    }
    safe = json_safe(value)
    assert safe == {"pearson": None, "r2": None, "n": 3, "name": "a", "rows": [{"mae": None, "mse": 0.5}, [None, 1.0]]}
    json.dumps(safe, allow_nan=False)  # strict JSON
