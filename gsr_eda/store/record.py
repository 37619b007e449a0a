"""One design as the graph store holds it: the placed design, its graph, features and labels.

Built from a placed design by :func:`gsr_eda.ingest.build.build_record`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gsr_eda.design import PlacedDesign
from gsr_eda.graph.net_nodes import NetNodes


@dataclass
class DesignRecord:
    """Everything the trainer and predictor need about one design, plus what recomputes it.

    ``design`` keeps the static netlist and the positions, so features can be recomputed from
    new positions later. The graph is a symmetric CSR adjacency without self loops:
    the neighbours of node ``i`` are ``indices[indptr[i]:indptr[i + 1]]``.

    Labels are optional. ``gcell_labels`` is the label map on the design's gcell grid, and
    ``cell_labels[i]`` is its ``label_reduce`` (max or mean) over node ``i``'s inclusive gcell
    span ``cell_gcells[i]``.

    ``net_nodes`` (net model ``cell-net`` only) holds the net nodes of the heterogeneous graph:
    which nets, their pin edges to the nodes, their features (:mod:`gsr_eda.graph.net_nodes`).
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
    net_nodes: NetNodes | None = None

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
