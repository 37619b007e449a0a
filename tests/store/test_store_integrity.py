"""Atomic writes and validation: a failed write leaves the old store, a damaged store is refused clearly."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from gsr_eda.errors import InputError
from gsr_eda.store import SCHEMA_VERSION, GraphStore, write_designs
from gsr_eda.store import writer as store_writer


def _no_temp_files(directory) -> bool:
    return not [p for p in directory.iterdir() if p.name.endswith(".tmp")]


def test_crash_mid_write_leaves_old_store(tmp_path, make_record, monkeypatch):
    path = tmp_path / "s.h5"
    write_designs(path, [make_record("a", 5)])
    before = path.read_bytes()
    real_write = store_writer._write_record
    calls = []

    def crash_on_second(group, record, compression):
        calls.append(record.name)
        real_write(group, record, compression)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C halfway through

    monkeypatch.setattr(store_writer, "_write_record", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        write_designs(path, [make_record("b", 6), make_record("c", 7)])
    assert calls == ["b", "c"]
    assert path.read_bytes() == before
    assert _no_temp_files(tmp_path)
    with GraphStore(path) as store:
        assert store.designs == ["a"]
        store.read("a")


def test_disk_error_mid_write_is_one_input_error(tmp_path, make_record, monkeypatch):
    path = tmp_path / "s.h5"
    write_designs(path, [make_record("a", 5)])
    before = path.read_bytes()

    def full_disk(path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_writer, "_fsync", full_disk)
    with pytest.raises(InputError, match="cannot write the store: no space left on device; the store is unchanged"):
        write_designs(path, [make_record("b", 6)])
    assert path.read_bytes() == before
    assert _no_temp_files(tmp_path)


def test_invalid_record_refused_before_writing(tmp_path, make_record):
    path = tmp_path / "s.h5"
    bad = make_record("bad")
    bad.features[1, 2] = np.nan
    with pytest.raises(InputError, match=r"refusing to store design 'bad': features contain NaN .*pin_count"):
        write_designs(path, [make_record("good"), bad])
    assert not path.exists() and _no_temp_files(tmp_path)


@pytest.mark.parametrize("name", ["", "a/b", ".", "tab\there"])
def test_unusable_design_names_refused(tmp_path, make_record, name):
    with pytest.raises(InputError, match="design name"):
        write_designs(tmp_path / "s.h5", [make_record(name)])


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such graph store") as err:
        GraphStore(tmp_path / "nope.h5")
    assert err.value.path == tmp_path / "nope.h5"


def test_random_bytes(tmp_path):
    path = tmp_path / "junk.h5"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(InputError, match="not a readable HDF5 file") as err:
        GraphStore(path)
    assert err.value.path == path


def test_truncated_store(tmp_path, make_record):
    path = tmp_path / "s.h5"
    write_designs(path, [make_record("a", 30)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="not a readable HDF5 file") as err:
        GraphStore(path)
    assert "truncated" in str(err.value)


def test_foreign_hdf5_file(tmp_path, make_record):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(InputError, match="not a gsr-eda graph store"):
        GraphStore(path)
    before = path.read_bytes()
    with pytest.raises(InputError, match="not a gsr-eda graph store"):
        write_designs(path, [make_record()])
    assert path.read_bytes() == before


def test_newer_schema_refused(tmp_path, make_record):
    path = tmp_path / "s.h5"
    write_designs(path, [make_record()])
    newer = SCHEMA_VERSION + 1
    with h5py.File(path, "a") as f:
        f.attrs["schema_version"] = newer
    with pytest.raises(InputError, match=f"written by a newer gsr-eda .*schema version {newer}"):
        GraphStore(path)


def _tamper(path, dataset: str, edit) -> None:
    with h5py.File(path, "a") as f:
        data = f[dataset][()]
        del f[dataset]
        f[dataset] = edit(data)


@pytest.mark.parametrize(
    "dataset, edit, message",
    [
        (
            "designs/tiny/features/values",
            lambda v: np.where(np.arange(v.size).reshape(v.shape) == 4, np.nan, v).astype(np.float32),
            "features contain NaN",
        ),
        ("designs/tiny/features/values", lambda v: v.astype(np.float64), "dtype float64, expected float32"),
        ("designs/tiny/features/values", lambda v: v[:-1], r"features has shape \(5, 3\), expected \(6, 3\)"),
        (
            "designs/tiny/graph/indices",
            lambda v: np.where(np.arange(v.size) == 0, 5, v).astype(np.int32),
            "not symmetric|self loops|duplicate",
        ),
        ("designs/tiny/graph/indices", lambda v: np.where(np.arange(v.size) == 0, 99, v).astype(np.int32), "outside"),
        ("designs/tiny/graph/indptr", lambda v: v[::-1].copy(), "not a valid CSR"),
        ("designs/tiny/labels/gcell", lambda v: np.full_like(v, np.inf), "gcell_labels contain NaN or infinite"),
        ("designs/tiny/split/node", lambda v: v + 5, "node_split holds codes"),
        ("designs/tiny/design/x", lambda v: v[:3], "placed design: x has length 3"),
        ("designs/tiny/design/is_io", lambda v: v + 2, "values other than 0 and 1"),
    ],
)
def test_damaged_design_refused_on_read(tmp_path, make_record, dataset, edit, message):
    path = tmp_path / "s.h5"
    write_designs(path, [make_record()])
    _tamper(path, dataset, edit)
    with GraphStore(path) as store:
        with pytest.raises(InputError, match=message) as err:
            store.read("tiny")
    assert err.value.path == path and "design 'tiny'" in str(err.value)


def test_missing_dataset_refused_on_read(tmp_path, make_record):
    path = tmp_path / "s.h5"
    write_designs(path, [make_record()])
    with h5py.File(path, "a") as f:
        del f["designs/tiny/graph/indices"]
    with GraphStore(path) as store:
        with pytest.raises(InputError, match="missing dataset /designs/tiny/graph/indices"):
            store.read("tiny")


def test_corrupt_chunk_is_an_input_error(tmp_path, make_record):
    path = tmp_path / "s.h5"
    record = make_record(num_nodes=2000)
    write_designs(path, [record])
    with h5py.File(path) as f:
        offset = f["designs/tiny/features/values"].id.get_chunk_info(0).byte_offset
    data = bytearray(path.read_bytes())
    data[offset : offset + 64] = bytes(64)  # zero the start of the compressed chunk
    path.write_bytes(bytes(data))
    with GraphStore(path) as store:
        with pytest.raises(InputError, match="design 'tiny'"):
            store.read("tiny")


def test_unknown_design_lists_available(tmp_path, make_record):
    path = tmp_path / "s.h5"
    write_designs(path, [make_record("a"), make_record("b")])
    with GraphStore(path) as store:
        with pytest.raises(InputError, match=r"no design 'zz' in the store \(available: a, b\)"):
            store.read("zz")
        with pytest.raises(InputError, match="no design 'zz'"):
            store.summary("zz")
