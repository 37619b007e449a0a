"""Hostile store paths: a full disk, stale temporary files, symbolic links, read-only mounts, damage.

Each case was found by a robustness pass (issue 20). The mount-based cases need root (to mount a
small tmpfs or a read-only bind mount) and skip otherwise.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from gsr_eda.errors import InputError
from gsr_eda.store import DesignRecord, GraphStore, write_designs
from placed_design_builder import make_design


def _record(name: str, cells: int = 50) -> DesignRecord:
    """A hand-built record of ``cells`` cells chained by two-pin nets (no readers involved)."""
    rng = np.random.default_rng(cells)
    boxes = [(float(rng.uniform(0, 9)), float(rng.uniform(0, 9)), 0.5, 0.5) for _ in range(cells)]
    design = make_design(boxes, [[i, i + 1] for i in range(cells - 1)])
    design.name = name
    indptr = np.concatenate([[0], np.cumsum([1] + [2] * (cells - 2) + [1])]).astype(np.int64)
    indices = np.concatenate([[1]] + [[i - 1, i + 1] for i in range(1, cells - 1)] + [[cells - 2]]).astype(np.int32)
    return DesignRecord(
        name=name, design=design, indptr=indptr, indices=indices, net_model="clique", net_cap=0,
        features=rng.normal(size=(cells, 3)).astype(np.float32), feature_names=["a", "b", "c"],
    )


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
    """A folder holding one store (design ``old``), bind-mounted read-only; unmounted afterwards."""
    source = tmp_path / "source"
    source.mkdir()
    write_designs(source / "s.h5", [_record("old")])
    where = tmp_path / "ro"
    where.mkdir()
    _mount(["--bind", str(source)], where)
    try:
        if subprocess.run(["mount", "-o", "remount,ro,bind", str(where)], capture_output=True).returncode != 0:
            pytest.skip("cannot remount the bind mount read-only")
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=False)


GSR_EDA = Path(sys.executable).with_name("gsr-eda")


def _gsr_eda(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(GSR_EDA), *args], capture_output=True, text=True, timeout=300)


def test_full_disk_during_ingest_exits_3_naming_the_store_and_keeps_it(tiny_tmpfs: Path, tmp_path: Path) -> None:
    # Before: HDF5 crashed the process (SIGSEGV, exit 139) and left a temp file filling the disk.
    assert _gsr_eda("synth", "--cells", "150", "--out", str(tmp_path), "--name", "small").returncode == 0
    assert _gsr_eda("synth", "--cells", "4000", "--out", str(tmp_path), "--name", "big").returncode == 0
    store = tiny_tmpfs / "s.h5"
    lef = lambda name: str(tmp_path / f"{name}.lef")  # noqa: E731
    first = _gsr_eda("ingest", "design", "--def", str(tmp_path / "small.def"), "--lef", lef("small"), "--store", str(store))
    assert first.returncode == 0, first.stderr
    before = store.read_bytes()

    run = _gsr_eda("ingest", "design", "--def", str(tmp_path / "big.def"), "--lef", lef("big"), "--store", str(store))

    assert run.returncode == 3, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and str(store) in lines[0] and "no space left" in lines[0], run.stderr
    assert sorted(p.name for p in tiny_tmpfs.iterdir()) == ["s.h5"]
    assert store.read_bytes() == before


def test_stale_temporary_files_of_killed_writers_are_removed(tmp_path: Path) -> None:
    store = tmp_path / "s.h5"
    write_designs(store, [_record("a")])
    stale = tmp_path / ".s.h5.0123456789ab.tmp"
    stale.write_bytes(b"\0" * 4096)  # what a writer killed mid-write leaves
    others = [tmp_path / ".other.h5.0123456789ab.tmp", tmp_path / ".s.h5.notours.tmp"]
    for path in others:
        path.write_bytes(b"keep")

    write_designs(store, [_record("b")])

    assert not stale.exists()
    assert all(path.read_bytes() == b"keep" for path in others)


def test_a_symlinked_store_updates_its_target_and_stays_a_link(tmp_path: Path) -> None:
    target = tmp_path / "real" / "designs.h5"
    target.parent.mkdir()
    write_designs(target, [_record("a")])
    link = tmp_path / "designs.h5"
    link.symlink_to(target)

    write_designs(link, [_record("b")])

    assert link.is_symlink() and link.resolve() == target.resolve()
    with GraphStore(target) as store:
        assert store.designs == ["a", "b"]


@pytest.mark.parametrize("store_name", ["s.h5", "new.h5"])
def test_ingest_onto_a_read_only_mount_is_bad_input_naming_the_store(read_only_dir: Path, store_name: str) -> None:
    # Before: removing the temp file after the failed create raised EROFS: "internal error", exit 1.
    store = read_only_dir / store_name
    with pytest.raises(InputError, match="read-only file system") as err:
        write_designs(store, [_record("b")])
    assert err.value.path == store


def test_appending_to_a_store_with_damaged_data_names_the_store_and_the_design(tmp_path: Path) -> None:
    store = tmp_path / "s.h5"
    write_designs(store, [_record("a", 400), _record("b", 400)])
    data = bytearray(store.read_bytes())
    third = len(data) // 3
    data[third : 2 * third] = b"\xab" * third
    store.write_bytes(bytes(data))
    damaged = store.read_bytes()
    with GraphStore(store) as opened:  # the damage is past the root: the store still opens
        assert opened.designs == ["a", "b"]

    with pytest.raises(InputError, match="is damaged and cannot be copied") as err:
        write_designs(store, [_record("c")])

    assert err.value.path == store
    assert store.read_bytes() == damaged
    assert [p.name for p in tmp_path.iterdir()] == ["s.h5"]
