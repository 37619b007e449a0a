"""A placed design held in memory: nodes, nets as a hypergraph, die, gcell grid, routing capacity.

Every reader (DEF/LEF, CircuitNet, the synthetic generator) produces a :class:`PlacedDesign`;
features, labels, the graph store and the flow hooks consume it. Units are **microns** for
every length, whatever the source file used; ``dbu_per_micron`` records the source's database
units so positions can be written back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gsr_eda.design.gcell import GcellGrid


@dataclass
class RoutingCapacity:
    """Routing tracks available per gcell, summed over the layers of each preferred direction.

    ``horizontal`` and ``vertical`` have the grid's shape ``(nx, ny)``. A horizontal track
    crosses a gcell along x, so horizontal capacity counts tracks stacked along y.
    """

    horizontal: np.ndarray
    vertical: np.ndarray


@dataclass
class PlacedDesign:
    """A placed netlist, as read from DEF/LEF, CircuitNet or the synthetic generator.

    Nodes (``N``) are placed instances and, optionally, IO pins (zero-size nodes with
    ``is_io``). Nets (``M``) form a hypergraph in CSR layout: the pins of net ``j`` are
    ``pin_node[net_ptr[j]:net_ptr[j + 1]]``, with per-pin offsets ``(pin_dx, pin_dy)`` from the
    node's lower-left corner in its placed orientation (the node centre where the source does
    not say).
    """

    name: str
    dbu_per_micron: float
    die: tuple[float, float, float, float]  # (x0, y0, x1, y1), microns
    grid: GcellGrid
    # Nodes, length N.
    node_names: np.ndarray  # str
    node_masters: np.ndarray  # str: LEF macro / cell type ("" for IO pins)
    width: np.ndarray  # float64 microns, in the placed orientation
    height: np.ndarray  # float64 microns
    x: np.ndarray  # float64 microns, lower-left corner
    y: np.ndarray  # float64 microns
    is_fixed: np.ndarray  # bool
    is_macro: np.ndarray  # bool: LEF CLASS BLOCK (or a CircuitNet macro)
    is_io: np.ndarray  # bool
    # Nets, length M, and their pins, length P.
    net_names: np.ndarray  # str
    net_use: np.ndarray  # str: SIGNAL, CLOCK, ...
    net_ptr: np.ndarray  # int64, M + 1
    pin_node: np.ndarray  # int64, P
    pin_dx: np.ndarray  # float32, P
    pin_dy: np.ndarray  # float32, P
    capacity: RoutingCapacity | None = None
    source: dict[str, str] = field(default_factory=dict)

    @property
    def num_nodes(self) -> int:
        return len(self.node_names)

    @property
    def num_nets(self) -> int:
        return len(self.net_names)

    @property
    def num_pins(self) -> int:
        return len(self.pin_node)

    def gcell_spans(self, x: np.ndarray | None = None, y: np.ndarray | None = None) -> np.ndarray:
        """Inclusive gcell span ``(N, 4) int32`` of every node's box, at the given or stored positions."""
        x = self.x if x is None else np.asarray(x, np.float64)
        y = self.y if y is None else np.asarray(y, np.float64)
        return self.grid.span(x, y, x + self.width, y + self.height)

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first inconsistency (lengths, ranges, finiteness)."""
        n, m, p = self.num_nodes, self.num_nets, self.num_pins
        for label, arr, length in [
            ("node_masters", self.node_masters, n),
            ("width", self.width, n),
            ("height", self.height, n),
            ("x", self.x, n),
            ("y", self.y, n),
            ("is_fixed", self.is_fixed, n),
            ("is_macro", self.is_macro, n),
            ("is_io", self.is_io, n),
            ("net_use", self.net_use, m),
            ("net_ptr", self.net_ptr, m + 1),
            ("pin_dx", self.pin_dx, p),
            ("pin_dy", self.pin_dy, p),
        ]:
            if len(arr) != length:
                raise ValueError(f"{label} has length {len(arr)}, expected {length}")
        if m and (self.net_ptr[0] != 0 or self.net_ptr[-1] != p or np.any(np.diff(self.net_ptr) < 0)):
            raise ValueError("net_ptr is not a valid CSR pointer over the pins")
        if p and (self.pin_node.min() < 0 or self.pin_node.max() >= n):
            raise ValueError("pin_node refers to a node that does not exist")
        for label, arr in [("width", self.width), ("height", self.height), ("x", self.x), ("y", self.y)]:
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{label} has non-finite values")
        if np.any(self.width < 0) or np.any(self.height < 0):
            raise ValueError("negative cell size")
        if self.capacity is not None:
            for label, cap in [("horizontal", self.capacity.horizontal), ("vertical", self.capacity.vertical)]:
                if cap.shape != self.grid.shape:
                    raise ValueError(f"{label} capacity has shape {cap.shape}, grid is {self.grid.shape}")
