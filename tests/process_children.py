"""Child processes for the process-group tests: one that starts a helper, and how to tell it ended."""

from __future__ import annotations

import os
import sys
import time

# A child that starts a helper, prints the helper's pid, and then waits on it for a minute.
WITH_HELPER = [
    sys.executable,
    "-c",
    "import subprocess, sys; h = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
    "print(h.pid, flush=True); h.wait()",
]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (killed, not yet reaped by its parent) still answers kill(0): ask its state.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def gone(pid: int, within_s: float = 5.0) -> bool:
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        if not alive(pid):
            return True
        time.sleep(0.02)
    return False
