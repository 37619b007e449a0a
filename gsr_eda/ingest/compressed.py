"""Gzip-compressed DEF input (``.def.gz``): read as text, or decompressed for the native parser.

Routed DEFs are large and usually kept compressed (the qflow samples are ``placed.def.gz`` and
``routed.def.gz``). The text scanners read them through :func:`read_text`; ``lefdef`` needs a
file name, so :func:`plain_path` decompresses into a temporary file that is removed afterwards.
A file is gzip when its first two bytes are the gzip magic, whatever its name.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gsr_eda.errors import InputError

_GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(path: Path) -> bool:
    """True when ``path`` starts with the gzip magic bytes (False for unreadable files: the reader reports them)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == _GZIP_MAGIC
    except OSError:
        return False


def read_text(path: str | Path, what: str = "DEF") -> str:
    """The text of a plain or gzip-compressed file (undecodable bytes replaced), or an :class:`InputError`."""
    path = Path(path)
    try:
        if is_gzip(path):
            with gzip.open(path, "rt", errors="replace") as handle:
                return handle.read()
        return path.read_text(errors="replace")
    except FileNotFoundError:
        raise InputError(f"{what} file not found", path) from None
    except IsADirectoryError:
        raise InputError(f"{what} path is a directory, expected a file", path) from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise InputError(f"corrupt or truncated gzip {what}: {err}", path) from None
    except OSError as err:
        raise InputError(f"cannot read {what}: {err.strerror}", path) from None


@contextmanager
def plain_path(path: str | Path, what: str = "DEF") -> Iterator[Path]:
    """``path`` itself, or for a gzip file a decompressed temporary copy that lives for the block."""
    path = Path(path)
    if not is_gzip(path):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="gsr-eda-") as scratch:
        plain = Path(scratch) / (path.name[: -len(".gz")] if path.name.endswith(".gz") else path.name)
        try:
            with gzip.open(path, "rb") as source, open(plain, "wb") as target:
                shutil.copyfileobj(source, target)
        except (EOFError, gzip.BadGzipFile, zlib.error) as err:
            raise InputError(f"corrupt or truncated gzip {what}: {err}", path) from None
        yield plain
