"""The goals a ``gsr-eda bench train`` run is checked against, as data, apart from the code that checks them.

They are this project's goals for GSR-GNN against RevGNN, each stated for one reference
configuration per device; :func:`gsr_eda.bench.report.check_targets` applies them.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Allowed growth of peak memory from the shallowest to the deepest run for "flat in depth".
FLAT_MEMORY_TOLERANCE = 1.25


@dataclass(frozen=True)
class Targets:
    """GSR's speed-up and memory saving over RevGNN on one device kind."""

    min_speedup: float
    min_memory_reduction: float
    min_memory_efficiency: float | None  # CUDA allocated / reserved
    reference: dict[str, int]  # the configuration the goal is stated for

    @classmethod
    def for_device(cls, device: str) -> Targets:
        if device.startswith("cuda"):
            return cls(35.0, 0.87, 0.90, {"layers": 100, "hidden": 384, "groups": 2, "k": 8})
        return cls(20.0, 0.80, None, {"layers": 64, "hidden": 256, "groups": 2, "k": 8})
