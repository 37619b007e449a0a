"""Read-only access to a graph store, validated on open and on every read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from gsr_eda.design import GcellGrid, PlacedDesign, RoutingCapacity
from gsr_eda.errors import InputError
from gsr_eda.graph.net_nodes import NetNodes
from gsr_eda.store import schema as S
from gsr_eda.store.record import DesignRecord
from gsr_eda.store.validate import RecordError, check_record

# h5py raises these for damaged files (bad chunks, truncated heaps, wrong object types).
_H5_ERRORS = (OSError, KeyError, ValueError, TypeError, RuntimeError)


class GraphStore:
    """A read-only view of a graph store file; use as a context manager.

    Opening checks that the file is HDF5, carries the graph-store ``format`` attribute, and has
    a schema version this gsr-eda understands; :meth:`read` checks every dataset's dtype and
    shape, finite values and the CSR adjacency. Every failure is an :class:`InputError` naming
    the file. The file is opened without HDF5 file locking: writers never touch a store in place
    (see :mod:`gsr_eda.store.writer`), and stores then stay readable on read-only mounts.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise InputError("no such graph store", self.path)
        if not self.path.is_file():
            raise InputError("is not a file", self.path)
        try:
            self._file = h5py.File(self.path, "r", locking=False)
        except OSError as err:
            raise InputError(
                f"not a readable HDF5 file (corrupt, truncated or another format): {_h5_reason(err)}", self.path
            ) from None
        try:
            self._check_root()
        except BaseException:
            self._file.close()
            raise
        self.designs: list[str] = sorted(self._file[S.DESIGNS_GROUP].keys())

    def _check_root(self) -> None:
        attrs = self._file.attrs
        fmt = _as_str(attrs.get(S.FORMAT_ATTR))
        if fmt != S.FORMAT_NAME:
            raise InputError(f"an HDF5 file, but not a gsr-eda graph store (format attribute is {fmt!r})", self.path)
        try:
            version = int(attrs[S.VERSION_ATTR])
        except (KeyError, TypeError, ValueError):
            raise InputError("graph store without a valid schema_version attribute", self.path) from None
        if version > S.SCHEMA_VERSION:
            raise InputError(
                f"written by a newer gsr-eda (store schema version {version}, tool "
                f"{_as_str(attrs.get(S.TOOL_VERSION_ATTR))}); this gsr-eda reads versions up to "
                f"{S.SCHEMA_VERSION}: upgrade gsr-eda",
                self.path,
            )
        if version < 1:
            raise InputError(f"invalid schema version {version}", self.path)
        if not isinstance(self._file.get(S.DESIGNS_GROUP), h5py.Group):
            raise InputError(f"graph store has no /{S.DESIGNS_GROUP} group", self.path)
        self.schema_version = version
        self.tool_version = _as_str(attrs.get(S.TOOL_VERSION_ATTR))

    # Context manager and container protocol.
    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def __contains__(self, name: object) -> bool:
        return name in self.designs

    def __len__(self) -> int:
        return len(self.designs)

    def __iter__(self):
        return iter(self.designs)

    def _group(self, name: str) -> h5py.Group:
        if name not in self.designs:
            available = ", ".join(self.designs) if self.designs else "none: the store is empty"
            raise InputError(f"no design {name!r} in the store (available: {available})", self.path)
        return self._file[S.DESIGNS_GROUP][name]

    def summary(self, name: str) -> dict[str, Any]:
        """Sizes, feature names, label and metadata of one design, from attributes and shapes only."""
        group = self._group(name)
        try:
            d = group[S.DESIGN]
            labels = group.get(S.LABELS)
            label = None
            if labels is not None:
                label = {
                    "name": _as_str(labels.attrs["name"]),
                    "source": _as_str(labels.attrs["source"]) or None,
                    "is_proxy": bool(labels.attrs["is_proxy"]),
                    "reduce": _as_str(group.attrs["label_reduce"]),
                }
            x_edges, y_edges = d["grid_x_edges"], d["grid_y_edges"]
            return {
                "name": name,
                "design_name": _as_str(d.attrs["name"]),
                "nodes": int(d["node_names"].shape[0]),
                "edges": int(group[S.GRAPH]["indices"].shape[0]) // 2,
                "nets": int(d["net_names"].shape[0]),
                "pins": int(d["pin_node"].shape[0]),
                "io_pins": int(np.count_nonzero(d["is_io"][()])),
                "net_model": _as_str(group.attrs["net_model"]),
                "net_cap": int(group.attrs["net_cap"]),
                "features": [str(s) for s in group[S.FEATURES]["names"].asstr()[()]],
                "net_nodes": int(group[S.NETS]["net"].shape[0]) if S.NETS in group else None,
                "net_pin_edges": int(group[S.NETS]["cells"].shape[0]) if S.NETS in group else None,
                "net_features": (
                    [str(s) for s in group[S.NETS]["feature_names"].asstr()[()]] if S.NETS in group else None
                ),
                "label": label,
                "has_split": S.SPLIT in group,
                "grid_shape": [int(x_edges.shape[0]) - 1, int(y_edges.shape[0]) - 1],
                "die_um": [float(v) for v in d.attrs["die"]],
                "dbu_per_micron": float(d.attrs["dbu_per_micron"]),
                "tool_version": _as_str(group.attrs.get("tool_version")),
                "schema_version": self.schema_version,
                "metadata": json.loads(_as_str(group.attrs["metadata"])),
            }
        except _H5_ERRORS as err:
            raise InputError(f"design {name!r} is damaged: {_h5_reason(err)}", self.path) from None

    def read(self, name: str) -> DesignRecord:
        """Load one design completely and validate it; see :func:`gsr_eda.store.validate.check_record`."""
        group = self._group(name)
        try:
            record = self._read_record(name, group)
            check_record(record)
        except RecordError as err:
            raise InputError(f"design {name!r}: {err}", self.path) from None
        except _H5_ERRORS as err:
            raise InputError(f"design {name!r} is damaged: {_h5_reason(err)}", self.path) from None
        return record

    def _read_record(self, name: str, group: h5py.Group) -> DesignRecord:
        d = group[S.DESIGN]
        columns: dict[str, np.ndarray] = {}
        for table in (S.NODE_ARRAYS, S.NET_ARRAYS, S.PIN_ARRAYS):
            for key, kind in table.items():
                columns[key] = _dataset(d, key, kind)
        capacity = None
        if "capacity_horizontal" in d:
            capacity = RoutingCapacity(
                horizontal=_dataset(d, "capacity_horizontal", "float64"),
                vertical=_dataset(d, "capacity_vertical", "float64"),
            )
        die = tuple(float(v) for v in d.attrs["die"])
        if len(die) != 4:
            raise RecordError(f"die has {len(die)} values, expected 4")
        design = PlacedDesign(
            name=_as_str(d.attrs["name"]),
            dbu_per_micron=float(d.attrs["dbu_per_micron"]),
            die=die,  # type: ignore[arg-type]
            grid=GcellGrid(_dataset(d, "grid_x_edges", "float64"), _dataset(d, "grid_y_edges", "float64")),
            net_ptr=_dataset(d, "net_ptr", "int64"),
            capacity=capacity,
            source=json.loads(_as_str(d.attrs["source"])),
            **columns,
        )
        if design.grid.shape[0] < 1 or design.grid.shape[1] < 1:
            raise RecordError(f"gcell grid has shape {design.grid.shape}")

        labels = group.get(S.LABELS)
        split = group.get(S.SPLIT)
        nets = group.get(S.NETS)
        net_nodes = None
        if nets is not None:
            net_nodes = NetNodes(
                net=_dataset(nets, "net", "int64"),
                indptr=_dataset(nets, "indptr", "int64"),
                cells=_dataset(nets, "cells", "int32"),
                pin=_dataset(nets, "pin", "int64"),
                features=_dataset(nets, "features", "float32"),
                feature_names=[str(s) for s in _dataset(nets, "feature_names", "str")],
            )
        return DesignRecord(
            name=name,
            design=design,
            indptr=_dataset(group[S.GRAPH], "indptr", "int64"),
            indices=_dataset(group[S.GRAPH], "indices", "int32"),
            net_model=_as_str(group.attrs["net_model"]),
            net_cap=int(group.attrs["net_cap"]),
            features=_dataset(group[S.FEATURES], "values", "float32"),
            feature_names=[str(s) for s in _dataset(group[S.FEATURES], "names", "str")],
            cell_labels=None if labels is None else _dataset(labels, "cell", "float32"),
            gcell_labels=None if labels is None else _dataset(labels, "gcell", "float32"),
            label_name=None if labels is None else _as_str(labels.attrs["name"]),
            label_source=None if labels is None else (_as_str(labels.attrs["source"]) or None),
            label_is_proxy=False if labels is None else bool(labels.attrs["is_proxy"]),
            label_reduce=_as_str(group.attrs["label_reduce"]),
            node_split=None if split is None else _dataset(split, "node", "int8"),
            metadata=json.loads(_as_str(group.attrs["metadata"])),
            net_nodes=net_nodes,
        )


def _dataset(group: h5py.Group, key: str, kind: str) -> np.ndarray:
    """Read a whole dataset, checking its stored type against the schema."""
    if key not in group:
        raise RecordError(f"missing dataset {group.name}/{key}")
    ds = group[key]
    if not isinstance(ds, h5py.Dataset):
        raise RecordError(f"{group.name}/{key} is not a dataset")
    if kind == "str":
        if h5py.check_string_dtype(ds.dtype) is None:
            raise RecordError(f"{ds.name} has dtype {ds.dtype}, expected UTF-8 strings")
        return np.asarray(ds.asstr()[()], dtype=str)
    expected = np.dtype(np.uint8 if kind == "bool" else kind)
    if ds.dtype != expected:
        raise RecordError(f"{ds.name} has dtype {ds.dtype}, expected {expected}")
    arr = ds[()]
    if kind == "bool":
        if arr.size and arr.max() > 1:
            raise RecordError(f"{ds.name} holds values other than 0 and 1")
        return arr.astype(bool)
    return arr


def _as_str(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _h5_reason(err: BaseException) -> str:
    """HDF5's messages are long stacks; keep the first line, which carries the reason."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:200]
