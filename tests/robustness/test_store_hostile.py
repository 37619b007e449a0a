"""Hostile store paths: a full disk, stale temporary files, symbolic links, read-only mounts, damage.

Each case was found by a robustness pass (issue 20). The mount-based cases need root (to mount a
small tmpfs or a read-only bind mount, see conftest.py) and skip otherwise.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from records import chain_record

from gsr_eda.errors import InputError
from gsr_eda.store import DesignRecord, GraphStore, write_designs


def _record(name: str, cells: int = 50) -> DesignRecord:
    return chain_record(name, cells)


GSR_EDA = Path(sys.executable).with_name("gsr-eda")


def _gsr_eda(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(GSR_EDA), *args], capture_output=True, text=True, timeout=300)


def test_full_disk_during_ingest_exits_3_naming_the_store_and_keeps_it(tiny_tmpfs: Path, tmp_path: Path) -> None:
    # Before: HDF5 crashed the process (SIGSEGV, exit 139) and left a temp file filling the disk.
    assert _gsr_eda("synth", "--cells", "150", "--out", str(tmp_path), "--name", "small").returncode == 0
    assert _gsr_eda("synth", "--cells", "4000", "--out", str(tmp_path), "--name", "big").returncode == 0
    store = tiny_tmpfs / "s.h5"
    lef = lambda name: str(tmp_path / f"{name}.lef")  # noqa: E731
    first = _gsr_eda(
        "ingest", "design", "--def", str(tmp_path / "small.def"), "--lef", lef("small"), "--store", str(store)
    )
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
def test_ingest_onto_a_read_only_mount_is_bad_input_naming_the_store(
    read_only_dir: Path, tmp_path: Path, store_name: str
) -> None:
    # Before: removing the temp file after the failed create raised EROFS: "internal error", exit 1.
    write_designs(tmp_path / "source" / "s.h5", [_record("old")])  # the mount's writable source
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
