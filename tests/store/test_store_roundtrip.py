"""Writing records and reading them back: every field survives, several designs share a file."""

from __future__ import annotations

import dataclasses

import h5py
import numpy as np
import pytest

from gsr_eda.errors import InputError
from gsr_eda.store import GraphStore, write_designs


def assert_records_equal(got, want) -> None:
    for f in dataclasses.fields(want):
        a, b = getattr(got, f.name), getattr(want, f.name)
        if f.name == "design":
            assert_designs_equal(a, b)
        elif f.name == "net_nodes" and b is not None:
            for g in dataclasses.fields(b):
                x, y = getattr(a, g.name), getattr(b, g.name)
                if isinstance(y, np.ndarray):
                    assert x.dtype == y.dtype, g.name
                    np.testing.assert_array_equal(x, y, err_msg=g.name)
                else:
                    assert x == y, g.name
        elif isinstance(b, np.ndarray):
            assert a.dtype == b.dtype, f.name
            np.testing.assert_array_equal(a, b, err_msg=f.name)
        else:
            assert a == b, f.name


def assert_designs_equal(a, b) -> None:
    for f in dataclasses.fields(b):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "grid":
            np.testing.assert_array_equal(x.x_edges, y.x_edges)
            np.testing.assert_array_equal(x.y_edges, y.y_edges)
        elif f.name == "capacity" and y is not None:
            np.testing.assert_array_equal(x.horizontal, y.horizontal)
            np.testing.assert_array_equal(x.vertical, y.vertical)
        elif isinstance(y, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=f.name)
            assert x.dtype.kind == y.dtype.kind, f.name
        else:
            assert x == y, f.name


def test_round_trip_every_field(tmp_path, make_record):
    record = make_record()
    path = tmp_path / "s.h5"
    write_designs(path, [record])
    with GraphStore(path) as store:
        assert store.designs == ["tiny"]
        assert store.schema_version == 1  # no net nodes: still readable by version-1 readers
        got = store.read("tiny")
    assert_records_equal(got, record)
    np.testing.assert_array_equal(got.cell_gcells, record.design.gcell_spans())


def test_round_trip_without_labels_split_or_capacity(tmp_path, make_record):
    record = make_record(labels=False, split=False)
    record.design.capacity = None
    write_designs(tmp_path / "s.h5", [record])
    with GraphStore(tmp_path / "s.h5") as store:
        got = store.read("tiny")
    assert got.cell_labels is None and got.gcell_labels is None and got.node_split is None
    assert got.design.capacity is None and got.label_name is None
    assert_records_equal(got, record)


def test_appending_keeps_earlier_designs(tmp_path, make_record):
    path = tmp_path / "s.h5"
    first, second, third = make_record("a", 5), make_record("b", 7), make_record("c", 9)
    write_designs(path, [first])
    write_designs(path, [second, third])
    with GraphStore(path) as store:
        assert store.designs == ["a", "b", "c"]
        for want in (first, second, third):
            assert_records_equal(store.read(want.name), want)


def test_summary_is_cheap_and_complete(tmp_path, make_record):
    record = make_record(num_nodes=8)
    write_designs(tmp_path / "s.h5", [record])
    with GraphStore(tmp_path / "s.h5") as store:
        s = store.summary("tiny")
    assert s["nodes"] == 8 and s["nets"] == 8 and s["pins"] == record.design.num_pins
    assert s["edges"] == len(record.indices) // 2
    assert s["features"] == record.feature_names
    assert s["label"] == {"name": "gr_overflow", "source": "/data/labels.npy", "is_proxy": False, "reduce": "mean"}
    assert s["grid_shape"] == [4, 3] and s["die_um"] == [0.0, 0.0, 10.0, 7.5]
    assert s["metadata"] == record.metadata and s["has_split"] is True


def test_existing_design_refused_unless_overwrite(tmp_path, make_record):
    path = tmp_path / "s.h5"
    write_designs(path, [make_record("a", 5)])
    before = path.read_bytes()
    with pytest.raises(InputError, match=r"already in the store: a \(use --overwrite"):
        write_designs(path, [make_record("a", 9)])
    assert path.read_bytes() == before
    write_designs(path, [make_record("a", 9)], overwrite=True)
    with GraphStore(path) as store:
        assert store.designs == ["a"]
        assert store.read("a").num_nodes == 9


def test_overwrite_does_not_grow_the_file(tmp_path, make_record):
    path = tmp_path / "s.h5"
    write_designs(path, [make_record("a", 40), make_record("b", 5)])
    size = path.stat().st_size
    for _ in range(3):
        write_designs(path, [make_record("a", 40)], overwrite=True)
    assert path.stat().st_size <= size * 1.05


def test_same_name_twice_in_one_write_refused(tmp_path, make_record):
    with pytest.raises(InputError, match="twice"):
        write_designs(tmp_path / "s.h5", [make_record("a"), make_record("a")])
    assert not (tmp_path / "s.h5").exists()


def test_compression_choices_read_back_identically(tmp_path, make_record):
    record = make_record(num_nodes=50)
    for method in [("gzip", 1), ("lzf", None)]:
        path = tmp_path / f"{method[0]}.h5"
        write_designs(path, [record], compression=method)
        with h5py.File(path) as f:
            assert f["designs/tiny/features/values"].compression == method[0]
        with GraphStore(path) as store:
            assert_records_equal(store.read("tiny"), record)


def test_preserves_file_mode_on_replace(tmp_path, make_record):
    path = tmp_path / "s.h5"
    write_designs(path, [make_record("a")])
    path.chmod(0o640)
    write_designs(path, [make_record("b")])
    assert path.stat().st_mode & 0o777 == 0o640
