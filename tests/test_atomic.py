"""atomic_open: the target is replaced whole or left as it was, and no temporary file remains."""

from __future__ import annotations

import pytest

from gsr_eda.atomic import atomic_open, write_text_atomically


def test_replaces_the_target_whole(tmp_path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    assert write_text_atomically(target, "new") == target
    assert target.read_text() == "new"
    with atomic_open(target, "wb", fsync=True) as handle:
        handle.write(b"bytes")
    assert target.read_bytes() == b"bytes"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_an_error_leaves_the_old_file_and_no_temporary(tmp_path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as handle:
            handle.write("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
