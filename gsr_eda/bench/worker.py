"""The child process of ``gsr-eda bench train``: measure one configuration, write JSON.

Run as ``python -m gsr_eda.bench.worker SPEC.json RESULT.json``. The spec holds a
:class:`~gsr_eda.bench.config.GraphSpec` and a :class:`~gsr_eda.bench.config.BenchConfig`.
One configuration per process makes the peak memory attributable to it alone (the parent's
imports, earlier models and allocator caches do not count) and lets the parent kill a
configuration that runs past its time or memory budget without losing the others.

Each training step is timed in three phases, with the device synchronised at each boundary:

* forward: ``pred = model(x, adj)`` and the loss,
* backward: ``loss.backward()``,
* optimizer: ``optimizer.step()`` and ``zero_grad``.

The loss is the mean squared error on the training nodes when the graph has labels, and
``mean(pred^2)`` otherwise (the cost of a step does not depend on the target values).
"""

from __future__ import annotations

import functools
import importlib
import json
import math
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile

from gsr_eda.atomic import write_text_atomically
from gsr_eda.bench.config import GROUPED_MODELS, BenchConfig, GraphSpec
from gsr_eda.bench.graph_source import BenchGraph, load_graph
from gsr_eda.bench.memory import PeakRssMeter, cuda_peak_memory
from gsr_eda.train.metrics import regression_metrics

#: Kernels listed in a ``--profile`` breakdown.
PROFILE_TOP_KERNELS = 20


def resolve(dotted: str) -> Callable[..., Any]:
    """Import ``"package.module:attribute.path"`` and return the attribute."""
    module_name, _, attribute = dotted.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


def csr_adjacency(indptr: Any, indices: Any, num_nodes: int, device: Any) -> Any:
    """The project's CSR adjacency with mean aggregation, on ``device``."""
    # The compiled core is imported by the configurations that use it: the harness runs without it.
    from gsr_eda.ops import CSRAdjacency

    return CSRAdjacency.from_csr(indptr, indices, num_nodes, normalization="mean", device=device)


def is_out_of_memory(error: BaseException) -> bool:
    """MemoryError, CUDA OOM, or an allocator failure reported as RuntimeError."""
    if isinstance(error, MemoryError):
        return True
    text = str(error).lower()
    return "out of memory" in text or "can't allocate memory" in text or "bad_alloc" in text


def measure(graph_spec: GraphSpec, config: BenchConfig) -> dict[str, Any]:
    """Train ``config`` on the graph; return figures (raises on failure)."""
    device = _prepare_torch(config)
    started = time.perf_counter()
    inputs = _load_inputs(graph_spec, config, device)
    load_s = time.perf_counter() - started

    _prime_runtime(device)
    # Baseline: the graph is loaded and the runtime initialised; everything from here on is
    # the model's doing.
    meter = PeakRssMeter()
    meter.start()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        cuda_baseline = torch.cuda.memory_allocated(device)
    training = _TimedTraining(_build_model(config, inputs.graph.features.shape[1], device), config, inputs, device)
    for _ in range(config.warmup):
        training.step(record=False)
    for _ in range(config.steps):
        training.step(record=True)
    peak_rss = meter.stop()

    figures = _timing_figures(training, load_s) | {
        "peak_rss_bytes": peak_rss,
        "baseline_rss_bytes": meter.baseline_bytes,
        "memory_method": meter.method,
    }
    if device.type == "cuda":
        figures.update(cuda_peak_memory(device))
        figures["cuda_baseline_allocated_bytes"] = float(cuda_baseline)
    if config.profile:
        figures["profile"] = _profile_step(training.step, device.type == "cuda")
    figures |= _validation_figures(training, config)
    figures["wall_s"] = time.perf_counter() - started
    return figures


@dataclass
class _Inputs:
    """The benchmark graph and its tensors on the device (labels and splits when labelled)."""

    graph: BenchGraph
    x: torch.Tensor
    adjacency: Any
    labels: torch.Tensor | None = None
    train_nodes: torch.Tensor | None = None
    val_nodes: torch.Tensor | None = None


def _prepare_torch(config: BenchConfig) -> torch.device:
    """Seed, thread count and the device of the run."""
    torch.manual_seed(config.seed)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    device = torch.device(config.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("CUDA was requested but torch.cuda.is_available() is False")
    return device


def _load_inputs(graph_spec: GraphSpec, config: BenchConfig, device: torch.device) -> _Inputs:
    """The graph from its spec, moved to ``device``, with ``config``'s adjacency builder."""
    graph = load_graph(graph_spec)
    inputs = _Inputs(
        graph,
        torch.from_numpy(graph.features).to(device),
        resolve(config.adjacency_builder)(graph.indptr, graph.indices, graph.num_nodes, device),
    )
    if graph.labels is not None:
        inputs.labels = torch.from_numpy(graph.labels).to(device)
        inputs.train_nodes = torch.from_numpy(graph.train_nodes).to(device)
        inputs.val_nodes = torch.from_numpy(graph.val_nodes).to(device)
    _synchronize(device)
    return inputs


def _build_model(config: BenchConfig, num_features: int, device: torch.device) -> torch.nn.Module:
    """``config``'s model, in training mode on ``device``."""
    model_kwargs: dict[str, Any] = {"hidden": config.hidden, "layers": config.layers, "dropout": config.dropout}
    if config.model in GROUPED_MODELS:
        model_kwargs["groups"] = config.groups
    if config.k is not None:
        model_kwargs["k"] = config.k
    model = resolve(config.model_builder)(config.model, num_features, **model_kwargs)
    return model.to(device).train()


def _synchronize(device: torch.device) -> None:
    """Wait for the device, so a timer around GPU work measures the work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _TimedTraining:
    """Adam steps on one model, each timed in its forward, backward and optimizer phases."""

    def __init__(self, model: torch.nn.Module, config: BenchConfig, inputs: _Inputs, device: torch.device) -> None:
        self.model, self.inputs, self.device = model, inputs, device
        self.optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        self.phases: dict[str, list[float]] = {"forward": [], "backward": [], "optimizer": []}
        self.steps_done = 0
        self.last_loss = float("nan")

    def loss_of(self, prediction: torch.Tensor) -> torch.Tensor:
        """MSE on the training nodes; ``mean(pred^2)`` without labels (same cost)."""
        inputs = self.inputs
        if inputs.labels is None:
            return prediction.pow(2).mean()
        return torch.nn.functional.mse_loss(prediction[inputs.train_nodes], inputs.labels[inputs.train_nodes])

    def step(self, record: bool, annotate: bool = False) -> None:
        """One step; ``record`` keeps its phase times, ``annotate`` names the phases for the profiler."""
        mark = torch.profiler.record_function if annotate else (lambda _name: nullcontext())
        times = [self._now()]
        with mark("forward"):
            loss = self.loss_of(self.model(self.inputs.x, self.inputs.adjacency))
        times.append(self._now())
        with mark("backward"):
            loss.backward()
        times.append(self._now())
        with mark("optimizer"):
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
        times.append(self._now())
        self.last_loss = float(loss.detach())
        self.steps_done += 1
        if record:
            for phase, begin, end in zip(self.phases, times, times[1:]):
                self.phases[phase].append(end - begin)

    def _now(self) -> float:
        _synchronize(self.device)
        return time.perf_counter()


def _timing_figures(training: _TimedTraining, load_s: float) -> dict[str, Any]:
    """The graph, the model size and the medians of the recorded phases."""
    graph, phases = training.inputs.graph, training.phases
    totals = [sum(parts) for parts in zip(*phases.values())]
    return {
        "graph": {
            "name": graph.name,
            "nodes": graph.num_nodes,
            "nnz": graph.nnz,
            "split": graph.split_source,
            "features": int(graph.features.shape[1]),
            "labelled": graph.labels is not None,
        },
        "num_parameters": int(sum(p.numel() for p in training.model.parameters())),
        "torch_threads": torch.get_num_threads(),
        "load_s": load_s,
        "forward_s": statistics.median(phases["forward"]),
        "backward_s": statistics.median(phases["backward"]),
        "optimizer_s": statistics.median(phases["optimizer"]),
        "step_s": statistics.median(totals),
        "step_s_min": min(totals),
        "step_s_max": max(totals),
        "step_s_all": totals,
    }


def _validation_figures(training: _TimedTraining, config: BenchConfig) -> dict[str, Any]:
    """With labels and ``config.epochs``: train up to that many steps, then validation correlations."""
    inputs = training.inputs
    if inputs.labels is None:
        return {"val_pearson_note": "the design has no labels"}
    if config.epochs <= 0:
        return {}
    while training.steps_done < config.epochs:
        training.step(record=False)
    training.model.eval()
    with torch.no_grad():
        prediction = training.model(inputs.x, inputs.adjacency)[inputs.val_nodes].double().cpu().numpy()
    target = inputs.labels[inputs.val_nodes].double().cpu().numpy()
    metrics = regression_metrics(prediction, target)
    return {
        # NaN (a constant prediction) is not valid JSON: record it as null.
        "val_pearson": None if math.isnan(metrics["pearson"]) else metrics["pearson"],
        "val_spearman": None if math.isnan(metrics["spearman"]) else metrics["spearman"],
        "epochs_trained": training.steps_done,
        "final_train_loss": training.last_loss,
        "val_nodes": int(inputs.val_nodes.numel()),
    }


#: Prefix of the profiler labels put around the compiled core's kernels.
CORE_KERNEL_LABEL = "gsr_core::"


@contextmanager
def _labelled_core_kernels() -> Iterator[None]:
    """Name every compiled-kernel call of :mod:`gsr_eda.ops.kernels` in the profile.

    The core's kernels run inside two custom autograd Functions and are invisible to
    torch.profiler, which would charge all their time to the Functions. While profiling, each
    public kernel wrapper (``*_into``) is replaced by one that opens a ``record_function``
    named ``gsr_core::<kernel>``; callers look the wrappers up on the module at call time, so
    they pick the labelled ones up. The originals are restored on exit.
    """
    try:
        from gsr_eda.ops import kernels
    except ImportError:  # no compiled core in this build: nothing to label
        yield
        return
    originals = {
        name: function for name, function in vars(kernels).items() if name.endswith("_into") and callable(function)
    }

    def labelled(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def call(*args: Any, **kwargs: Any) -> Any:
            with torch.profiler.record_function(CORE_KERNEL_LABEL + name):
                return function(*args, **kwargs)

        return call

    try:
        for name, function in originals.items():
            setattr(kernels, name, labelled(name, function))
        yield
    finally:
        for name, function in originals.items():
            setattr(kernels, name, function)


def _profile_step(step: Callable[..., None], on_cuda: bool) -> dict[str, Any]:
    """One training step under torch.profiler: the kernels that take the most self time.

    Compiled-core kernels appear as ``gsr_core::<kernel>``; the self time left to the GSR
    autograd Functions is then their Python-side work between kernels.
    """
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if on_cuda else [])
    with _labelled_core_kernels(), profile(activities=activities) as profiler:
        step(record=False, annotate=True)
    events = profiler.key_averages()
    self_key = "self_device_time_total" if on_cuda else "self_cpu_time_total"

    def self_us(event: Any) -> float:
        return float(getattr(event, self_key, 0.0) or 0.0)

    phase_names = {"forward", "backward", "optimizer"}
    kernels = [e for e in events if e.key not in phase_names]
    total_us = sum(self_us(e) for e in kernels) or 1.0
    top = sorted(kernels, key=self_us, reverse=True)[:PROFILE_TOP_KERNELS]
    phases = {e.key: float(e.cpu_time_total) / 1e6 for e in events if e.key in phase_names}
    return {
        "clock": "device" if on_cuda else "cpu",
        "total_self_s": total_us / 1e6,
        "phases_s": phases,
        "kernels": [
            {
                "name": e.key,
                "calls": int(e.count),
                "self_s": self_us(e) / 1e6,
                "share": self_us(e) / total_us,
            }
            for e in top
        ],
    }


def _prime_runtime(device: Any) -> None:
    """One throwaway autograd + Adam step on a tiny tensor, before the memory baseline.

    PyTorch initialises thread pools, the autograd engine and kernel libraries lazily, on
    first use; without priming, those tens of megabytes would be charged to the model.
    """
    layer = torch.nn.Linear(8, 8).to(device)
    optimizer = torch.optim.Adam(layer.parameters())
    layer(torch.ones(4, 8, device=device)).relu().sum().backward()
    optimizer.step()


def run(spec_path: Path, result_path: Path) -> int:
    """Measure the spec; write ``{"status", "message", "figures"}`` atomically."""
    spec = json.loads(spec_path.read_text())
    graph_spec = GraphSpec(**spec["graph"])
    config = BenchConfig.from_dict(spec["config"])
    result: dict[str, Any]
    try:
        result = {"status": "ok", "message": "", "figures": measure(graph_spec, config)}
    except BaseException as error:  # noqa: BLE001 - every failure becomes a recorded status
        if isinstance(error, KeyboardInterrupt):
            raise
        traceback.print_exc()
        status = "oom" if is_out_of_memory(error) else "error"
        message = f"{type(error).__name__}: {error}".strip()
        result = {"status": status, "message": message.splitlines()[0][:500], "figures": {}}
    write_text_atomically(result_path, json.dumps(result, default=float))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.stderr.write("usage: python -m gsr_eda.bench.worker SPEC.json RESULT.json\n")
        sys.exit(2)
    sys.exit(run(Path(sys.argv[1]), Path(sys.argv[2])))
