"""Benchmark harness: GSR-GNN against RevGNN, GCN and GraphSAGE (speed, memory, quality).

Each configuration of a grid (model x depth x k) trains in its own child process
(:mod:`gsr_eda.bench.worker`), so its peak memory is its own and a configuration that runs out
of time or memory is recorded without stopping the others (:mod:`gsr_eda.bench.runner`).
:mod:`gsr_eda.bench.report` compares against RevGNN, checks the project's targets and writes
``results.json``, ``report.md`` and PNG plots. Used by ``gsr-eda bench train``.
:mod:`gsr_eda.bench.kernels` times each compute-core kernel against the torch operation it
replaces (``gsr-eda bench kernels``).

>>> from gsr_eda.bench import GraphSpec, GridSpec, RunLimits, run_train_benchmark
>>> run_train_benchmark(GraphSpec("store", "designs.h5", "zero-riscy-a"),
...                     GridSpec(["gsr", "revgnn"], [16, 64]), RunLimits(), Path("out"))  # doctest: +SKIP
"""

from gsr_eda.bench.config import BenchConfig, GraphSpec, GridSpec
from gsr_eda.bench.runner import RunLimits, run_config, run_grid
from gsr_eda.bench.suite import run_train_benchmark

__all__ = [
    "BenchConfig",
    "GraphSpec",
    "GridSpec",
    "RunLimits",
    "run_config",
    "run_grid",
    "run_train_benchmark",
]
