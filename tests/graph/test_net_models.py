"""Net models: CSR properties, hand-counted edges, and agreement with a brute-force reference."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from gsr_eda.graph import NET_MODELS, build_adjacency
from placed_design_builder import make_design, random_design


def _edge_set(indptr: np.ndarray, indices: np.ndarray) -> set[tuple[int, int]]:
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    return set(zip(rows.tolist(), indices.tolist()))


def _reference(nets, model: str, cap: int, skip_above: int | None) -> set[tuple[int, int]]:
    edges = set()
    for net in nets:
        members = list(dict.fromkeys(int(v) for v in net))  # distinct, pin order kept
        d = len(members)
        if d < 2 or (skip_above is not None and d > skip_above):
            continue
        if model == "clique" or (model in ("capped-clique", "cell-net") and d <= cap):
            pairs = itertools.permutations(members, 2)
        else:
            pairs = [(members[0], v) for v in members[1:]] + [(v, members[0]) for v in members[1:]]
        edges.update(pairs)
    return edges


def _unit_boxes(n: int):
    return [(float(i), 0.0, 1.0, 1.0) for i in range(n)]


def test_hand_made_clique_counts():
    design = make_design(_unit_boxes(5), [[0, 1, 2], [2, 3], [0, 0, 1]])
    indptr, indices = build_adjacency(design, "clique")
    assert indptr.dtype == np.int64 and indices.dtype == np.int32
    assert indptr.shape == (6,)
    assert _edge_set(indptr, indices) == {(0, 1), (1, 0), (0, 2), (2, 0), (1, 2), (2, 1), (2, 3), (3, 2)}
    assert np.diff(indptr).tolist() == [2, 2, 3, 1, 0]


def test_star_links_every_pin_to_the_first_pin():
    design = make_design(_unit_boxes(5), [[3, 0, 1, 2, 4]])
    indptr, indices = build_adjacency(design, "star")
    assert np.diff(indptr).tolist() == [1, 1, 1, 4, 1]
    assert indices[indptr[3] : indptr[4]].tolist() == [0, 1, 2, 4]


def test_capped_clique_stars_only_the_nets_above_the_cap():
    design = make_design(_unit_boxes(8), [[0, 1, 2], [3, 4, 5, 6, 7]])
    indptr, indices = build_adjacency(design, "capped-clique", cap=3)
    edges = _edge_set(indptr, indices)
    assert {(0, 1), (1, 2), (0, 2)} <= edges  # the 3-pin net is a clique
    assert (4, 5) not in edges and (3, 7) in edges  # the 5-pin net is a star on node 3
    assert len(edges) == 2 * (3 + 4)
    # A cap at least as large as every net gives the full clique.
    assert _edge_set(*build_adjacency(design, "capped-clique", cap=5)) == _edge_set(*build_adjacency(design, "clique"))


def test_skip_nets_above_drops_large_nets():
    design = make_design(_unit_boxes(6), [[0, 1], [1, 2, 3, 4, 5]])
    indptr, indices = build_adjacency(design, "clique", skip_nets_above=4)
    assert _edge_set(indptr, indices) == {(0, 1), (1, 0)}


@pytest.mark.parametrize("model", NET_MODELS)
@pytest.mark.parametrize("skip_above", [None, 12])
def test_random_design_matches_reference_and_is_a_clean_symmetric_csr(model, skip_above):
    design = random_design(60, 90, seed=3)
    nets = [design.pin_node[a:b] for a, b in zip(design.net_ptr[:-1], design.net_ptr[1:])]
    indptr, indices = build_adjacency(design, model, cap=4, skip_nets_above=skip_above)
    n = design.num_nodes
    assert indptr[0] == 0 and indptr[-1] == len(indices) and np.all(np.diff(indptr) >= 0)
    rows = np.repeat(np.arange(n), np.diff(indptr))
    assert not np.any(rows == indices), "self-loop"
    for i in range(n):
        row = indices[indptr[i] : indptr[i + 1]]
        assert np.all(np.diff(row) > 0), "columns must be sorted and unique"
    adj = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(n, n))
    assert (adj != adj.T).nnz == 0
    assert _edge_set(indptr, indices) == _reference(nets, model, 4, skip_above)


def test_bad_arguments_are_rejected():
    design = make_design(_unit_boxes(2), [[0, 1]])
    with pytest.raises(ValueError, match="unknown net model"):
        build_adjacency(design, "hyperedge")
    with pytest.raises(ValueError, match="cap"):
        build_adjacency(design, "capped-clique", cap=1)


def test_design_without_nets_has_no_edges():
    design = make_design(_unit_boxes(3), [])
    indptr, indices = build_adjacency(design, "clique")
    assert indptr.tolist() == [0, 0, 0, 0] and len(indices) == 0
