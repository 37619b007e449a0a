"""Peak-memory measurement of the current process, attributable to one configuration.

CPU method (Linux): the kernel tracks the resident-set high-water mark of a process
(``VmHWM`` in ``/proc/self/status``). Writing ``5`` to ``/proc/self/clear_refs`` resets it to
the current RSS. A child process loads the graph, resets the mark, records the baseline RSS,
then trains; the peak attributable to the model is ``VmHWM - baseline``. This is exact (the
kernel updates the mark on every page fault) and costs nothing while measuring, unlike
sampling, which misses short spikes between samples.

Where the reset is not available (non-Linux, or a locked-down ``/proc``), a background
thread samples RSS with psutil every few milliseconds instead; the result says which method
was used, because a sampled peak is a lower bound.

CUDA method: ``torch.cuda.max_memory_allocated`` (tensors) and ``max_memory_reserved``
(what the caching allocator holds from the driver, i.e. what other processes cannot use),
both reset after the graph is on the device; allocated / reserved is the memory efficiency
of the allocator for this workload.
"""

from __future__ import annotations

import resource
import threading
from pathlib import Path
from typing import Any

import torch

from gsr_eda.bench import optional

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_RESET_PEAK_RSS = "5"  # see proc(5): "5" resets the peak resident set size ("high water mark")


def _status_kib(key: str) -> int | None:
    try:
        text = _STATUS.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return None


def peak_rss_bytes() -> int:
    """Peak resident memory of this process image (VmHWM; ``ru_maxrss`` where /proc is missing).

    ``ru_maxrss`` survives ``exec`` on Linux, so a child would report its parent's peak if larger.
    """
    kib = _status_kib("VmHWM")
    if kib is not None:
        return kib * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss_bytes() -> int:
    """Resident set size of this process now."""
    kib = _status_kib("VmRSS")
    if kib is not None:
        return kib * 1024
    return int(optional.psutil().Process().memory_info().rss)


class PeakRssMeter:
    """Peak RSS of this process above a baseline taken at :meth:`start`.

    Usage::

        meter = PeakRssMeter()
        meter.start()        # after loading the graph
        ...                  # build and train the model
        peak = meter.stop()  # bytes above the baseline
    """

    def __init__(self, sample_interval_s: float = 0.002) -> None:
        self.sample_interval_s = sample_interval_s
        self.method = "unstarted"
        self.baseline_bytes = 0
        self._sampled_peak = 0
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.baseline_bytes = current_rss_bytes()
        if self._reset_high_water_mark():
            self.method = "VmHWM reset via /proc/self/clear_refs"
            return
        self.method = f"psutil RSS sampling every {self.sample_interval_s * 1e3:g} ms (lower bound)"
        self._sampled_peak = self.baseline_bytes
        self._stop_event.clear()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def peak_bytes(self) -> int:
        """Absolute peak RSS since :meth:`start` (bytes)."""
        if self._thread is None:
            kib = _status_kib("VmHWM")
            return (kib or 0) * 1024
        return max(self._sampled_peak, current_rss_bytes())

    def stop(self) -> int:
        """Stop measuring; return the peak RSS above the baseline (bytes, never negative)."""
        if self._thread is not None:
            self._stop_event.set()
            self._thread.join()
        return max(0, self.peak_bytes() - self.baseline_bytes)

    @staticmethod
    def _reset_high_water_mark() -> bool:
        before = _status_kib("VmHWM")
        if before is None:
            return False
        try:
            _CLEAR_REFS.write_text(_RESET_PEAK_RSS)
        except OSError:
            return False
        after = _status_kib("VmHWM")
        rss = _status_kib("VmRSS")
        # Some kernels accept the write but ignore it: trust the reset only if the mark now
        # sits at the current RSS (within a little slack for pages touched in between).
        slack_kib = 4096
        return after is not None and rss is not None and after <= rss + slack_kib

    def _sample(self) -> None:
        process = optional.psutil().Process()
        while not self._stop_event.wait(self.sample_interval_s):
            self._sampled_peak = max(self._sampled_peak, int(process.memory_info().rss))


def cuda_peak_memory(device: Any) -> dict[str, float]:
    """Peak CUDA memory since the last reset: allocated, reserved (bytes) and their ratio."""
    allocated = float(torch.cuda.max_memory_allocated(device))
    reserved = float(torch.cuda.max_memory_reserved(device))
    return {
        "cuda_max_allocated_bytes": allocated,
        "cuda_max_reserved_bytes": reserved,
        "cuda_memory_efficiency": allocated / reserved if reserved > 0 else float("nan"),
    }
