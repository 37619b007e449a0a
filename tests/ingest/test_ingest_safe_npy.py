"""load_untrusted_npy: numpy object arrays load; any other pickled global is refused unexecuted."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pytest

from gsr_eda.errors import InputError
from gsr_eda.ingest import load_untrusted_npy


def _magic_and_header(shape) -> bytes:
    """The magic string and header numpy writes for an object array of ``shape``."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "|O", "fortran_order": False, "shape": shape})
    return buffer.getvalue()


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_object_arrays_round_trip(tmp_path: Path):
    data = np.empty((3, 2), dtype=object)
    data[0] = ["ZN", "A"]
    data[1] = [0, [1, 2]]
    data[2] = [{"a": (1, 2.5)}, b"bytes"]
    np.save(tmp_path / "obj.npy", data, allow_pickle=True)
    loaded = load_untrusted_npy(tmp_path / "obj.npy")
    assert loaded.shape == (3, 2) and loaded[1, 1] == [1, 2] and loaded[2, 0] == {"a": (1, 2.5)}
    placement = np.array({"u1": [1, 2, 3, 4]}, dtype=object)
    np.save(tmp_path / "dict.npy", placement, allow_pickle=True)
    assert load_untrusted_npy(tmp_path / "dict.npy").item() == {"u1": [1, 2, 3, 4]}
    np.save(tmp_path / "plain.npy", np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(load_untrusted_npy(tmp_path / "plain.npy"), np.arange(6).reshape(2, 3))


def test_os_system_is_refused_without_running(tmp_path: Path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(np.array([_Exploit(marker)], dtype=object), protocol=3)
    target = tmp_path / "evil.npy"
    target.write_bytes(_magic_and_header((1,)) + payload)
    with pytest.raises(InputError, match=r"disallowed pickle global (posix|os)\.system") as err:
        load_untrusted_npy(target)
    assert err.value.path == target
    assert not marker.exists()


def test_custom_class_is_refused(tmp_path: Path):
    payload = pickle.dumps(np.array([Path("x")], dtype=object), protocol=4)
    target = tmp_path / "class.npy"
    target.write_bytes(_magic_and_header((1,)) + payload)
    with pytest.raises(InputError, match=r"disallowed pickle global pathlib\.PosixPath"):
        load_untrusted_npy(target)


def test_corrupt_and_foreign_files(tmp_path: Path):
    with pytest.raises(InputError, match="file not found"):
        load_untrusted_npy(tmp_path / "none.npy")
    (tmp_path / "text.npy").write_text("hello")
    with pytest.raises(InputError, match="not a valid .npy file"):
        load_untrusted_npy(tmp_path / "text.npy")
    np.save(tmp_path / "obj.npy", np.array([[1], "a"], dtype=object), allow_pickle=True)
    truncated = (tmp_path / "obj.npy").read_bytes()[:-5]
    (tmp_path / "obj.npy").write_bytes(truncated)
    with pytest.raises(InputError, match="corrupt pickled .npy data"):
        load_untrusted_npy(tmp_path / "obj.npy")
