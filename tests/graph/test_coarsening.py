"""Coarsening: clusters are matched pairs of neighbours, pooled means are exact, windows and subgraphs."""

from __future__ import annotations

import numpy as np
import pytest

from gsr_eda.graph.coarsening import build_hierarchy, gcell_pitch, induced_subgraph, window_nodes
from gsr_eda.ingest.build import build_record
from gsr_eda.labels.proxy import proxy_congestion
from tests.train.conftest import random_design


@pytest.fixture(scope="module")
def record():
    design = random_design("coarsen", 400, seed=3)
    return build_record(design, label=proxy_congestion(design, measure="utilisation"))


def _edges(indptr, indices):
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    return set(zip(rows.tolist(), np.asarray(indices).tolist()))


def test_each_level_merges_neighbour_pairs_and_shrinks(record):
    h = build_hierarchy(record, 3, seed=0)
    assert len(h.levels) == 4
    fine_edges = _edges(record.indptr, record.indices)
    for below, level in zip(h.levels, h.levels[1:]):
        assert 0.4 * below.num_nodes < level.num_nodes < 0.85 * below.num_nodes
        counts = np.bincount(level.parent, minlength=level.num_nodes)
        assert counts.min() >= 1 and counts.max() <= 2  # a matching: pairs and singletons
        below_edges = _edges(below.indptr, below.indices)
        for c in np.flatnonzero(counts == 2)[:50]:
            a, b = np.flatnonzero(level.parent == c)
            assert (a, b) in below_edges  # only neighbours merge
        assert level.sizes.sum() == record.num_nodes
    top = h.levels[-1]
    assert np.array_equal(np.bincount(top.members, minlength=top.num_nodes), top.sizes)
    assert len(fine_edges) == record.indices.size


def test_pooled_features_labels_and_adjacency_are_exact(record):
    top = build_hierarchy(record, 2, seed=1).levels[-1]
    for c in (0, top.num_nodes // 2, top.num_nodes - 1):
        members = np.flatnonzero(top.members == c)
        np.testing.assert_allclose(top.features[c], record.features[members].mean(0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(top.labels[c], record.cell_labels[members].mean(), rtol=1e-5)
    # Clusters are adjacent exactly when some member edge crosses between them.
    fine_rows = np.repeat(np.arange(record.num_nodes), np.diff(record.indptr))
    crossing = {(a, b) for a, b in zip(top.members[fine_rows], top.members[record.indices]) if a != b}
    assert _edges(top.indptr, top.indices) == crossing


def test_macros_stay_alone_and_results_are_seeded(record):
    import dataclasses

    design = dataclasses.replace(record.design, is_macro=np.arange(record.num_nodes) < 10)
    marked = dataclasses.replace(record, design=design)
    h = build_hierarchy(marked, 2, seed=0)
    assert all(np.sum(h.levels[-1].members == h.levels[-1].members[i]) == 1 for i in range(10))
    again = build_hierarchy(marked, 2, seed=0)
    assert np.array_equal(h.levels[-1].members, again.levels[-1].members)


def test_window_and_induced_subgraph(record):
    level = build_hierarchy(record, 0).levels[0]
    nodes = window_nodes(level, 0.0, 0.0, 20.0, 20.0)
    cx = record.design.x + record.design.width / 2
    assert np.array_equal(nodes, np.flatnonzero((cx < 20) & (record.design.y + record.design.height / 2 < 20)))
    indptr, indices = induced_subgraph(record.indptr, record.indices, nodes)
    expected = {
        (int(np.searchsorted(nodes, a)), int(np.searchsorted(nodes, b)))
        for a, b in _edges(record.indptr, record.indices)
        if a in set(nodes.tolist()) and b in set(nodes.tolist())
    }
    assert _edges(indptr, indices) == expected
    empty_indptr, empty_indices = induced_subgraph(record.indptr, record.indices, np.zeros(0, np.int64))
    assert empty_indptr.tolist() == [0] and empty_indices.size == 0


def test_gcell_pitch_is_the_median_side():
    assert gcell_pitch(np.array([0.0, 2.0, 4.0, 7.0]), np.array([0.0, 2.0])) == 2.0
    assert gcell_pitch(np.array([0.0]), np.array([0.0])) == 1.0
