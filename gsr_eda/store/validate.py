"""Consistency checks of a :class:`DesignRecord`, shared by the writer and the reader.

The writer refuses to store a record that fails them, and the reader refuses to return one,
so a training run never starts on a NaN feature or a broken adjacency.
"""

from __future__ import annotations

import json

import numpy as np

from gsr_eda.graph.net_models import HETEROGENEOUS_NET_MODELS
from gsr_eda.store.record import DesignRecord
from gsr_eda.store.schema import LABEL_REDUCTIONS, SPLIT_CODES, is_valid_design_name


class RecordError(ValueError):
    """A record is inconsistent; the message says what, without the file (the caller adds it)."""


def check_record(record: DesignRecord) -> None:
    """Raise :class:`RecordError` naming the first problem of ``record``."""
    if not isinstance(record.name, str) or not is_valid_design_name(record.name):
        raise RecordError(f"design name {record.name!r} is not usable (empty, contains '/', or not printable)")
    try:
        record.design.validate()
    except ValueError as err:
        raise RecordError(f"placed design: {err}") from None
    n = record.design.num_nodes
    check_csr(record.indptr, record.indices, n)
    _check_features(record, n)
    _check_labels(record, n)
    if record.node_split is not None:
        split = record.node_split
        _expect(split, "node_split", np.int8, (n,))
        if len(split) and not np.isin(split, list(SPLIT_CODES.values())).all():
            raise RecordError(f"node_split holds codes other than {sorted(SPLIT_CODES.values())}")
    if not isinstance(record.net_model, str) or not record.net_model:
        raise RecordError("net_model must be a non-empty string")
    if int(record.net_cap) < 0:
        raise RecordError(f"net_cap must be >= 0, got {record.net_cap}")
    heterogeneous = record.net_model in HETEROGENEOUS_NET_MODELS
    if heterogeneous and record.net_nodes is None:
        raise RecordError(f"net model {record.net_model} needs net nodes, and the design has none")
    if record.net_nodes is not None:
        if not heterogeneous:
            raise RecordError(f"net model {record.net_model} has no net nodes, but the design carries some")
        check_net_nodes(record)
    try:
        json.dumps(record.metadata, default=json_default)
    except (TypeError, ValueError) as err:
        raise RecordError(f"metadata is not JSON-serialisable: {err}") from None


def check_csr(indptr: np.ndarray, indices: np.ndarray, num_nodes: int) -> None:
    """The adjacency must be a valid symmetric CSR without self loops or duplicate edges."""
    _expect(indptr, "indptr", np.int64, (num_nodes + 1,))
    _expect(indices, "indices", np.int32, None)
    if indices.ndim != 1:
        raise RecordError(f"indices must be 1-D, got shape {indices.shape}")
    if indptr[0] != 0 or indptr[-1] != len(indices) or np.any(np.diff(indptr) < 0):
        raise RecordError("indptr is not a valid CSR row pointer over indices")
    if len(indices) == 0:
        return
    if indices.min() < 0 or indices.max() >= num_nodes:
        raise RecordError(f"indices refer to nodes outside [0, {num_nodes})")
    rows = np.repeat(np.arange(num_nodes, dtype=np.int64), np.diff(indptr))
    cols = indices.astype(np.int64)
    if np.any(rows == cols):
        raise RecordError("adjacency has self loops")
    # Symmetry and uniqueness together: the sorted (row, col) keys must be strictly increasing
    # and equal to the sorted (col, row) keys.
    forward = np.sort(rows * num_nodes + cols)
    if np.any(np.diff(forward) == 0):
        raise RecordError("adjacency has duplicate edges")
    if not np.array_equal(forward, np.sort(cols * num_nodes + rows)):
        raise RecordError("adjacency is not symmetric")


def check_net_nodes(record: DesignRecord) -> None:
    """Net nodes must be distinct nets of two or more distinct nodes, each linked by a valid
    net-major CSR incidence to its nodes through one of its own pins, with finite features."""
    nets, design = record.net_nodes, record.design
    _expect(nets.net, "net_nodes.net", np.int64, None)
    m = len(nets.net)
    if nets.net.ndim != 1:
        raise RecordError(f"net_nodes.net must be 1-D, got shape {nets.net.shape}")
    if m and (nets.net[0] < 0 or nets.net[-1] >= design.num_nets or np.any(np.diff(nets.net) <= 0)):
        raise RecordError(f"net_nodes.net must be increasing design nets in [0, {design.num_nets})")
    _expect(nets.indptr, "net_nodes.indptr", np.int64, (m + 1,))
    _expect(nets.cells, "net_nodes.cells", np.int32, None)
    e = len(nets.cells)
    _expect(nets.pin, "net_nodes.pin", np.int64, (e,))
    if nets.indptr[0] != 0 or nets.indptr[-1] != e or np.any(np.diff(nets.indptr) < 2):
        raise RecordError("net_nodes.indptr is not a CSR row pointer over cells with two or more entries per net")
    if e and (nets.pin.min() < 0 or nets.pin.max() >= design.num_pins):
        raise RecordError(f"net_nodes.pin refers to pins outside [0, {design.num_pins})")
    if not np.array_equal(design.pin_node[nets.pin], nets.cells.astype(np.int64)):
        raise RecordError("net_nodes.cells do not match the nodes of their pins")
    owner = np.repeat(nets.net, np.diff(nets.indptr))
    pin_net = np.searchsorted(design.net_ptr, nets.pin, side="right") - 1
    if not np.array_equal(pin_net, owner):
        raise RecordError("a net node's pin edge comes from a pin of another net")
    key = np.sort(owner * max(design.num_nodes, 1) + nets.cells)
    if np.any(np.diff(key) == 0):
        raise RecordError("a net node links to the same node twice")
    names = nets.feature_names
    if not all(isinstance(s, str) and s for s in names) or len(set(names)) != len(names):
        raise RecordError("net feature names must be unique non-empty strings")
    _expect(nets.features, "net_nodes.features", np.float32, (m, len(names)))
    if not np.all(np.isfinite(nets.features)):
        raise RecordError("net features contain NaN or infinite values")


def _check_features(record: DesignRecord, n: int) -> None:
    names = record.feature_names
    if not all(isinstance(s, str) and s for s in names) or len(set(names)) != len(names):
        raise RecordError("feature names must be unique non-empty strings")
    _expect(record.features, "features", np.float32, (n, len(names)))
    if not np.all(np.isfinite(record.features)):
        bad = sorted({names[j] for j in np.nonzero(~np.isfinite(record.features))[1]})
        raise RecordError(f"features contain NaN or infinite values (in {', '.join(bad)})")


def _check_labels(record: DesignRecord, n: int) -> None:
    if (record.cell_labels is None) != (record.gcell_labels is None):
        raise RecordError("cell_labels and gcell_labels must be given together")
    if record.label_reduce not in LABEL_REDUCTIONS:
        raise RecordError(f"label_reduce must be one of {LABEL_REDUCTIONS}, got {record.label_reduce!r}")
    if record.cell_labels is None:
        return
    if not isinstance(record.label_name, str) or not record.label_name:
        raise RecordError("labelled record needs a label_name")
    _expect(record.cell_labels, "cell_labels", np.float32, (n,))
    _expect(record.gcell_labels, "gcell_labels", np.float32, record.design.grid.shape)
    for label, arr in [("cell_labels", record.cell_labels), ("gcell_labels", record.gcell_labels)]:
        if not np.all(np.isfinite(arr)):
            raise RecordError(f"{label} contain NaN or infinite values")


def _expect(arr: np.ndarray, label: str, dtype: type, shape: tuple[int, ...] | None) -> None:
    if not isinstance(arr, np.ndarray):
        raise RecordError(f"{label} must be a numpy array, got {type(arr).__name__}")
    if arr.dtype != dtype:
        raise RecordError(f"{label} has dtype {arr.dtype}, expected {np.dtype(dtype)}")
    if shape is not None and arr.shape != tuple(shape):
        raise RecordError(f"{label} has shape {arr.shape}, expected {tuple(shape)}")


def json_default(obj: object) -> object:
    """JSON encoding of the numpy scalars and arrays that readers' report dicts contain."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")
