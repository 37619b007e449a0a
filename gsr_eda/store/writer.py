"""Atomic writes of design records into a graph store.

A write never modifies the target file in place. It builds a complete new store in a temporary
file beside the target (the designs kept from the old store are copied chunk by chunk with
HDF5's object copy, the new ones are written), fsyncs it, and renames it over the target with
``os.replace``. A crash, a full disk or a bad record at any point leaves the previous store
byte-for-byte intact; the temporary file is removed on every error path that Python sees.

Writers of stores in one directory are serialised with an advisory ``flock`` on the directory,
so two concurrent ``gsr-eda ingest`` runs into the same store both land (one after the other)
instead of the second silently dropping the first one's designs.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import h5py
import numpy as np

from gsr_eda import __version__
from gsr_eda.errors import InputError
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
    written; an invalid one, an existing file that is not a graph store, or a store of another
    schema version also raise :class:`InputError`, and leave the file as it was.
    """
    path = Path(path)
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
        kept: list[str] = []
        if path.exists():
            with GraphStore(path) as old:
                if old.schema_version != S.SCHEMA_VERSION:
                    raise InputError(
                        f"store has schema version {old.schema_version}; this gsr-eda writes version "
                        f"{S.SCHEMA_VERSION}: re-ingest into a new store",
                        path,
                    )
                clash = sorted(set(old.designs) & set(names))
                if clash and not overwrite:
                    raise InputError(
                        f"design(s) already in the store: {', '.join(clash)} (use --overwrite to replace)", path
                    )
                kept = [n for n in old.designs if n not in names]
        _write_atomically(path, kept, records, compression)


def _write_atomically(
    path: Path, kept: list[str], records: list[DesignRecord], compression: tuple[str, int | None]
) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        with h5py.File(tmp, "w", locking=False) as out:
            out.attrs[S.FORMAT_ATTR] = S.FORMAT_NAME
            out.attrs[S.VERSION_ATTR] = S.SCHEMA_VERSION
            out.attrs[S.TOOL_VERSION_ATTR] = __version__
            designs = out.create_group(S.DESIGNS_GROUP)
            if kept:
                with h5py.File(path, "r", locking=False) as old:
                    for name in kept:
                        old.copy(old[S.DESIGNS_GROUP][name], designs, name=name)
            for record in records:
                _write_record(designs.create_group(record.name), record, compression)
        _fsync(tmp)
        if path.exists():
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
        _fsync(path.parent)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write the store: {err}", path) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
