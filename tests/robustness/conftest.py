"""Mounts for the robustness tests: a tiny tmpfs (a disk that fills) and a read-only folder.

Both need root; without it (or where mounting is not allowed) the tests that use them skip.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(args: list[str], where: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs or a read-only bind mount")
    result = subprocess.run(["mount", *args, str(where)], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount here: {result.stderr.strip()}")


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB tmpfs, unmounted afterwards."""
    where = tmp_path / "tmpfs"
    where.mkdir()
    _mount(["-t", "tmpfs", "-o", "size=512k", "tmpfs"], where)
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A read-only bind mount of ``tmp_path / "source"`` (which stays writable), unmounted afterwards."""
    source = tmp_path / "source"
    source.mkdir()
    where = tmp_path / "ro"
    where.mkdir()
    _mount(["--bind", str(source)], where)
    try:
        if subprocess.run(["mount", "-o", "remount,ro,bind", str(where)], capture_output=True).returncode != 0:
            pytest.skip("cannot remount the bind mount read-only")
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)
