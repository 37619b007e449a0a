"""The on-disk layout of a graph store: names, version and the compatibility rule.

A store is one HDF5 file. The root carries three attributes (:data:`FORMAT_ATTR`,
:data:`VERSION_ATTR`, :data:`TOOL_VERSION_ATTR`); each design lives in its own group
``/designs/<name>`` with the subgroups listed below. ``docs/store-schema.md`` documents every
dataset; keep the two in step, and bump :data:`SCHEMA_VERSION` on any change an older reader
would misread.

Compatibility rule: a reader opens stores whose schema version is at most its own
:data:`SCHEMA_VERSION` and refuses newer ones with "written by a newer gsr-eda". A writer stamps
the lowest version that holds the store's designs (:func:`version_needed`): version 2 added the
net nodes of the ``cell-net`` net model (subgroup :data:`NETS`), so a store without them is still
written as version 1 and stays readable by version-1 readers.
"""

from __future__ import annotations

#: Version of the layout below. Readers refuse stores with a larger number.
SCHEMA_VERSION: int = 2

#: The first version with the :data:`NETS` subgroup (net nodes of the ``cell-net`` net model).
NET_NODES_VERSION: int = 2

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
NETS = "nets"  # cell-net designs only (version 2): net nodes, pin edges, net features

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


def version_needed(has_net_nodes: bool, existing: int = 1) -> int:
    """The version a writer stamps: the lowest that holds the designs (net nodes need
    :data:`NET_NODES_VERSION`), and never lower than the store's ``existing`` version."""
    return max(int(existing), NET_NODES_VERSION if has_net_nodes else 1)
