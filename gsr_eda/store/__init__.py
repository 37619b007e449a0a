"""The versioned HDF5 graph store: many designs' graphs, features and labels in one file.

Write with :func:`write_designs` (atomic; refuses to replace a design unless ``overwrite``),
read with :class:`GraphStore` (validated); records are built by :mod:`gsr_eda.ingest`. The layout is documented in ``docs/store-schema.md``.

>>> from gsr_eda.store import GraphStore
>>> with GraphStore("designs.h5") as store:           # doctest: +SKIP
...     record = store.read(store.designs[0])
"""

from gsr_eda.store.reader import GraphStore
from gsr_eda.store.record import DesignRecord
from gsr_eda.store.schema import SCHEMA_VERSION
from gsr_eda.store.writer import write_designs

__all__ = ["SCHEMA_VERSION", "DesignRecord", "GraphStore", "write_designs"]
