"""One design as the graph store holds it: the placed design, its graph, features and labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from gsr_eda.design import PlacedDesign, cells_from_gcell_map
from gsr_eda.errors import InputError
from gsr_eda.store.schema import LABEL_REDUCTIONS

if TYPE_CHECKING:  # the labels package imports readers; keep this module light
    from gsr_eda.labels import GcellLabel


@dataclass
class DesignRecord:
    """Everything the trainer and predictor need about one design, plus what recomputes it.

    ``design`` keeps the static netlist and the positions, so features can be recomputed from
    new positions later. The graph is a symmetric CSR adjacency without self loops:
    the neighbours of node ``i`` are ``indices[indptr[i]:indptr[i + 1]]``.

    Labels are optional. ``gcell_labels`` is the label map on the design's gcell grid, and
    ``cell_labels[i]`` is its ``label_reduce`` (max or mean) over node ``i``'s inclusive gcell
    span ``cell_gcells[i]``.
    """

    name: str
    design: PlacedDesign
    indptr: np.ndarray  # int64 (N + 1)
    indices: np.ndarray  # int32 (nnz)
    net_model: str
    net_cap: int
    features: np.ndarray  # float32 (N, F)
    feature_names: list[str]
    cell_labels: np.ndarray | None = None  # float32 (N,)
    gcell_labels: np.ndarray | None = None  # float32 (nx, ny)
    label_name: str | None = None
    label_source: str | None = None
    label_is_proxy: bool = False
    label_reduce: str = "max"
    node_split: np.ndarray | None = None  # int8 (N,): 0 train, 1 val, 2 test
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def num_nodes(self) -> int:
        return self.design.num_nodes

    @property
    def num_edges(self) -> int:
        """Undirected edges: each is stored twice in the symmetric CSR."""
        return int(len(self.indices)) // 2

    @property
    def has_labels(self) -> bool:
        return self.cell_labels is not None

    @property
    def cell_gcells(self) -> np.ndarray:
        """Inclusive gcell span ``(N, 4) int32 [gx0, gy0, gx1, gy1]`` of every node's box."""
        return self.design.gcell_spans()


def build_record(
    design: PlacedDesign,
    *,
    net_model: str = "capped-clique",
    cap: int = 8,
    label: GcellLabel | None = None,
    label_reduce: str = "max",
    metadata: dict[str, Any] | None = None,
) -> DesignRecord:
    """Compute the graph, node features and (optionally) cell labels of a design.

    The label map is moved onto cells with :func:`gsr_eda.design.cells_from_gcell_map`:
    ``cell_label[i] = reduce_{g in span(i)} label[g]``. Feature units and the label's
    description are recorded in ``metadata`` (keys ``feature_units``, ``label_description``).

    Raises :class:`InputError` when the label map does not fit the design's gcell grid.
    """
    from gsr_eda.graph import build_adjacency, node_features

    if label_reduce not in LABEL_REDUCTIONS:
        raise InputError(f"label reduction must be one of {', '.join(LABEL_REDUCTIONS)}, got {label_reduce!r}")
    indptr, indices = build_adjacency(design, net_model=net_model, cap=cap)
    feats = node_features(design)
    meta: dict[str, Any] = dict(metadata or {})
    meta["feature_units"] = dict(zip(feats.names, feats.units))

    cell_labels = gcell_labels = None
    if label is not None:
        gcell_labels = np.ascontiguousarray(label.values, dtype=np.float32)
        if gcell_labels.shape != design.grid.shape:
            raise InputError(
                f"label map {label.name!r} has shape {gcell_labels.shape}, but the design's gcell grid is "
                f"{design.grid.shape}",
                label.source or None,
            )
        if not np.all(np.isfinite(gcell_labels)):
            raise InputError(f"label map {label.name!r} contains non-finite values", label.source or None)
        cell_labels = cells_from_gcell_map(gcell_labels, design.gcell_spans(), label_reduce)
        meta["label_description"] = label.description

    return DesignRecord(
        name=design.name,
        design=design,
        indptr=np.asarray(indptr, dtype=np.int64),
        indices=np.asarray(indices, dtype=np.int32),
        net_model=net_model,
        net_cap=int(cap),
        features=np.ascontiguousarray(feats.values, dtype=np.float32),
        feature_names=list(feats.names),
        cell_labels=cell_labels,
        gcell_labels=gcell_labels,
        label_name=None if label is None else label.name,
        label_source=None if label is None else label.source,
        label_is_proxy=False if label is None else bool(label.is_proxy),
        label_reduce=label_reduce,
        metadata=meta,
    )
