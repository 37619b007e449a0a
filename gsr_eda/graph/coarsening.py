r"""A hierarchy of coarsened circuit graphs: placement-aware heavy-edge matching, as multilevel placers do.

Level 0 is the design's cell graph. Level :math:`l+1` merges matched pairs of level-:math:`l`
nodes into clusters. The rating of an edge between clusters :math:`a` and :math:`b` is

.. math::

    r_{ab} = \frac{c_{ab}}{s_a\, s_b\, (1 + d_{ab} / p)}

where :math:`c_{ab}` counts the cell-graph edges between the two clusters, :math:`s` is a
cluster's size in cells (so clusters grow evenly instead of one swallowing its neighbours),
:math:`d_{ab}` the Manhattan distance of their centres and :math:`p` the gcell pitch. Pairs
that share many nets and sit close together merge first, so a cluster is a connected, compact
patch of the die: the scale at which congestion lives. Macros never merge (one macro is not a
typical member of anything).

The matching is a *handshake*: every free node points at its best-rated free neighbour (ties
broken at random), mutual pointers match, and this repeats a few rounds, so each level has
about 0.55-0.65 of the nodes of the level below. A level stores, with :math:`P_l` the
(clusters x cells) membership matrix:

* ``parent``: the level-:math:`(l-1)` cluster -> level-:math:`l` cluster map (so ``P`` is the
  product of the parents);
* the adjacency :math:`\mathrm{offdiag}(P_l A P_l^\top) \ne 0` as an unweighted symmetric CSR;
* the mean of the members' features and labels, :math:`\bar x = \mathrm{diag}(s)^{-1} P_l x`,
  which keeps every feature in its own units, so one standardiser serves every level;
* the cluster centre (mean of the members' centres) and size, for windows and ratings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gsr_eda.graph.placement_edges import node_centres

MATCHING_ROUNDS = 4


@dataclass
class Level:
    """One level of the hierarchy (level 0 is the cell graph itself)."""

    parent: np.ndarray  # int64 (N_{l-1},): cluster of each node of the level below; empty at level 0
    members: np.ndarray  # int64 (N_0,): level-l cluster of every cell
    indptr: np.ndarray  # int64 (N_l + 1,)
    indices: np.ndarray  # int32 (nnz_l,)
    sizes: np.ndarray  # int64 (N_l,): cells per cluster
    centre_x: np.ndarray  # float64 (N_l,), microns
    centre_y: np.ndarray  # float64 (N_l,)
    features: np.ndarray  # float32 (N_l, F): mean over the members
    labels: np.ndarray | None  # float32 (N_l,): mean over the members

    @property
    def num_nodes(self) -> int:
        return len(self.sizes)

    @property
    def nnz(self) -> int:
        return len(self.indices)


@dataclass
class Hierarchy:
    """Levels 0..L of one design, with the gcell pitch the ratings used."""

    name: str
    levels: list[Level]
    pitch: float

    def describe(self) -> str:
        parts = [f"{lv.num_nodes:,} nodes / {lv.nnz:,} nnz" for lv in self.levels]
        return f"{self.name}: " + " -> ".join(parts)


def build_hierarchy(record, num_levels: int, *, seed: int = 0) -> Hierarchy:
    """Coarsen a store record (:class:`gsr_eda.store.record.DesignRecord`) ``num_levels`` times.

    Stops early when a round merges less than 5% of the nodes (a graph that no longer coarsens).
    Deterministic for a given ``seed``.
    """
    if num_levels < 0:
        raise ValueError(f"num_levels must be >= 0, got {num_levels}")
    design = record.design
    cx, cy = node_centres(design).T
    pitch = gcell_pitch(design.grid.x_edges, design.grid.y_edges)
    n = record.num_nodes
    labels = None if record.cell_labels is None else np.asarray(record.cell_labels, np.float32)
    base = Level(
        parent=np.zeros(0, np.int64),
        members=np.arange(n, dtype=np.int64),
        indptr=np.asarray(record.indptr, np.int64),
        indices=np.asarray(record.indices, np.int32),
        sizes=np.ones(n, np.int64),
        centre_x=cx,
        centre_y=cy,
        features=np.asarray(record.features, np.float32),
        labels=labels,
    )
    rng = np.random.default_rng(seed)
    fixed = np.asarray(design.is_macro, bool)
    levels, weights = [base], np.ones(base.nnz, np.float64)
    for _ in range(num_levels):
        below = levels[-1]
        parent = match_pairs(below, weights, pitch, fixed, rng)
        num_clusters = int(parent.max()) + 1 if parent.size else 0
        if num_clusters > 0.95 * below.num_nodes:
            break
        level, weights = _pool(below, weights, parent, num_clusters)
        levels.append(level)
        fixed = np.bincount(parent, weights=fixed.astype(np.float64), minlength=num_clusters) > 0
    return Hierarchy(record.name, levels, pitch)


def gcell_pitch(x_edges: np.ndarray, y_edges: np.ndarray) -> float:
    """Median gcell side, the distance unit of the ratings (1.0 for a grid of one gcell)."""
    steps = np.concatenate([np.diff(np.asarray(x_edges, np.float64)), np.diff(np.asarray(y_edges, np.float64))])
    steps = steps[steps > 0]
    return float(np.median(steps)) if steps.size else 1.0


def match_pairs(
    level: Level, weights: np.ndarray, pitch: float, fixed: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Handshake heavy-edge matching of ``level``'s nodes; returns each node's cluster id.

    ``weights[e]`` counts the cell-graph edges behind nonzero ``e``; ``fixed`` nodes stay alone.
    Cluster ids are numbered in order of their smallest member.
    """
    n = level.num_nodes
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(level.indptr))
    cols = level.indices.astype(np.int64)
    distance = np.abs(level.centre_x[rows] - level.centre_x[cols]) + np.abs(level.centre_y[rows] - level.centre_y[cols])
    size = level.sizes.astype(np.float64)
    rating = weights / (size[rows] * size[cols] * (1.0 + distance / pitch))
    # A random jitter far below any rating gap breaks ties without a bias towards low indices.
    rating *= 1.0 + 1e-9 * rng.random(rating.size)
    mate = np.full(n, -1, np.int64)
    eligible = ~np.asarray(fixed, bool)
    keep = (rows != cols) & eligible[rows] & eligible[cols]
    rows, cols, rating = rows[keep], cols[keep], rating[keep]
    for _ in range(MATCHING_ROUNDS):
        free = mate < 0
        live = free[rows] & free[cols]
        rows, cols, rating = rows[live], cols[live], rating[live]
        if rows.size == 0:
            break
        order = np.lexsort((-rating, rows))
        first = order[np.r_[True, rows[order][1:] != rows[order][:-1]]]
        best = np.full(n, -1, np.int64)
        best[rows[first]] = cols[first]
        pointing = np.flatnonzero(best >= 0)
        mutual = pointing[best[best[pointing]] == pointing]
        mate[mutual] = best[mutual]
    leader = np.where((mate < 0) | (np.arange(n) < mate), np.arange(n), mate)
    _, parent = np.unique(leader, return_inverse=True)
    return parent.astype(np.int64)


def _pool(below: Level, weights: np.ndarray, parent: np.ndarray, num_clusters: int) -> tuple[Level, np.ndarray]:
    """The level above ``below`` for the cluster map ``parent``, and its edge multiplicities."""
    sizes = np.bincount(parent, weights=below.sizes, minlength=num_clusters).astype(np.int64)
    share = below.sizes / sizes[parent]  # each node's weight in its cluster's mean (by cells)

    def mean(values: np.ndarray) -> np.ndarray:
        if values.ndim == 1:
            return np.bincount(parent, weights=values * share, minlength=num_clusters)
        out = np.zeros((num_clusters, values.shape[1]), np.float64)
        np.add.at(out, parent, values * share[:, None])
        return out

    rows = np.repeat(parent, np.diff(below.indptr))
    cols = parent[below.indices.astype(np.int64)]
    off = rows != cols
    keys = rows[off] * num_clusters + cols[off]
    unique, inverse = np.unique(keys, return_inverse=True)
    multiplicity = np.bincount(inverse, weights=weights[off], minlength=unique.size)
    coarse_rows = unique // num_clusters
    indptr = np.zeros(num_clusters + 1, np.int64)
    np.cumsum(np.bincount(coarse_rows, minlength=num_clusters), out=indptr[1:])
    level = Level(
        parent=parent,
        members=parent[below.members],
        indptr=indptr,
        indices=(unique % num_clusters).astype(np.int32),
        sizes=sizes,
        centre_x=mean(below.centre_x),
        centre_y=mean(below.centre_y),
        features=mean(below.features.astype(np.float64)).astype(np.float32),
        labels=None if below.labels is None else mean(below.labels.astype(np.float64)).astype(np.float32),
    )
    return level, multiplicity


def window_nodes(level: Level, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """Nodes of ``level`` whose centre lies in the box ``[x0, x1) x [y0, y1)``, ascending."""
    inside = (level.centre_x >= x0) & (level.centre_x < x1) & (level.centre_y >= y0) & (level.centre_y < y1)
    return np.flatnonzero(inside)


def induced_subgraph(indptr: np.ndarray, indices: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CSR of the subgraph induced by ``nodes`` (ascending), renumbered ``0..len(nodes)-1``."""
    n = len(indptr) - 1
    local = np.full(n, -1, np.int64)
    local[nodes] = np.arange(len(nodes))
    starts, ends = indptr[nodes], indptr[nodes + 1]
    counts = ends - starts
    if counts.sum() == 0:
        return np.zeros(len(nodes) + 1, np.int64), np.zeros(0, np.int32)
    # Gather the rows of the chosen nodes, then keep the columns that are chosen too.
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    cols = local[indices[np.arange(counts.sum()) + offsets]]
    rows = np.repeat(np.arange(len(nodes)), counts)
    keep = cols >= 0
    sub_indptr = np.zeros(len(nodes) + 1, np.int64)
    np.cumsum(np.bincount(rows[keep], minlength=len(nodes)), out=sub_indptr[1:])
    return sub_indptr, cols[keep].astype(np.int32)
