"""The benchmarks' synthetic netlist draws its fan-out from the design generator's law."""

from __future__ import annotations

import numpy as np

from gsr_eda.synth.generator import FANOUT_VALUES, draw_fanout
from gsr_eda.synth.graphs import NEIGHBOUR_WINDOW, circuit_netlist


def test_circuit_netlist_signal_nets_follow_the_generator_fanout_law():
    cells, seed = 3000, 11
    net_ptr, pin_node = circuit_netlist(cells, seed)
    sizes = np.diff(net_ptr)
    # One signal net per cell, driver first, then the buffer nets and the clock net.
    expected = draw_fanout(np.random.default_rng(seed), cells) + 1
    np.testing.assert_array_equal(sizes[:cells], expected)
    assert set(np.unique(sizes[:cells] - 1)) <= set(FANOUT_VALUES.tolist())
    np.testing.assert_array_equal(pin_node[net_ptr[:cells]], np.arange(cells))
    sinks = np.delete(pin_node[: net_ptr[cells]], net_ptr[:cells])
    drivers = np.repeat(np.arange(cells), sizes[:cells] - 1)
    assert np.abs(sinks - drivers).max() <= NEIGHBOUR_WINDOW


def test_circuit_netlist_is_one_graph_per_seed():
    a, b, c = circuit_netlist(500, 1), circuit_netlist(500, 1), circuit_netlist(500, 2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[1], c[1])
