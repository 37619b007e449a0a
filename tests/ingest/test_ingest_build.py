"""build_record: graph, features and labels of a design, ready for the store."""

from __future__ import annotations

import numpy as np
import pytest

from gsr_eda.design import cells_from_gcell_map
from gsr_eda.errors import InputError
from gsr_eda.graph import FEATURES
from gsr_eda.ingest.build import build_record
from gsr_eda.labels import GcellLabel, proxy_congestion
from gsr_eda.store import GraphStore, write_designs
from gsr_eda.store.validate import check_record
from placed_design_builder import random_design


def test_build_record_with_proxy_label_is_valid_and_round_trips(tmp_path):
    design = random_design(60, 50, seed=1)
    record = build_record(
        design, net_model="star", label=proxy_congestion(design), label_reduce="mean", metadata={"who": "test"}
    )
    check_record(record)
    assert record.label_is_proxy and record.net_model == "star" and record.net_cap == 8
    assert record.metadata["who"] == "test"
    assert record.metadata["feature_units"] == {n: FEATURES[n][0] for n in record.feature_names}
    np.testing.assert_allclose(
        record.cell_labels, cells_from_gcell_map(record.gcell_labels, design.gcell_spans(), "mean")
    )
    write_designs(tmp_path / "s.h5", [record])
    with GraphStore(tmp_path / "s.h5") as store:
        got = store.read(design.name)
    np.testing.assert_array_equal(got.features, record.features)
    np.testing.assert_array_equal(got.cell_labels, record.cell_labels)
    assert got.metadata == record.metadata


def test_cell_label_is_max_over_covered_gcells():
    design = random_design(30, 20, seed=2)
    values = np.zeros(design.grid.shape, np.float32)
    values[3, 4] = 7.0
    record = build_record(design, label=GcellLabel(values, "hot", "hot.npy", False, "one hot gcell"))
    spans = record.cell_gcells
    covers = (spans[:, 0] <= 3) & (spans[:, 2] >= 3) & (spans[:, 1] <= 4) & (spans[:, 3] >= 4)
    np.testing.assert_array_equal(record.cell_labels, np.where(covers, 7.0, 0.0).astype(np.float32))
    assert record.metadata["label_description"] == "one hot gcell"


def test_label_of_another_grid_is_refused():
    design = random_design(20, 10, seed=3)
    label = GcellLabel(np.zeros((3, 3), np.float32), "small", "small.npy", False, "")
    with pytest.raises(InputError, match=r"small.npy: label map 'small' has shape \(3, 3\)"):
        build_record(design, label=label)


def test_unlabelled_record():
    record = build_record(random_design(20, 10, seed=4), net_model="clique")
    check_record(record)
    assert record.cell_labels is None and record.label_name is None and not record.label_is_proxy


def test_cell_net_record_has_the_capped_clique_and_net_nodes(tmp_path):
    from gsr_eda.graph import NET_FEATURES, build_adjacency, build_net_nodes

    design = random_design(60, 50, seed=5)
    record = build_record(design, net_model="cell-net", cap=4, label=proxy_congestion(design))
    check_record(record)
    indptr, indices = build_adjacency(design, "capped-clique", cap=4)
    np.testing.assert_array_equal(record.indptr, indptr)
    np.testing.assert_array_equal(record.indices, indices)
    np.testing.assert_array_equal(record.net_nodes.features, build_net_nodes(design).features)
    assert record.metadata["net_feature_units"] == {n: u for n, (u, _) in NET_FEATURES.items()}
    write_designs(tmp_path / "s.h5", [record])
    with GraphStore(tmp_path / "s.h5") as store:
        assert store.schema_version == 2
        got = store.read(design.name)
    np.testing.assert_array_equal(got.net_nodes.cells, record.net_nodes.cells)
    assert build_record(design).net_nodes is None
