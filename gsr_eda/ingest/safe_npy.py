"""Load ``.npy`` files from untrusted sources (CircuitNet's object arrays are pickles).

``numpy.load(..., allow_pickle=True)`` runs an ordinary unpickler, which can call any
importable function (``os.system``...) while loading. Here the ``.npy`` header is read with
numpy's own format functions, plain dtypes are read without pickle, and object arrays go
through an unpickler whose ``find_class`` admits only what a pickled numpy array needs
(array reconstruction, ``ndarray``, ``dtype``, scalars) plus harmless builtins. Lists, dicts,
tuples, strings and numbers are pickle opcodes, not globals, so they need no permission.
"""

from __future__ import annotations

import _codecs
import builtins
import io
import pickle
from pathlib import Path

import numpy as np

from gsr_eda.errors import InputError

try:  # numpy >= 2 keeps the implementation in numpy._core
    from numpy._core import multiarray
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray

_ALLOWED_GLOBALS: dict[tuple[str, str], object] = {}


def _allow(module: str, name: str, obj: object) -> None:
    _ALLOWED_GLOBALS[(module, name)] = obj


def _build_allow_list() -> None:
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        _allow(module, "_reconstruct", multiarray._reconstruct)
        _allow(module, "scalar", multiarray.scalar)
    _allow("numpy", "ndarray", np.ndarray)
    _allow("numpy", "dtype", np.dtype)
    for name in ("set", "frozenset", "complex", "bytearray", "slice", "range"):
        _allow("builtins", name, getattr(builtins, name))
    # Protocol-2 pickles of ``bytes`` call codecs.encode(str, "latin1").
    _allow("_codecs", "encode", _codecs.encode)


_build_allow_list()


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global outside the allow-list."""

    def __init__(self, stream, path: Path) -> None:
        super().__init__(stream)
        self._path = path

    def find_class(self, module: str, name: str):  # noqa: D401 - pickle API
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise InputError(f"disallowed pickle global {module}.{name}", self._path) from None


def load_untrusted_npy(path: str | Path) -> np.ndarray:
    """Read a ``.npy`` file; object arrays are unpickled with only numpy and builtin types allowed.

    Raises :class:`InputError` for a missing file, a file that is not ``.npy``, a truncated
    one, or a pickle that refers to any other global (reported as ``disallowed pickle global
    module.name``, raised before that global is ever called).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", path)
    with path.open("rb") as stream:
        try:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
            elif version == (2, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
        except ValueError as err:
            raise InputError(f"not a valid .npy file: {err}", path) from None
        if not dtype.hasobject:
            try:
                stream.seek(0)
                return np.lib.format.read_array(stream, allow_pickle=False)
            except ValueError as err:
                raise InputError(f"corrupt .npy data: {err}", path) from None
        payload = stream.read()
    try:
        array = _NumpyOnlyUnpickler(io.BytesIO(payload), path).load()
    except InputError:
        raise
    except Exception as err:  # noqa: BLE001 - any unpickling failure is a corrupt file
        raise InputError(f"corrupt pickled .npy data: {type(err).__name__}: {err}", path) from None
    if not isinstance(array, np.ndarray):
        raise InputError(f"pickled .npy data is a {type(array).__name__}, not an array", path)
    if array.shape != tuple(shape):
        raise InputError(f"array shape {array.shape} does not match the header's {tuple(shape)}", path)
    return array
