"""Build a graph store record from a placed design: its graph, node features and cell labels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from gsr_eda.design import PlacedDesign, cells_from_gcell_map
from gsr_eda.errors import InputError
from gsr_eda.graph import HETEROGENEOUS_NET_MODELS, NET_FEATURES, build_adjacency, build_net_nodes, node_features
from gsr_eda.store.record import DesignRecord
from gsr_eda.store.schema import LABEL_REDUCTIONS

if TYPE_CHECKING:  # the labels package imports readers; keep this module light
    from gsr_eda.labels import GcellLabel


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
    description (and provenance, when it has one) are recorded in ``metadata`` (keys ``feature_units``,
    ``label_description``, ``label_provenance``). Net model ``cell-net`` adds the net nodes
    (:func:`gsr_eda.graph.build_net_nodes`; their units under ``net_feature_units``) to the
    capped clique of ``cap``.

    Raises :class:`InputError` when the label map does not fit the design's gcell grid.
    """
    if label_reduce not in LABEL_REDUCTIONS:
        raise InputError(f"label reduction must be one of {', '.join(LABEL_REDUCTIONS)}, got {label_reduce!r}")
    indptr, indices = build_adjacency(design, net_model=net_model, cap=cap)
    feats = node_features(design)
    meta: dict[str, Any] = dict(metadata or {})
    meta["feature_units"] = dict(zip(feats.names, feats.units))
    net_nodes = None
    if net_model in HETEROGENEOUS_NET_MODELS:
        net_nodes = build_net_nodes(design)
        meta["net_feature_units"] = {name: NET_FEATURES[name][0] for name in net_nodes.feature_names}

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
        if label.provenance:
            meta["label_provenance"] = label.provenance

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
        net_nodes=net_nodes,
    )
