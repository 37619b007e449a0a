"""Net nodes (net model cell-net) in the store: round trip, schema versions, validation."""

from __future__ import annotations

import dataclasses

import h5py
import numpy as np
import pytest

from gsr_eda.errors import InputError
from gsr_eda.graph import build_adjacency, build_net_nodes
from gsr_eda.store import SCHEMA_VERSION, GraphStore, write_designs
from gsr_eda.store.schema import NET_NODES_VERSION
from tests.store.test_store_roundtrip import assert_records_equal


@pytest.fixture
def cellnet_record(make_record):
    def make(name: str = "hetero", num_nodes: int = 7):
        record = make_record(name, num_nodes)
        indptr, indices = build_adjacency(record.design, "cell-net", 8)
        return dataclasses.replace(
            record,
            indptr=indptr,
            indices=indices,
            net_model="cell-net",
            net_cap=8,
            net_nodes=build_net_nodes(record.design),
        )

    return make


def test_net_nodes_round_trip_and_version_2(tmp_path, cellnet_record):
    record = cellnet_record()
    path = tmp_path / "s.h5"
    write_designs(path, [record])
    with GraphStore(path) as store:
        assert store.schema_version == NET_NODES_VERSION == SCHEMA_VERSION
        got = store.read("hetero")
        summary = store.summary("hetero")
    assert_records_equal(got, record)
    assert summary["net_nodes"] == record.net_nodes.num_nets
    assert summary["net_pin_edges"] == record.net_nodes.num_pin_edges
    assert summary["net_features"] == record.net_nodes.feature_names


def test_version_1_store_is_read_and_upgraded_when_net_nodes_join(tmp_path, make_record, cellnet_record):
    path = tmp_path / "s.h5"
    old = make_record("old")
    write_designs(path, [old])
    with GraphStore(path) as store:
        assert store.schema_version == 1
    # Homogeneous designs keep it version 1; a cell-net design lifts it to version 2, old ones copied.
    write_designs(path, [make_record("old2")])
    with GraphStore(path) as store:
        assert store.schema_version == 1
    write_designs(path, [cellnet_record()])
    with GraphStore(path) as store:
        assert store.schema_version == 2
        assert store.designs == ["hetero", "old", "old2"]
        assert_records_equal(store.read("old"), old)
        assert store.read("old").net_nodes is None
        assert store.summary("old")["net_nodes"] is None
    # Once version 2, it stays version 2.
    write_designs(path, [make_record("late")])
    with GraphStore(path) as store:
        assert store.schema_version == 2


def test_cell_net_without_net_nodes_refused(tmp_path, cellnet_record):
    record = dataclasses.replace(cellnet_record(), net_nodes=None)
    with pytest.raises(InputError, match="needs net nodes"):
        write_designs(tmp_path / "s.h5", [record])
    record = dataclasses.replace(cellnet_record(), net_model="capped-clique")
    with pytest.raises(InputError, match="has no net nodes"):
        write_designs(tmp_path / "s.h5", [record])


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda n: n.cells.__setitem__(0, (n.cells[0] + 1) % 7), "do not match the nodes of their pins"),
        (lambda n: n.pin.__setitem__(0, n.pin[-1]), "another net|do not match"),
        (lambda n: n.features.__setitem__((0, 2), np.nan), "net features contain NaN"),
        (lambda n: n.indptr.__setitem__(1, 1), "two or more entries"),
        (lambda n: n.net.__setitem__(1, n.net[0]), "increasing design nets"),
    ],
)
def test_broken_net_nodes_refused_on_write_and_read(tmp_path, cellnet_record, edit, message):
    bad = cellnet_record()
    edit(bad.net_nodes)
    with pytest.raises(InputError, match=message):
        write_designs(tmp_path / "bad.h5", [bad])
    # The reader checks the same: tamper with a good store.
    path = tmp_path / "s.h5"
    write_designs(path, [cellnet_record()])
    with h5py.File(path, "a") as f:
        group = f["designs/hetero/nets"]
        for key in ("net", "indptr", "cells", "pin", "features"):
            data = getattr(bad.net_nodes, key)
            del group[key]
            group.create_dataset(key, data=data)
    with GraphStore(path) as store, pytest.raises(InputError, match=message):
        store.read("hetero")
