"""Child processes in a process group of their own: started, killed whole, killed past a deadline.

A child started with :func:`start_group` leads a new session (``start_new_session=True``), so
:func:`kill_group` ends it and every helper it started, and a Ctrl-C at the terminal reaches
only the parent, which decides. :class:`Deadline` kills the group from a timer thread when its
time is up, for callers that block on the child (reading its output as it streams, or waiting
for it). ``gsr-eda route`` runs qrouter this way (:mod:`gsr_eda.route.qrouter`) and the
benchmarks run each configuration this way (:func:`gsr_eda.bench.runner.run_child`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Sequence
from typing import Any


def start_group(argv: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen:
    """``subprocess.Popen(argv, **popen_kwargs)`` as the leader of a new process group."""
    return subprocess.Popen(argv, start_new_session=True, **popen_kwargs)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the process group ``process`` leads (it and its helpers), then reap it.

    A group that has already ended is not an error.
    """
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


class Deadline:
    """Kill ``process``'s group once ``timeout_s`` seconds pass, unless cancelled first.

    ``expired`` says afterwards whether it fired. As a context manager it cancels on exit::

        with start_group(argv, stdout=subprocess.PIPE) as process, Deadline(process, 60) as deadline:
            for line in process.stdout: ...
        if deadline.expired: ...
    """

    def __init__(self, process: subprocess.Popen, timeout_s: float) -> None:
        self.expired = False
        self._process = process
        self._timer = threading.Timer(timeout_s, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        if self._process.poll() is None:  # one that ended just in time did not run out of it
            self.expired = True
            kill_group(self._process)

    def cancel(self) -> None:
        """Stop the timer (a kill already under way still completes)."""
        self._timer.cancel()

    def __enter__(self) -> Deadline:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.cancel()


__all__ = ["Deadline", "kill_group", "start_group"]
