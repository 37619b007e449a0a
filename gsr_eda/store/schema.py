"""The on-disk layout of a graph store: names, version and the compatibility rule.

A store is one HDF5 file. The root carries three attributes (:data:`FORMAT_ATTR`,
:data:`VERSION_ATTR`, :data:`TOOL_VERSION_ATTR`); each design lives in its own group
``/designs/<name>`` with the subgroups listed below. ``docs/store-schema.md`` documents every
dataset; keep the two in step, and bump :data:`SCHEMA_VERSION` on any change a version-1
reader would misread.

Compatibility rule: a reader opens stores whose schema version is at most its own
:data:`SCHEMA_VERSION` and refuses newer ones with "written by a newer gsr-eda".
"""

from __future__ import annotations

#: Version of the layout below. Readers refuse stores with a larger number.
SCHEMA_VERSION: int = 1

#: Value of the root ``format`` attribute: tells a graph store from any other HDF5 file.
FORMAT_NAME = "gsr-eda-graph-store"
FORMAT_ATTR = "format"
VERSION_ATTR = "schema_version"
TOOL_VERSION_ATTR = "tool_version"

DESIGNS_GROUP = "designs"

# Subgroups of /designs/<name>.
DESIGN = "design"  # the PlacedDesign: nodes, nets (hypergraph), die, grid, capacity
GRAPH = "graph"  # CSR adjacency
FEATURES = "features"  # node feature matrix and names
LABELS = "labels"  # optional: per-cell and per-gcell congestion labels
SPLIT = "split"  # optional: stored train/val/test node split

#: Node-split codes of ``split/node``.
SPLIT_CODES = {"train": 0, "val": 1, "test": 2}

LABEL_REDUCTIONS = ("max", "mean")

#: 1-D datasets of ``design/`` that have one entry per node, net or pin, with their dtypes.
#: Strings are variable-length UTF-8; booleans are stored as uint8 (portable to any HDF5 reader).
NODE_ARRAYS = {
    "node_names": "str",
    "node_masters": "str",
    "width": "float64",
    "height": "float64",
    "x": "float64",
    "y": "float64",
    "is_fixed": "bool",
    "is_macro": "bool",
    "is_io": "bool",
}
NET_ARRAYS = {"net_names": "str", "net_use": "str"}
PIN_ARRAYS = {"pin_node": "int64", "pin_dx": "float32", "pin_dy": "float32"}


def is_valid_design_name(name: str) -> bool:
    """A design name must be usable as one HDF5 link name and one shell word."""
    return bool(name) and "/" not in name and name not in (".", "..") and name.isprintable()
