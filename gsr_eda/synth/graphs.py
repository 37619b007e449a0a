"""Synthetic graphs for the benchmarks: structure only, no placement.

Three shapes, from the cheapest to the most circuit-like:

* :func:`hub_graph`: a CSR adjacency with the degrees of a circuit (geometric around 20,
  a tenth of degree-1 rows, three clock-like hubs); the kernel benchmarks' synthetic input.
* :func:`random_pairs_csr`: a symmetric graph of uniform random node pairs; the training
  benchmark's random graph.
* :func:`circuit_netlist`: a netlist with :func:`~gsr_eda.synth.generator.generate_design`'s
  fan-out law (:func:`~gsr_eda.synth.generator.draw_fanout`) and local sinks, plus high-fan-out
  buffer nets and a clock net; :func:`netlist_design` wraps it for
  :func:`gsr_eda.graph.build_adjacency`. The scaling benchmark's input, from 10k to 1M cells:
  without a placement, "local" means within :data:`NEIGHBOUR_WINDOW` cell indices of the
  driver, where ``generate_design`` takes the driver's nearest neighbours on the die.

Every generator draws from the ``numpy.random.Generator`` or seed it is given, in a fixed order:
one seed, one graph.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from gsr_eda.design import GcellGrid, PlacedDesign
from gsr_eda.synth.generator import draw_fanout

#: Sinks of a netlist's signal net are drawn within this many cells of their driver.
NEIGHBOUR_WINDOW = 48
CELLS_PER_BUFFER_NET = 2000
CLOCK_EVERY = 10


def hub_graph(num_nodes: int = 40000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(indptr, indices)``: degrees mostly ~10-30, degree-1 rows, and three hubs of 4,000-9,000."""
    rng = np.random.default_rng(seed)
    degree = rng.geometric(1 / 20, num_nodes).astype(np.int64)
    degree[rng.random(num_nodes) < 0.1] = 1
    degree[:3] = [min(h, num_nodes) for h in (9000, 8500, 4000)]
    indptr = np.concatenate(([0], np.cumsum(degree)))
    return indptr, rng.integers(0, num_nodes, indptr[-1])


def random_pairs_csr(rng: np.random.Generator, num_nodes: int, avg_degree: float) -> sp.csr_matrix:
    """``num_nodes * avg_degree / 2`` uniform random node pairs, both directions, as a CSR matrix
    with sorted columns: no self loops, and a pair drawn ``m`` times is one entry of value ``m``."""

    num_pairs = max(1, int(num_nodes * avg_degree / 2))
    rows = rng.integers(0, num_nodes, num_pairs)
    cols = rng.integers(0, num_nodes, num_pairs)
    keep = rows != cols
    rows, cols = rows[keep], cols[keep]
    adjacency = sp.csr_matrix(
        (
            np.ones(2 * len(rows), dtype=np.float32),
            (np.concatenate([rows, cols]), np.concatenate([cols, rows])),
        ),
        shape=(num_nodes, num_nodes),
    )
    adjacency.sum_duplicates()
    adjacency.sort_indices()
    return adjacency


def circuit_netlist(num_cells: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(net_ptr, pin_node)`` of a circuit-like netlist, driver first in each net."""
    rng = np.random.default_rng(seed)
    fanout = draw_fanout(rng, num_cells)
    drivers = np.arange(num_cells)
    sink_driver = np.repeat(drivers, fanout)
    offsets = rng.integers(1, NEIGHBOUR_WINDOW + 1, sink_driver.size) * rng.choice([-1, 1], sink_driver.size)
    sinks = np.clip(sink_driver + offsets, 0, num_cells - 1)
    # Each signal net as [driver, sinks...] in one flat array.
    net_sizes = fanout + 1
    starts = np.zeros(num_cells + 1, dtype=np.int64)
    np.cumsum(net_sizes, out=starts[1:])
    pins = np.empty(starts[-1], dtype=np.int64)
    pins[starts[:-1]] = drivers
    sink_slots = np.ones(starts[-1], dtype=bool)
    sink_slots[starts[:-1]] = False
    pins[sink_slots] = sinks
    extra_nets = []
    for buffer in rng.integers(0, num_cells, max(1, num_cells // CELLS_PER_BUFFER_NET)):
        size = int(rng.integers(100, 301))
        extra_nets.append(np.r_[buffer, rng.integers(0, num_cells, size)])
    extra_nets.append(np.r_[0, np.arange(CLOCK_EVERY, num_cells, CLOCK_EVERY)])  # the clock net
    extra_sizes = np.array([len(net) for net in extra_nets], dtype=np.int64)
    net_ptr = np.r_[starts, starts[-1] + np.cumsum(extra_sizes)]
    pin_node = np.concatenate([pins, *extra_nets])
    return net_ptr.astype(np.int64), pin_node.astype(np.int64)


def netlist_design(num_cells: int, net_ptr: np.ndarray, pin_node: np.ndarray) -> PlacedDesign:
    """A :class:`PlacedDesign` carrying only what the net models read (the netlist)."""
    zeros = np.zeros(num_cells)
    flags = np.zeros(num_cells, dtype=bool)
    num_nets = len(net_ptr) - 1
    return PlacedDesign(
        name=f"synthetic-{num_cells}",
        dbu_per_micron=1000.0,
        die=(0.0, 0.0, 1.0, 1.0),
        grid=GcellGrid.uniform(0.0, 0.0, 1.0, 1.0, 1.0, 1.0),
        node_names=np.full(num_cells, "c"),
        node_masters=np.full(num_cells, "CELL"),
        width=zeros,
        height=zeros,
        x=zeros,
        y=zeros,
        is_fixed=flags,
        is_macro=flags,
        is_io=flags,
        net_names=np.full(num_nets, "n"),
        net_use=np.full(num_nets, "SIGNAL"),
        net_ptr=net_ptr,
        pin_node=pin_node,
        pin_dx=np.zeros(len(pin_node), np.float32),
        pin_dy=np.zeros(len(pin_node), np.float32),
    )
