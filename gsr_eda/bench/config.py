"""What one benchmark run measures: the graph, the configuration grid, and the settings.

A *configuration* is one model at one depth (and, for GSR, one sparsity ``k``); the harness
runs each configuration in its own child process, so everything here is plain data that
round-trips through JSON.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

#: Models whose layers are split into channel groups (``groups`` applies to them).
GROUPED_MODELS: frozenset[str] = frozenset({"gsr", "revgnn"})
#: The baseline every speedup and memory reduction is measured against.
BASELINE_MODEL = "revgnn"

#: How a child builds models and adjacencies (``"module:attribute"``). Overridable so the
#: harness can benchmark models from outside the package with the same methodology.
DEFAULT_MODEL_BUILDER = "gsr_eda.models:build_model"
DEFAULT_ADJACENCY_BUILDER = "gsr_eda.bench.worker:csr_adjacency"


@dataclass(frozen=True)
class GraphSpec:
    """Where a child process gets its graph.

    ``kind="store"``: design ``design`` of the HDF5 graph store at ``path`` (features, CSR
    adjacency, optional cell labels and node split).
    ``kind="random"``: a seeded random graph of ``num_nodes`` nodes with about ``avg_degree``
    neighbours per node and ``num_features`` features, with labels that depend on the
    neighbourhood (so a GNN can learn them). Used by tests and for quick smoke runs.
    """

    kind: Literal["store", "random"]
    path: str | None = None
    design: str | None = None
    num_nodes: int = 1000
    avg_degree: float = 8.0
    num_features: int = 16
    seed: int = 0

    def describe(self) -> str:
        if self.kind == "store":
            return f"{self.design} in {self.path}"
        return (
            f"random graph, {self.num_nodes} nodes, avg degree {self.avg_degree:g}, "
            f"{self.num_features} features, seed {self.seed}"
        )


@dataclass(frozen=True)
class BenchConfig:
    """One configuration: model, shape, device and how long to measure.

    ``steps`` timed training steps follow ``warmup`` untimed ones; the reported time of each
    phase (forward, backward, optimizer) is the median over the timed steps. When the graph
    has labels and ``epochs > 0``, training continues (the warm-up and timed steps count) to
    ``epochs`` full-batch epochs, and the Pearson correlation on the validation nodes is
    recorded.
    """

    model: str
    layers: int
    hidden: int = 256
    groups: int = 2
    k: int | None = None
    dropout: float = 0.0
    steps: int = 5
    warmup: int = 2
    epochs: int = 0
    lr: float = 1e-3
    device: str = "cpu"
    profile: bool = False
    threads: int | None = None  # torch intra-op threads in the child; None: torch's default
    seed: int = 0
    model_builder: str = DEFAULT_MODEL_BUILDER
    adjacency_builder: str = DEFAULT_ADJACENCY_BUILDER

    @property
    def label(self) -> str:
        """Short human-readable name, e.g. ``gsr L64 k8`` or ``revgnn L64``."""
        text = f"{self.model} L{self.layers}"
        return text + (f" k{self.k}" if self.k is not None else "")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BenchConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})


@dataclass
class GridSpec:
    """The cartesian grid ``models x layers x k`` (``k`` for GSR only) with shared settings.

    ``settings`` holds the other :class:`BenchConfig` fields; ``profile`` applies to GSR only.
    """

    models: list[str]
    layers: list[int]
    k_values: list[int] = field(default_factory=lambda: [8])
    hidden: int = 256
    groups: int = 2
    settings: dict[str, Any] = field(default_factory=dict)

    def configs(self) -> list[BenchConfig]:
        """Configurations in run order: by depth, then model, then k.

        Depth-major order puts the cheap shallow runs first, so a user watching the progress
        display sees complete comparisons early.
        """
        grid: list[BenchConfig] = []
        for layers in sorted(set(self.layers)):
            for model in _unique(self.models):
                k_list: Iterable[int | None] = sorted(set(self.k_values)) if model == "gsr" else [None]
                for k in k_list:
                    settings = dict(self.settings)
                    # The kernel breakdown answers "where does GSR's time go"; profiling the
                    # baselines would only add their (long) steps to the run.
                    settings["profile"] = bool(settings.get("profile")) and model == "gsr"
                    grid.append(
                        BenchConfig(
                            model=model,
                            layers=layers,
                            hidden=self.hidden,
                            groups=self.groups,
                            k=k,
                            **settings,
                        )
                    )
        return grid


def _unique(items: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)
