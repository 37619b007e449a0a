r"""Placement neighbours: edges between cells that sit close on the die, added to the netlist graph.

A cell's congestion label is set by the nets crossing its gcells, and a cell is on only 3-7% of
those; the netlist reaches the rest only at depths that reach most of the design
(docs/training.md, "Deep against shallow"). Joining each node to its ``K`` nearest nodes on the
die gives message passing that placement neighbourhood in one hop:

.. math::
    A' = A \lor \mathrm{sym}(\mathrm{kNN}_K(c)), \qquad c_i = (x_i + w_i / 2,\ y_i + h_i / 2),

the union of the netlist adjacency ``A`` and the symmetrised ``K``-nearest-neighbour graph of the
node centres (Euclidean, microns), without self loops or duplicates. The edges depend on the
positions, so a placement loop recomputes them at every estimate (``gsr_eda.flow.session``).
"""

from __future__ import annotations

import numpy as np

#: Placement neighbours per node for new training runs (``gsr-eda train --placement-neighbours``).
DEFAULT_PLACEMENT_NEIGHBOURS = 8


def node_centres(design, x: np.ndarray | None = None, y: np.ndarray | None = None) -> np.ndarray:
    """``(N, 2)`` centres of the nodes' boxes at the given (lower-left) or stored positions."""
    x = design.x if x is None else np.asarray(x, np.float64)
    y = design.y if y is None else np.asarray(y, np.float64)
    return np.column_stack([x + design.width / 2, y + design.height / 2])


def add_placement_neighbours(
    indptr: np.ndarray, indices: np.ndarray, centres: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The symmetric CSR ``(indptr, indices)`` of ``A`` joined with each node's ``k`` nearest nodes.

    ``indptr``/``indices`` are a symmetric adjacency without self loops (the netlist's,
    :func:`gsr_eda.graph.build_adjacency`); the result keeps that form, neighbours sorted.
    Ties in distance go to the lower node index (the k-d tree's order), so the edges are
    deterministic. ``k = 0`` returns the input unchanged.
    """
    if k < 0:
        raise ValueError(f"placement neighbours must be >= 0, got {k}")
    n = len(indptr) - 1
    if k == 0 or n < 2:
        return indptr, indices
    import scipy.sparse as sparse  # imported on use: scipy.spatial takes ~0.2 s to import
    from scipy.spatial import cKDTree

    # k + 1 nearest, the node itself among them (dropped below; where more than k nodes share
    # one centre it may not be, and the node keeps k + 1 neighbours).
    queried = min(k + 1, n)
    _, nearest = cKDTree(centres).query(centres, k=queried, workers=-1)
    src = np.repeat(np.arange(n, dtype=np.int64), queried)
    dst = nearest.reshape(-1)
    off_diagonal = src != dst
    knn_indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src[off_diagonal], minlength=n), out=knn_indptr[1:])
    # A | P | P^T as boolean sparse sums: scipy merges sorted rows in linear time (half the time
    # of sorting the three sets of keys in a placement loop's estimate).
    knn = sparse.csr_matrix((np.ones(int(knn_indptr[-1]), bool), dst[off_diagonal], knn_indptr), (n, n))
    netlist = sparse.csr_matrix((np.ones(len(indices), bool), np.asarray(indices), np.asarray(indptr)), (n, n))
    union = netlist + knn + knn.T.tocsr()
    union.sort_indices()
    return union.indptr.astype(np.int64), union.indices.astype(np.int32)


def placement_neighbours_csr(centres: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    r"""The symmetric CSR of the placement neighbours alone, :math:`\mathrm{sym}(\mathrm{kNN}_K(c))`
    (the cell -> cell relation of the cell-net models, which keep the netlist in the net nodes)."""
    n = len(centres)
    return add_placement_neighbours(np.zeros(n + 1, np.int64), np.empty(0, np.int32), centres, k)
