"""Atomic file writes: readers see the old file or the whole new one, never half a file.

Every output the project writes outside the HDF5 store (which has its own writer) goes through
:func:`atomic_open`: a temporary file beside the target, renamed over it with ``os.replace``
on success and removed on any error. The temporary name is unique per call, so two processes
writing the same target do not share it. A target that cannot be written (missing or read-only
folder, no permission, a full disk) is an :class:`~gsr_eda.errors.InputError` naming it.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from gsr_eda.errors import CANNOT_WRITE_ERRNOS, InputError, os_error_reason


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", *, fsync: bool = False, **open_kwargs: Any) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing (``mode`` ``"w"`` or ``"wb"``); it
    replaces ``path`` when the block exits cleanly. ``fsync`` flushes it to disk first (for
    files whose loss costs hours, such as checkpoints)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        handle = open(tmp, mode, **open_kwargs)
    except OSError as err:
        raise InputError(f"cannot write: {os_error_reason(err)}", path) from None
    try:
        with handle:
            yield handle
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as err:
        _unlink_quietly(tmp)
        if err.errno in CANNOT_WRITE_ERRNOS:
            raise InputError(f"cannot write: {os_error_reason(err)}", path) from None
        raise
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(path: Path) -> None:
    """Remove ``path`` if it is there; on a read-only mount even a missing file's unlink fails."""
    with contextlib.suppress(OSError):
        path.unlink()


def write_text_atomically(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through :func:`atomic_open`; returns ``path``."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return Path(path)
