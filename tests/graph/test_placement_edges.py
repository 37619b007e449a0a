"""Placement neighbours: the netlist adjacency joined with each node's k nearest nodes on the die."""

from __future__ import annotations

import numpy as np
import pytest

from gsr_eda.graph import build_adjacency
from gsr_eda.graph.placement_edges import add_placement_neighbours, node_centres
from placed_design_builder import random_design


def _dense(indptr, indices, n):
    dense = np.zeros((n, n), dtype=int)
    for i in range(n):
        dense[i, indices[indptr[i] : indptr[i + 1]]] += 1
    return dense


@pytest.mark.parametrize("k", [1, 3, 8])
def test_union_with_the_brute_force_nearest_nodes(k):
    design = random_design(60, 70, seed=2)
    indptr, indices = build_adjacency(design)
    centres = node_centres(design)
    out_ptr, out_idx = add_placement_neighbours(indptr, indices, centres, k)
    n = design.num_nodes
    got, netlist = _dense(out_ptr, out_idx, n), _dense(indptr, indices, n)
    assert got.max() == 1 and np.all(np.diag(got) == 0)  # no duplicates, no self loops
    assert np.array_equal(got, got.T)  # symmetric
    assert np.all(got >= netlist)  # every netlist edge kept
    distance = np.linalg.norm(centres[:, None] - centres[None], axis=2)
    np.fill_diagonal(distance, np.inf)
    nearest = np.argsort(distance, axis=1, kind="stable")[:, :k]
    for i in range(n):
        assert got[i, nearest[i]].all(), i  # its k nearest (no ties in random positions)
    knn = np.zeros_like(got)
    knn[np.repeat(np.arange(n), k), nearest.reshape(-1)] = 1
    assert np.array_equal(np.maximum(netlist, np.maximum(knn, knn.T)), got)  # and nothing else
    for i in range(n):  # sorted neighbours, as the CSR kernels expect
        row = out_idx[out_ptr[i] : out_ptr[i + 1]]
        assert np.all(np.diff(row) > 0)


def test_positions_move_the_edges_and_zero_keeps_the_netlist():
    design = random_design(40, 50, seed=5)
    indptr, indices = build_adjacency(design)
    assert add_placement_neighbours(indptr, indices, node_centres(design), 0) == (indptr, indices)
    x = design.x.copy()
    x[0] = x.max() + 1e4  # node 0 far to the right of everything
    before = add_placement_neighbours(indptr, indices, node_centres(design), 4)
    after = add_placement_neighbours(indptr, indices, node_centres(design, x, design.y), 4)
    assert not np.array_equal(before[1], after[1])
    # Far away, node 0's placement neighbours are the 4 rightmost others.
    centres = node_centres(design, x, design.y)
    rightmost = set(np.argsort(-centres[1:, 0])[:4] + 1)
    row = set(after[1][after[0][0] : after[0][1]])
    assert rightmost <= row
    with pytest.raises(ValueError, match=">= 0"):
        add_placement_neighbours(indptr, indices, centres, -1)
