"""read_circuitnet_design on the two real CircuitNet samples and on small crafted ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gsr_eda.errors import InputError
from gsr_eda.ingest import read_circuitnet_design

SAMPLES = {
    "zero-riscy-a-1-c2": "7157-zero-riscy-a-1-c2-u0.8-m1-p1-f0",
    "zero-riscy-b-1-c2": "9276-zero-riscy-b-1-c2-u0.85-m1-p1-f1",
}


@pytest.mark.parametrize("base", sorted(SAMPLES))
def test_real_designs_intersection_report(shared_data: Path, base: str):
    root = shared_data / "circuitnet"
    design, report = read_circuitnet_design(root, base, SAMPLES[base])
    node_attr = np.load(root / "graph_information" / "node_attr" / f"{base}_node_attr.npy", allow_pickle=True)
    placement = np.load(root / "instance_placement_gcell" / f"{SAMPLES[base]}.npy", allow_pickle=True).item()
    common = set(node_attr[0]) & set(placement)
    assert report["pin_attr_order"] == "name,net,node"
    assert report["netlist_nodes"] == node_attr.shape[1]
    assert report["placement_instances"] == len(placement)
    assert report["kept"] == len(common) == design.num_nodes
    assert report["dropped_netlist_only"] == node_attr.shape[1] - len(common)
    assert report["dropped_placement_only"] == len(placement) - len(common)
    assert report["nets"] == design.num_nets and report["pins"] == design.num_pins
    design.validate()
    # Positions come from the inclusive gcell boxes.
    k = int(np.flatnonzero(design.node_names == "clk_rst_gen_i/PLL_i")[0])
    left, bottom, right, top = placement["clk_rst_gen_i/PLL_i"]
    assert (design.x[k], design.y[k]) == (left, bottom)
    assert (design.width[k], design.height[k]) == (right - left + 1, top - bottom + 1)
    assert design.is_macro[k] and design.node_masters[k] == "PLL"
    # Standard cells are not macros; the SRAMs are.
    srams = design.node_masters == "SRAM"
    assert srams.sum() == 2 and design.is_macro[srams].all()
    assert not design.is_macro[design.node_masters == "DFCNQ_x1_0"].any()
    # One gcell per CircuitNet gcell, from index 0 to the last occupied one.
    boxes = np.array([placement[n] for n in common])
    assert design.grid.shape == (boxes[:, 2].max() + 1, boxes[:, 3].max() + 1)


def test_real_design_counts_a(shared_data: Path):
    _, report = read_circuitnet_design(
        shared_data / "circuitnet", "zero-riscy-a-1-c2", SAMPLES["zero-riscy-a-1-c2"], gcell_size_um=1.5
    )
    assert report["kept"] == 38656
    assert report["dropped_netlist_only"] == 3446 and report["dropped_placement_only"] == 1043


def _write_sample(root: Path, swap_rows: bool = False, placement: object = None) -> None:
    """Three nodes (one only in the netlist), three nets, a bus pin listing a net twice."""
    for kind in ("node_attr", "net_attr", "pin_attr"):
        (root / "graph_information" / kind).mkdir(parents=True, exist_ok=True)
    (root / "instance_placement_gcell").mkdir(parents=True, exist_ok=True)
    nodes = np.array([["a", "b", "ghost"], ["INV_x1_0", "SRAM", "ND2_x1_0"]], dtype=object)
    nets = np.array([["n0", "n1", "n2"]], dtype=object)
    pins = np.empty((3, 5), dtype=object)
    pins[0] = ["ZN", "A", "DO", "B", "Z"]
    net_row = [0, 0, [1, 1], 1, 2]
    node_row = [0, 1, 1, 0, 2]
    pins[1], pins[2] = (node_row, net_row) if swap_rows else (net_row, node_row)
    np.save(root / "graph_information" / "node_attr" / "d_node_attr.npy", nodes, allow_pickle=True)
    np.save(root / "graph_information" / "net_attr" / "d_net_attr.npy", nets, allow_pickle=True)
    np.save(root / "graph_information" / "pin_attr" / "d_pin_attr.npy", pins, allow_pickle=True)
    boxes = placement if placement is not None else {"a": [1, 1, 1, 1], "b": [2, 0, 40, 9], "FE_OFC1": [0, 0, 0, 0]}
    np.save(root / "instance_placement_gcell" / "p.npy", np.array(boxes, dtype=object), allow_pickle=True)


@pytest.mark.parametrize("swap_rows", [False, True])
def test_crafted_sample_and_row_order(tmp_path: Path, swap_rows: bool):
    _write_sample(tmp_path, swap_rows)
    design, report = read_circuitnet_design(tmp_path, "d", "p", gcell_size_um=2.0, grid_shape=(50, 12))
    assert report["pin_attr_order"] == ("name,node,net" if swap_rows else "name,net,node")
    assert list(design.node_names) == ["a", "b"]
    assert report["dropped_netlist_only"] == 1 and report["dropped_placement_only"] == 1
    assert report["nets_dropped_empty"] == 1  # n2 only reached "ghost"
    assert list(design.net_names) == ["n0", "n1"]
    np.testing.assert_array_equal(design.net_ptr, [0, 2, 4])  # the bus pin joins n1 once
    assert design.x[1] == 4.0 and design.width[1] == 78.0 and design.is_macro.tolist() == [False, True]
    assert design.grid.shape == (50, 12) and design.die == (0.0, 0.0, 100.0, 24.0)
    np.testing.assert_allclose(design.pin_dx, 0.5 * design.width[design.pin_node])


def test_crafted_errors(tmp_path: Path):
    _write_sample(tmp_path)
    with pytest.raises(InputError, match="placement file not found"):
        read_circuitnet_design(tmp_path, "d", "nope")
    with pytest.raises(InputError, match="does not cover the placement extent"):
        read_circuitnet_design(tmp_path, "d", "p", grid_shape=(10, 10))
    with pytest.raises(InputError, match="file not found"):
        read_circuitnet_design(tmp_path, "other", "p")
    _write_sample(tmp_path, placement={"zzz": [0, 0, 1, 1]})
    with pytest.raises(InputError, match="no netlist instance of d appears in the placement"):
        read_circuitnet_design(tmp_path, "d", "p")
    _write_sample(tmp_path, placement={"a": [3, 0, 1, 1]})
    with pytest.raises(InputError, match="right < left"):
        read_circuitnet_design(tmp_path, "d", "p")
