"""Net models: turning the netlist hypergraph into the graph the GNN runs on.

A net with ``d`` distinct nodes ``v_0, ..., v_{d-1}`` (in pin order: the driver first in DEF
and CircuitNet order) becomes edges between node pairs:

``clique``
    every pair ``{v_a, v_b}``, ``a != b``: ``d (d - 1) / 2`` undirected edges.
``star``
    ``{v_0, v_b}`` for ``b >= 1``: every node linked to the net's first pin (the driver).
``capped-clique``
    a clique when ``d <= cap``, otherwise a star on ``v_0``: small nets keep their full
    connectivity, high-fanout nets (clock, reset, scan enable) cost ``O(d)`` instead of ``O(d^2)``.
``cell-net``
    the heterogeneous graph: every net of two or more distinct nodes is a node of its own, linked
    to its cells by pin edges (:mod:`gsr_eda.graph.net_nodes`, stored beside the adjacency). The
    cell-cell adjacency of a ``cell-net`` design is its capped clique, so the homogeneous models
    run on the same store.

Nodes repeated within a net (a cell with two pins on the same net) count once, so ``d`` is the
number of *distinct* nodes. The union over nets is returned as a symmetric CSR matrix with sorted
columns, without duplicate entries or self-loops; ``nnz`` counts each undirected edge twice.
"""

from __future__ import annotations

import numpy as np

from gsr_eda.design import PlacedDesign

NET_MODELS = ("clique", "star", "capped-clique", "cell-net")

#: Net models whose designs carry net nodes (:class:`gsr_eda.graph.net_nodes.NetNodes`).
HETEROGENEOUS_NET_MODELS = ("cell-net",)


def net_node_pairs(design: PlacedDesign) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct ``(net, node)`` memberships in pin order, and the distinct-node degree of each net.

    Returns ``(net, node, degree)``: ``net`` and ``node`` are int64 arrays of the kept pins,
    grouped by net (ascending) with each net's first occurrence of a node kept in pin order;
    ``degree`` (length M) is the number of distinct nodes on each net.
    """
    net, node, _pin, degree = net_node_pins(design)
    return net, node, degree


def net_node_pins(design: PlacedDesign) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`net_node_pairs` plus ``pin``: the index (into the design's pin arrays) of the pin
    each kept membership comes from, the node's first pin on the net. Returns
    ``(net, node, pin, degree)``."""
    counts = np.diff(np.asarray(design.net_ptr, dtype=np.int64))
    net = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    node = np.asarray(design.pin_node, dtype=np.int64)
    key = net * max(design.num_nodes, 1) + node
    # A stable sort puts each (net, node)'s first pin first; sorting the kept indices back
    # restores pin order, so the driver stays the first member of its net.
    order = np.argsort(key, kind="stable")
    first = np.sort(order[_first_of_runs(key[order])])
    net, node = net[first], node[first]
    degree = np.bincount(net, minlength=len(counts)).astype(np.int64)
    return net, node, first.astype(np.int64), degree


def _first_of_runs(sorted_keys: np.ndarray) -> np.ndarray:
    """Mask of the first element of each run of equal values in a sorted array."""
    mask = np.ones(len(sorted_keys), dtype=bool)
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=mask[1:])
    return mask


def _clique_pairs(net: np.ndarray, node: np.ndarray, degree: np.ndarray, keep: np.ndarray):
    """Ordered pairs ``(u, v)``, ``u != v``, of every kept net; ``sum(d * (d - 1))`` entries."""
    sel = keep[net]
    net, node = net[sel], node[sel]
    if len(net) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    d = degree[net]
    # Index of each member's net start in the compacted member list.
    is_first = np.r_[True, net[1:] != net[:-1]]
    member_start = np.flatnonzero(is_first)[np.cumsum(is_first) - 1]
    src = np.repeat(node, d)
    # Member i is repeated d_i times; its copies pair with offsets 0..d_i-1 inside its net.
    offsets = np.arange(len(src), dtype=np.int64) - np.repeat(np.cumsum(d) - d, d)
    dst = node[np.repeat(member_start, d) + offsets]
    mask = src != dst
    return src[mask], dst[mask]


def _star_pairs(net: np.ndarray, node: np.ndarray, degree: np.ndarray, keep: np.ndarray):
    """Ordered pairs between each kept net's first member and its other members, both directions."""
    sel = keep[net]
    net, node = net[sel], node[sel]
    if len(net) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    is_first = np.r_[True, net[1:] != net[:-1]]
    hub = node[np.flatnonzero(is_first)][np.cumsum(is_first) - 1]
    leaf = ~is_first
    return np.r_[hub[leaf], node[leaf]], np.r_[node[leaf], hub[leaf]]


def build_adjacency(
    design: PlacedDesign,
    net_model: str = "capped-clique",
    cap: int = 8,
    *,
    skip_nets_above: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric node adjacency of ``design`` under a net model, as CSR ``(indptr, indices)``.

    Args:
        design: the placed design; its nets are read through ``net_ptr`` / ``pin_node``.
        net_model: one of :data:`NET_MODELS` (see the module docstring); ``cell-net`` gives its
            cell-cell part, the capped clique.
        cap: for ``capped-clique`` (and ``cell-net``), the largest net (in distinct nodes)
            expanded as a clique.
        skip_nets_above: if given, nets with more distinct nodes than this are ignored entirely
            (a common choice for clock and reset nets, which carry little placement signal).

    Returns:
        ``indptr`` int64 of length ``N + 1`` and ``indices`` int32: the neighbours of node ``i``
        are ``indices[indptr[i]:indptr[i + 1]]``, sorted ascending, never ``i`` itself, each once.
        The matrix is symmetric.
    """
    if net_model not in NET_MODELS:
        raise ValueError(f"unknown net model {net_model!r}; choose one of {', '.join(NET_MODELS)}")
    if cap < 2:
        raise ValueError(f"cap must be at least 2, got {cap}")
    n = design.num_nodes
    net, node, degree = net_node_pairs(design)
    usable = degree >= 2
    if skip_nets_above is not None:
        usable &= degree <= skip_nets_above
    if net_model == "clique":
        src, dst = _clique_pairs(net, node, degree, usable)
    elif net_model == "star":
        src, dst = _star_pairs(net, node, degree, usable)
    else:  # capped-clique, and the cell-cell part of cell-net
        small = usable & (degree <= cap)
        s1, d1 = _clique_pairs(net, node, degree, small)
        s2, d2 = _star_pairs(net, node, degree, usable & ~small)
        src, dst = np.r_[s1, s2], np.r_[d1, d2]
    return pairs_to_csr(src, dst, n)


def pairs_to_csr(src: np.ndarray, dst: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR ``(indptr int64, indices int32)`` of the ``n x n`` pattern with an entry at every
    ``(src[i], dst[i])``: duplicates merged, neighbours sorted (self pairs are kept if given)."""
    return keys_to_csr(np.asarray(src, np.int64) * n + np.asarray(dst, np.int64), n)


def keys_to_csr(key: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`pairs_to_csr` of the keys ``row * n + col`` (int64; sorted in place)."""
    # Sort + run-start mask rather than np.unique: NumPy 2's hash-based unique is ~10x slower
    # on the millions of entries of a full clique.
    key.sort()
    key = key[_first_of_runs(key)]
    rows = key // n
    indices = (key - rows * n).astype(np.int32)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return indptr, indices
