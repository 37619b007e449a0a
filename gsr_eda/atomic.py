"""Atomic file writes: readers see the old file or the whole new one, never half a file.

Every output the project writes outside the HDF5 store (which has its own writer) goes through
:func:`atomic_open`: a temporary file beside the target, renamed over it with ``os.replace``
on success and removed on any error. The temporary name is unique per call, so two processes
writing the same target do not share it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", *, fsync: bool = False,
                **open_kwargs: Any) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing (``mode`` ``"w"`` or ``"wb"``); it
    replaces ``path`` when the block exits cleanly. ``fsync`` flushes it to disk first (for
    files whose loss costs hours, such as checkpoints)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, mode, **open_kwargs) as handle:
            yield handle
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomically(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_open`; returns ``path``."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return Path(path)
