"""Describe the machine a benchmark ran on, for the header of every result file.

Timings are meaningless without the hardware and software that produced them, and a run on
a shared machine reads differently from one on an idle one: the load average at the start is
recorded so a reader can tell.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from gsr_eda.bench import optional


def cpu_model() -> str:
    """Marketing name of the CPU (``/proc/cpuinfo`` on Linux, ``platform`` elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def gpu_info() -> list[dict[str, Any]]:
    """Visible CUDA devices (empty without CUDA): name, memory, compute capability."""
    if not torch.cuda.is_available():
        return []
    devices = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        devices.append(
            {
                "index": index,
                "name": props.name,
                "memory_bytes": int(props.total_memory),
                "compute_capability": f"{props.major}.{props.minor}",
            }
        )
    return devices


def source_revision() -> dict[str, Any] | None:
    """Git commit of the gsr-eda checkout (editable installs) and whether it had local changes.

    Two runs of the same version number can run different code during development; the commit
    and the dirty flag say whether their timings are comparable. None outside a git checkout.
    """
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(changes.strip())}


def machine_info(argv: list[str] | None = None) -> dict[str, Any]:
    """The header of a result file: hardware, load, software versions, command and date."""
    psutil = optional.psutil()
    memory = psutil.virtual_memory()
    try:
        load = list(os.getloadavg())
    except OSError:
        load = None
    return {
        "date_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": shlex.join(sys.argv if argv is None else argv),
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "physical_cores": psutil.cpu_count(logical=False),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "torch_threads": torch.get_num_threads(),
        "memory_total_bytes": int(memory.total),
        "memory_available_bytes": int(memory.available),
        "load_average_1_5_15": load,
        "gpus": gpu_info(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            "torch": torch.__version__,
            "torch_geometric": _version("torch_geometric"),
            "gsr-eda": _version("gsr-eda"),
            "numpy": _version("numpy"),
        },
        "torch_cuda": torch.version.cuda,
        "gsr_eda_source": source_revision(),
    }


def describe_machine(info: dict[str, Any]) -> str:
    """One line for report headers, e.g. ``AMD EPYC, 2 cores, 23.4 GiB, no GPU``."""
    gpus = ", ".join(gpu["name"] for gpu in info.get("gpus") or []) or "no GPU"
    memory_gib = info.get("memory_total_bytes", 0) / 2**30
    return f"{info.get('cpu_model')}, {info.get('logical_cores')} cores, {memory_gib:.1f} GiB, {gpus}"
