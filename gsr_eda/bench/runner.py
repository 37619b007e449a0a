"""Run each configuration in its own child process, within a time and memory budget.

Every configuration ends as one record, whatever happens to it:

=========  ==============================================================================
status     meaning
=========  ==============================================================================
ok         measured; ``figures`` holds the timings, memory and (optionally) correlation
oom        out of memory: MemoryError / CUDA OOM in the child, the child's RSS passed the
           memory limit (the parent kills it), the kernel's OOM killer (SIGKILL), or a
           pre-check showed the run cannot fit (it is then not started)
timeout    the child ran past ``timeout_s`` and was killed
error      anything else; ``message`` holds the exception, ``log`` the child's last output
=========  ==============================================================================
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gsr_eda.bench import optional
from gsr_eda.bench.config import BenchConfig, GraphSpec
from gsr_eda.bench.graph_source import graph_size
from gsr_eda.process import Deadline, kill_group, start_group

#: How often the parent checks a child's memory.
POLL_INTERVAL_S = 0.05
#: Default memory limit as a fraction of the memory available when the run starts.
DEFAULT_MEMORY_FRACTION = 0.9
#: Characters of the child's output kept in an error record.
LOG_TAIL_CHARS = 2000
#: Bytes per float32 activation; the non-reversible baselines keep at least this many
#: ``N x hidden`` tensors per layer for backward (input of the linear map and its output).
_BYTES_PER_FLOAT = 4
_MIN_SAVED_TENSORS_PER_LAYER = 2


@dataclass(frozen=True)
class RunLimits:
    """Budget of one configuration: wall-clock seconds and resident memory in bytes."""

    timeout_s: float = 1800.0
    memory_limit_bytes: int | None = None

    def resolved_memory_limit(self) -> int:
        if self.memory_limit_bytes is not None:
            return int(self.memory_limit_bytes)
        return int(DEFAULT_MEMORY_FRACTION * optional.psutil().virtual_memory().available)


def activation_lower_bound_bytes(config: BenchConfig, num_nodes: int) -> int:
    """A lower bound of the activation memory of a non-reversible model (0 if reversible).

    GCN and GraphSAGE under ordinary autograd keep every layer's activations; each layer
    saves at least two ``N x hidden`` float32 tensors. Reversible models (GSR, RevGNN) keep
    none by design, so no bound is claimed for them.
    """
    if config.model in ("gsr", "revgnn"):
        return 0
    return config.layers * _MIN_SAVED_TENSORS_PER_LAYER * num_nodes * config.hidden * _BYTES_PER_FLOAT


def run_config(
    graph: GraphSpec,
    config: BenchConfig,
    limits: RunLimits,
    *,
    num_nodes: int | None = None,
) -> dict[str, Any]:
    """Measure ``config`` in a child process; always return a record (see module doc)."""
    memory_limit = limits.resolved_memory_limit()
    record: dict[str, Any] = {
        "label": config.label,
        "config": config.to_dict(),
        "status": "ok",
        "message": "",
        "figures": {},
        "memory_limit_bytes": memory_limit,
        "timeout_s": limits.timeout_s,
    }
    if config.device == "cpu" and num_nodes is not None:
        needed = activation_lower_bound_bytes(config, num_nodes)
        if needed > memory_limit:
            record["status"] = "oom"
            record["message"] = (
                f"not run: its activations alone need at least {needed / 2**30:.1f} GiB, "
                f"more than the {memory_limit / 2**30:.1f} GiB memory limit"
            )
            record["wall_s"] = 0.0
            return record

    with tempfile.TemporaryDirectory(prefix="gsr-eda-bench-") as tmp:
        spec_path = Path(tmp) / "spec.json"
        result_path = Path(tmp) / "result.json"
        spec_path.write_text(json.dumps({"graph": graph.__dict__, "config": config.to_dict()}))
        child = run_child(
            [sys.executable, "-m", "gsr_eda.bench.worker", str(spec_path), str(result_path)],
            limits.timeout_s,
            memory_limit,
        )
        record["wall_s"] = child.wall_s
        if child.killed_for == "timeout":
            record["status"] = "timeout"
            record["message"] = f"killed after the {limits.timeout_s:g} s time limit"
        elif child.killed_for == "memory":
            record["status"] = "oom"
            record["message"] = f"killed: resident memory passed the {memory_limit / 2**30:.1f} GiB memory limit"
        elif result_path.exists():
            result = json.loads(result_path.read_text())
            record.update(status=result["status"], message=result["message"], figures=result["figures"])
        elif child.returncode == -signal.SIGKILL:
            record["status"] = "oom"
            record["message"] = "killed by SIGKILL without a result (most likely the kernel's OOM killer)"
        else:
            record["status"] = "error"
            record["message"] = f"the child process {child.how_it_ended()} and wrote no result"
        if record["status"] != "ok":
            record["log"] = child.output[-LOG_TAIL_CHARS:]
    return record


@dataclass(frozen=True)
class ChildRun:
    """How a child process ended, and what it printed (stdout and stderr, interleaved)."""

    killed_for: str | None  # "timeout" or "memory" when the parent killed it
    returncode: int
    output: str
    wall_s: float

    def how_it_ended(self) -> str:
        """``exited with code 1``, ``was killed by SIGSEGV``, ..."""
        code = self.returncode
        return f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"

    def printed_result(self) -> dict[str, Any]:
        """The JSON object a child script printed last, on a line of its own."""
        objects = [line for line in self.output.splitlines() if line.startswith("{")]
        if not objects:
            raise ValueError("the child process printed no JSON result")
        return json.loads(objects[-1])


def run_child(argv: list[str], timeout_s: float, memory_limit: int | None = None) -> ChildRun:
    """Run ``argv`` in a process group of its own (:func:`gsr_eda.process.start_group`), killed
    past ``timeout_s`` seconds or, when ``memory_limit`` is given, past that many bytes of
    resident memory."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as log:
        child = start_group(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        with Deadline(child, timeout_s) as deadline:
            over_memory = _watch_memory(child, memory_limit)
        killed_for = "memory" if over_memory else "timeout" if deadline.expired else None
        log.seek(0)
        output = log.read().decode(errors="replace")
    return ChildRun(killed_for, child.returncode, output, time.perf_counter() - started)


def _watch_memory(child: subprocess.Popen, memory_limit: int | None) -> bool:
    """Wait for ``child`` to end; kill it when its resident memory passes ``memory_limit``
    (True then)."""
    if memory_limit is None:
        child.wait()
        return False
    psutil = optional.psutil()
    try:
        watched = psutil.Process(child.pid)
    except psutil.NoSuchProcess:
        watched = None
    while child.poll() is None:
        if watched is not None:
            try:
                rss = watched.memory_info().rss
            except psutil.Error:
                rss = 0
            if rss > memory_limit:
                kill_group(child)
                return True
        time.sleep(POLL_INTERVAL_S)
    return False


ProgressCallback = Callable[[int, BenchConfig, "dict[str, Any] | None"], None]


def run_grid(
    graph: GraphSpec,
    configs: list[BenchConfig],
    limits: RunLimits,
    *,
    on_progress: ProgressCallback | None = None,
) -> list[dict[str, Any]]:
    """Run every configuration in order; ``on_progress(i, config, record|None)`` before/after each."""
    num_nodes, _ = graph_size(graph)
    records = []
    for index, config in enumerate(configs):
        if on_progress is not None:
            on_progress(index, config, None)
        record = run_config(graph, config, limits, num_nodes=num_nodes)
        records.append(record)
        if on_progress is not None:
            on_progress(index, config, record)
    return records
