"""Atomic writes of design records into a graph store.

A write never modifies the target file in place. It builds a complete new store in a temporary
file beside the target (the designs kept from the old store are copied chunk by chunk with
HDF5's object copy, the new ones are written), fsyncs it, and renames it over the target with
``os.replace``. A crash, a full disk or a bad record at any point leaves the previous store
byte-for-byte intact; the temporary file is removed on every error path that Python sees, and
the temporary files of writers killed earlier are removed by the next writer of the store.

HDF5 never sees a failed write: it crashes the process (SIGSEGV) when it closes a file after
one, so the temporary file goes through h5py's file-object driver and :class:`_GuardedFile`,
which keeps the first write error and lets HDF5 finish against a file that is then deleted.

A store path that is a symbolic link is resolved first: the link's target is locked and
replaced, and the link stays a link.

Writers of stores in one directory are serialised with an advisory ``flock`` on the directory,
so two concurrent ``gsr-eda ingest`` runs into the same store both land (one after the other)
instead of the second silently dropping the first one's designs.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import stat
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import h5py
import numpy as np

from gsr_eda import __version__
from gsr_eda.errors import InputError, os_error_reason
from gsr_eda.store import schema as S
from gsr_eda.store.reader import GraphStore
from gsr_eda.store.record import DesignRecord
from gsr_eda.store.validate import RecordError, check_record, json_default

#: Compression of numeric datasets: ``("gzip", level)`` or ``("lzf", None)``. gzip 4 with the
#: shuffle filter: on aes_place it wrote and read as fast as lzf and gzip 1 (within noise) and
#: gave the smallest file short of gzip 9 (5x slower writes); unlike lzf, any HDF5 tool reads it.
#: Measured by benchmarks/bench_ingest.py; figures in docs/store-schema.md.
DEFAULT_COMPRESSION: tuple[str, int | None] = ("gzip", 4)

#: Target number of elements per chunk (256 KiB of float32): large enough that per-chunk
#: overhead vanishes, small enough that reading one design's slice stays cheap.
_CHUNK_ELEMENTS = 1 << 16


def write_designs(
    path: str | Path,
    records: Iterable[DesignRecord],
    *,
    overwrite: bool = False,
    compression: tuple[str, int | None] = DEFAULT_COMPRESSION,
) -> None:
    """Add ``records`` to the store at ``path`` (created if missing), atomically.

    A design whose name is already in the store is refused with :class:`InputError` unless
    ``overwrite``, in which case it is replaced. Every record is validated before anything is
    written; an invalid one, an existing file that is not a graph store, or a store of a newer
    schema version also raise :class:`InputError`, and leave the file as it was. The store is
    stamped with the lowest schema version that holds its designs (version 1 unless one has net
    nodes, or the store was version 2 already: :func:`gsr_eda.store.schema.version_needed`).
    """
    path = _resolve_link(Path(path))
    records = list(records)
    names = [r.name for r in records]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"the same design name is given twice in one write: {', '.join(dupes)}", path)
    for record in records:
        try:
            check_record(record)
        except RecordError as err:
            raise InputError(f"refusing to store design {record.name!r}: {err}", path) from None
    if not path.parent.is_dir():
        raise InputError("the store's directory does not exist", path.parent)
    if path.exists() and not path.is_file():
        raise InputError("exists and is not a file", path)

    with _directory_lock(path.parent):
        _remove_stale_temporaries(path)
        kept: list[str] = []
        version = S.version_needed(any(r.net_nodes is not None for r in records))
        if path.exists():
            with GraphStore(path) as old:  # refuses stores newer than this gsr-eda
                # Every older version's designs are valid in this one: they are copied as they are.
                version = S.version_needed(version >= S.NET_NODES_VERSION, old.schema_version)
                clash = sorted(set(old.designs) & set(names))
                if clash and not overwrite:
                    raise InputError(
                        f"design(s) already in the store: {', '.join(clash)} (use --overwrite to replace)", path
                    )
                kept = [n for n in old.designs if n not in names]
        _write_atomically(path, kept, records, compression, version)


def _resolve_link(path: Path) -> Path:
    """The file a store path names: a symbolic link's target, so the link is not replaced by a file."""
    return path.resolve() if path.is_symlink() else path


def _temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")


def _remove_stale_temporaries(path: Path) -> None:
    """Delete the temporary files of earlier writers of ``path`` that were killed mid-write.

    Called under the directory lock: every live writer of this directory holds it while its
    temporary file exists, so any temporary file of ``path`` seen here is stale.
    """
    pattern = re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{12}}\.tmp")
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return  # an unreadable directory fails the write itself with a clear message
    for entry in entries:
        if pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


class _GuardedFile(io.RawIOBase):
    """The temporary store file as h5py's file-object driver sees it: writes never fail.

    The first ``OSError`` of a write (a full disk, a quota) is kept in :attr:`error` and every
    later write is skipped, so HDF5 can close the file normally; the caller checks
    :meth:`raise_if_failed` and deletes the file. Skipped writes leave holes (no disk space).
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._file = open(path, "w+b", buffering=0)  # unbuffered: a write error surfaces at its write
        self.error: OSError | None = None

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._file.fileno()

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def readinto(self, buffer: bytearray | memoryview) -> int:
        return self._file.readinto(buffer)

    def truncate(self, size: int | None = None) -> int:
        if self.error is not None:
            return self._file.tell() if size is None else size
        try:
            return self._file.truncate(size)
        except OSError as err:
            self.error = err
            return self._file.tell() if size is None else size

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data).cast("B")
        if self.error is None:
            try:
                done = 0
                while done < len(view):  # a raw write may write less than asked near a full disk
                    done += self._file.write(view[done:])
                return len(view)
            except OSError as err:
                self.error = err
        self._file.seek(len(view), os.SEEK_CUR)
        return len(view)

    def raise_if_failed(self) -> None:
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self._file.close()
        super().close()


def _write_atomically(
    path: Path, kept: list[str], records: list[DesignRecord], compression: tuple[str, int | None], version: int
) -> None:
    tmp = _temporary_name(path)
    raw: _GuardedFile | None = None
    try:
        raw = _GuardedFile(tmp)
        with raw:
            with h5py.File(raw, "w") as out:
                _fill_store(out, path, kept, records, compression, version, raw.raise_if_failed)
            raw.raise_if_failed()
        _fsync(tmp)
        if path.exists():
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except BaseException as err:
        _unlink_quietly(tmp)
        # After a skipped write HDF5 may fail reading back what it never wrote: the write error
        # is the cause to report, whatever HDF5 raised.
        cause = raw.error if raw is not None and raw.error is not None else err
        if isinstance(cause, OSError):
            raise InputError(
                f"cannot write the store: {os_error_reason(cause)}; the store is unchanged", path
            ) from None
        raise
    try:
        _fsync(path.parent)
    except OSError as err:
        raise InputError(
            f"the store was replaced, but its directory could not be synced: {os_error_reason(err)}", path
        ) from None


def _fill_store(
    out: h5py.File,
    path: Path,
    kept: list[str],
    records: list[DesignRecord],
    compression: tuple[str, int | None],
    version: int,
    check_writes: Callable[[], None],
) -> None:
    """Write the root attributes (schema ``version``), copy the ``kept`` designs of ``path``, add ``records``.

    ``check_writes`` runs after each design, so a full disk stops the write at the next design
    instead of compressing the rest into holes.
    """
    out.attrs[S.FORMAT_ATTR] = S.FORMAT_NAME
    out.attrs[S.VERSION_ATTR] = int(version)
    out.attrs[S.TOOL_VERSION_ATTR] = __version__
    designs = out.create_group(S.DESIGNS_GROUP)
    if kept:
        with h5py.File(path, "r", locking=False) as old:
            for name in kept:
                try:
                    old.copy(old[S.DESIGNS_GROUP][name], designs, name=name)
                except (OSError, KeyError, ValueError, RuntimeError) as err:
                    raise InputError(
                        f"design {name!r} in the store is damaged and cannot be copied ({err}); "
                        "the store is unchanged: re-ingest into a new store",
                        path,
                    ) from None
                check_writes()
    for record in records:
        _write_record(designs.create_group(record.name), record, compression)
        check_writes()


def _unlink_quietly(path: Path) -> None:
    """Remove ``path`` if it is there; on a read-only mount even a missing file's unlink fails."""
    with contextlib.suppress(OSError):
        path.unlink()


def _write_record(group: h5py.Group, record: DesignRecord, compression: tuple[str, int | None]) -> None:
    design = record.design
    group.attrs["net_model"] = record.net_model
    group.attrs["net_cap"] = int(record.net_cap)
    group.attrs["label_reduce"] = record.label_reduce
    group.attrs["tool_version"] = __version__
    group.attrs["metadata"] = json.dumps(record.metadata, default=json_default, sort_keys=True)

    d = group.create_group(S.DESIGN)
    d.attrs["name"] = design.name
    d.attrs["dbu_per_micron"] = float(design.dbu_per_micron)
    d.attrs["die"] = np.asarray(design.die, dtype=np.float64)
    d.attrs["source"] = json.dumps(design.source, default=json_default, sort_keys=True)
    for table in (S.NODE_ARRAYS, S.NET_ARRAYS, S.PIN_ARRAYS):
        for key, kind in table.items():
            _put(d, key, getattr(design, key), kind, compression)
    _put(d, "net_ptr", design.net_ptr, "int64", compression)
    _put(d, "grid_x_edges", design.grid.x_edges, "float64", compression)
    _put(d, "grid_y_edges", design.grid.y_edges, "float64", compression)
    if design.capacity is not None:
        _put(d, "capacity_horizontal", design.capacity.horizontal, "float64", compression)
        _put(d, "capacity_vertical", design.capacity.vertical, "float64", compression)

    g = group.create_group(S.GRAPH)
    _put(g, "indptr", record.indptr, "int64", compression)
    _put(g, "indices", record.indices, "int32", compression)

    f = group.create_group(S.FEATURES)
    _put(f, "values", record.features, "float32", compression)
    _put(f, "names", np.asarray(record.feature_names, dtype=object), "str", compression)

    if record.cell_labels is not None:
        lab = group.create_group(S.LABELS)
        lab.attrs["name"] = record.label_name
        lab.attrs["source"] = record.label_source or ""
        lab.attrs["is_proxy"] = bool(record.label_is_proxy)
        _put(lab, "cell", record.cell_labels, "float32", compression)
        _put(lab, "gcell", record.gcell_labels, "float32", compression)
    if record.node_split is not None:
        _put(group.create_group(S.SPLIT), "node", record.node_split, "int8", compression)
    nets = record.net_nodes
    if nets is not None:
        n = group.create_group(S.NETS)
        _put(n, "net", nets.net, "int64", compression)
        _put(n, "indptr", nets.indptr, "int64", compression)
        _put(n, "cells", nets.cells, "int32", compression)
        _put(n, "pin", nets.pin, "int64", compression)
        _put(n, "features", nets.features, "float32", compression)
        _put(n, "feature_names", np.asarray(nets.feature_names, dtype=object), "str", compression)


def _put(group: h5py.Group, key: str, data: np.ndarray, kind: str, compression: tuple[str, int | None]) -> None:
    """Create one dataset: strings as variable-length UTF-8, numbers chunked and compressed."""
    arr = np.asarray(data)
    if kind == "str":
        group.create_dataset(key, data=arr.astype(object), dtype=h5py.string_dtype("utf-8"))
        return
    arr = arr.astype(np.uint8 if kind == "bool" else np.dtype(kind), copy=False)
    if arr.size == 0:  # HDF5 cannot chunk an empty extent; nothing to compress anyway
        group.create_dataset(key, data=arr)
        return
    rows = arr.shape[0]
    per_row = int(np.prod(arr.shape[1:], dtype=np.int64)) or 1
    chunks = (max(1, min(rows, _CHUNK_ELEMENTS // per_row)),) + arr.shape[1:]
    method, level = compression
    group.create_dataset(
        key, data=arr, chunks=chunks, compression=method, compression_opts=level, shuffle=arr.itemsize > 1
    )


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _directory_lock(directory: Path) -> Iterator[None]:
    """Advisory exclusive lock on ``directory`` (a no-op where ``fcntl`` does not exist)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
