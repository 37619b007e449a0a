"""bench.runner.run_child: a benchmark child killed past its time, with the helpers it started."""

from __future__ import annotations

import signal
import sys

import pytest

from gsr_eda.bench.runner import run_child
from process_children import WITH_HELPER, gone


@pytest.mark.parametrize("memory_limit", [None, 2**40])
def test_run_child_reports_a_timeout_and_kills_the_helpers(memory_limit):
    run = run_child(WITH_HELPER, 3.0, memory_limit)
    assert run.killed_for == "timeout" and run.returncode == -signal.SIGKILL
    assert gone(int(run.output.split()[0]))


def test_run_child_of_a_quick_child_is_not_killed():
    run = run_child([sys.executable, "-c", "print('{\"ok\": 1}')"], 30)
    assert run.killed_for is None and run.returncode == 0
    assert run.printed_result() == {"ok": 1}
