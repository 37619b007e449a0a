"""Values every JSON reader accepts: non-finite floats become ``null``.

``json.dumps`` writes ``NaN`` and ``Infinity`` (not JSON), and its ``default=`` hook is never
called for floats, so metrics that can be undefined (a Pearson of a constant column) are
passed through :func:`json_safe` before they are written.
"""

from __future__ import annotations

import math
from typing import Any


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (in dicts, lists and tuples too) replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value
