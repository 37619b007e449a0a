"""Plain arrays, CircuitNet maps and the read_labels dispatcher, with their error cases."""

from __future__ import annotations

import numpy as np
import pytest

from gsr_eda.errors import InputError
from gsr_eda.labels import LABEL_KINDS, read_circuitnet_congestion, read_gcell_array, read_labels
from placed_design_builder import make_design

DESIGN = make_design([(0.0, 0.0, 1.0, 1.0)], [], die=(0.0, 0.0, 4.0, 3.0))  # a 4 x 3 grid
GRID = DESIGN.grid


def test_npy_and_csv_arrays(tmp_path):
    values = np.arange(12, dtype=np.float64).reshape(4, 3)
    np.save(tmp_path / "a.npy", values)
    np.savetxt(tmp_path / "a.csv", values, delimiter=",")
    for name in ("a.npy", "a.csv"):
        label = read_gcell_array(tmp_path / name, GRID)
        np.testing.assert_array_equal(label.values, values)
        assert label.values.dtype == np.float32 and not label.is_proxy
    np.save(tmp_path / "t.npy", values.T)
    np.testing.assert_array_equal(read_gcell_array(tmp_path / "t.npy", GRID, transpose=True).values, values)


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: np.save(p / "x.npy", np.zeros((3, 4))), r"shape \(3, 4\), the design's gcell grid is \(4, 3\)"),
        (lambda p: np.save(p / "x.npy", np.zeros((4, 3, 1))), "expected a 2-D array"),
        (lambda p: np.save(p / "x.npy", np.full((4, 3), np.nan)), "12 non-finite values"),
        (lambda p: np.save(p / "x.npy", np.array([{"a": 1}], dtype=object)), "not a plain numeric"),
        (lambda p: (p / "x.npy").write_bytes(b"\x93NUMPY garbage"), "corrupt"),
        (lambda p: (p / "x.csv").write_text("1,2,3\n4,5\n"), "malformed CSV"),
        (lambda p: (p / "x.txt").write_text("1"), "unsupported array format"),
        (lambda p: None, "file not found"),
    ],
)
def test_bad_arrays(tmp_path, make, problem):
    make(tmp_path)
    path = next(iter(tmp_path.iterdir()), tmp_path / "x.npy")
    with pytest.raises(InputError, match=problem) as err:
        read_gcell_array(path, GRID)
    assert err.value.path == path


def _circuitnet_root(tmp_path, stage="GR", measure="overflow", h=None, v=None):
    for direction, values in (("horizontal", h), ("vertical", v)):
        folder = tmp_path / f"congestion_{stage}_{direction}_{measure}"
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "1-sample.npy", values)
    return tmp_path


def test_circuitnet_label_is_the_normalised_sum_of_directions(tmp_path):
    h = np.zeros((4, 3))
    h[1, 2] = 3.0
    v = np.full((4, 3), 1.0)
    root = _circuitnet_root(tmp_path, h=h, v=v)
    label = read_circuitnet_congestion(root, "1-sample", GRID)
    expected = (h + v - 1.0) / 3.0
    np.testing.assert_allclose(label.values, expected)
    raw = read_circuitnet_congestion(root, "1-sample.npy", GRID, normalise=False)
    np.testing.assert_allclose(raw.values, h + v)
    _circuitnet_root(tmp_path, "eGR", "util", h=np.ones((4, 3)), v=np.ones((4, 3)))
    flat = read_circuitnet_congestion(root, "1-sample", GRID, which="egr_util")
    assert flat.name == "circuitnet_egr_util" and np.all(flat.values == 0)  # constant map normalises to 0


def test_circuitnet_errors(tmp_path):
    with pytest.raises(InputError, match="unknown CircuitNet label 'drc'"):
        read_circuitnet_congestion(tmp_path, "s", GRID, which="drc")
    with pytest.raises(InputError, match="file not found"):
        read_circuitnet_congestion(tmp_path, "s", GRID)
    root = _circuitnet_root(tmp_path, h=np.zeros((4, 3)), v=np.zeros((5, 3)))
    with pytest.raises(InputError, match="CircuitNet gr_overflow map has shape"):
        read_circuitnet_congestion(root, "1-sample", GRID)


def test_read_labels_dispatches_and_checks_kind_and_options(tmp_path):
    assert set(LABEL_KINDS) == {
        "circuitnet",
        "openroad-report",
        "openroad-guides",
        "openroad-heatmap",
        "routed-def",
        "array",
    }
    np.save(tmp_path / "m.npy", np.ones((3, 4)))
    label = read_labels("array", tmp_path / "m.npy", design=DESIGN, transpose=True)
    assert label.values.shape == (4, 3)
    with pytest.raises(InputError, match="unknown label kind 'def'"):
        read_labels("def", tmp_path / "m.npy", design=DESIGN)
    with pytest.raises(InputError, match="has no option 'which'"):
        read_labels("array", tmp_path / "m.npy", design=DESIGN, which="x")
    with pytest.raises(InputError, match="placement sample name"):
        read_labels("circuitnet", tmp_path, design=DESIGN)
    root = _circuitnet_root(tmp_path / "cn", h=np.ones((4, 3)), v=np.eye(4, 3))
    label = read_labels("circuitnet", root, design=DESIGN, sample="1-sample", normalise=False)
    np.testing.assert_allclose(label.values, 1 + np.eye(4, 3))
