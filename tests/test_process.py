"""Process groups: a child and its helpers start in a group of their own and die together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from gsr_eda.process import Deadline, kill_group, start_group
from process_children import WITH_HELPER, alive, gone


def test_a_started_child_leads_its_own_process_group():
    with start_group([sys.executable, "-c", "import time; time.sleep(60)"]) as child:
        try:
            assert os.getpgid(child.pid) == child.pid != os.getpgid(0)
        finally:
            kill_group(child)
    assert child.returncode == -signal.SIGKILL


def test_kill_group_ends_the_child_and_its_helpers():
    with start_group(WITH_HELPER, stdout=subprocess.PIPE, text=True) as child:
        helper = int(child.stdout.readline())
        assert alive(helper)
        kill_group(child)
    assert child.returncode == -signal.SIGKILL
    assert gone(helper)


def test_kill_group_of_an_ended_child_is_quiet():
    with start_group([sys.executable, "-c", "pass"]) as child:
        child.wait()
        kill_group(child)
    assert child.returncode == 0


def test_a_deadline_kills_the_group_while_the_caller_blocks_on_its_output():
    started = time.monotonic()
    with start_group(WITH_HELPER, stdout=subprocess.PIPE, text=True) as child:
        with Deadline(child, 0.5) as deadline:
            helper = int(child.stdout.readline())
            rest = child.stdout.read()  # blocks until the group is killed
        child.wait()
    assert deadline.expired and rest == ""
    assert child.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 30
    assert gone(helper)


def test_a_child_that_ends_in_time_is_not_expired():
    with start_group([sys.executable, "-c", "print('done')"], stdout=subprocess.PIPE, text=True) as child:
        with Deadline(child, 30) as deadline:
            assert child.stdout.read() == "done\n"
            child.wait()
    assert not deadline.expired and child.returncode == 0


def test_a_cancelled_deadline_never_fires():
    with start_group([sys.executable, "-c", "import time; time.sleep(1)"]) as child:
        deadline = Deadline(child, 0.2)
        deadline.cancel()
        child.wait()
    assert not deadline.expired and child.returncode == 0
