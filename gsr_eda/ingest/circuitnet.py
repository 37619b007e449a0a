"""Read a CircuitNet design (netlist graph + one placement sample) into a :class:`PlacedDesign`.

Files under ``root`` (all untrusted pickled ``.npy``, read with :func:`load_untrusted_npy`):

* ``graph_information/node_attr/<base>_node_attr.npy`` ``(2, N)``: instance name, cell type;
* ``graph_information/net_attr/<base>_net_attr.npy`` ``(1, M)``: net names;
* ``graph_information/pin_attr/<base>_pin_attr.npy`` ``(3, P)``: pin name, net index (an int, or
  a list for the bus pins of macros), node index. An older revision of CircuitNet's docs
  swapped the last two rows, so the order is detected: the net row's maximum is ``M - 1``
  and the node row's ``N - 1`` (when ``M == N``, the row holding lists is the net row);
* ``instance_placement_gcell/<sample>.npy``: a dict instance -> ``[left, bottom, right, top]``
  in inclusive gcell indices.

Netlist and placement names only partly agree (buffers inserted after synthesis exist only in
the placement; some netlist nodes were optimised away), so the design is built on their
intersection and the counts are reported. CircuitNet gives no pin offsets: pins sit at the
cell centre. Nets carry no USE: all are ``SIGNAL``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from gsr_eda.design import GcellGrid, PlacedDesign
from gsr_eda.errors import InputError
from gsr_eda.ingest.safe_npy import load_untrusted_npy

# CircuitNet's encrypted standard cells are named like ``DFCNQ_x1_0`` / ``OAI21_0100_x4_0`` or
# ``TIEL_0000``; anything else (``PLL``, ``SRAM``, hierarchical blocks) is a macro.
_STANDARD_CELL = re.compile(r"(_x\d+_\d+|^TIE[HL]_\d+)$")
# A standard cell covers at most 8 gcells in both samples; macros cover thousands.
MACRO_MIN_GCELLS = 16


def _graph_file(root: Path, kind: str, base: str) -> Path:
    return root / "graph_information" / kind / f"{base}_{kind}.npy"


def _resolve_placement(root: Path, placement: str | Path) -> Path:
    """A placement given as a path, or as a sample name under ``root/instance_placement_gcell``."""
    candidate = Path(placement)
    if candidate.is_file():
        return candidate
    for name in (str(placement), f"{placement}.npy"):
        under_root = root / "instance_placement_gcell" / name
        if under_root.is_file():
            return under_root
    raise InputError(
        "placement file not found (give a path or a sample name under instance_placement_gcell/)", candidate
    )


def _pin_rows(pin_attr: np.ndarray, num_nets: int, num_nodes: int, path: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """Flatten pin_attr into (net, node) pairs, detecting which row holds which."""
    if pin_attr.ndim != 2 or pin_attr.shape[0] != 3:
        raise InputError(f"pin_attr must have shape (3, P), got {pin_attr.shape}", path)

    def row_max(row: np.ndarray) -> int:
        flat = [
            max(v) if isinstance(v, (list, tuple)) else v for v in row if not isinstance(v, (list, tuple)) or len(v)
        ]
        return int(max(flat)) if flat else -1

    max1, max2 = row_max(pin_attr[1]), row_max(pin_attr[2])
    current = max1 + 1 == num_nets and max2 + 1 == num_nodes
    older = max1 + 1 == num_nodes and max2 + 1 == num_nets
    if current and older:
        # Equal counts: only net entries can be lists (the bus pins of macros).
        older = any(isinstance(v, (list, tuple)) for v in pin_attr[2])
        current = not older
    if current:
        net_row, node_row, order = pin_attr[1], pin_attr[2], "name,net,node"
    elif older:
        net_row, node_row, order = pin_attr[2], pin_attr[1], "name,node,net"
    else:
        raise InputError(
            f"pin_attr rows do not fit the netlist: row maxima {max1}, {max2} vs {num_nets} nets, {num_nodes} nodes",
            path,
        )
    nets: list[int] = []
    nodes: list[int] = []
    for net, node in zip(net_row, node_row):
        if isinstance(node, (list, tuple)):
            raise InputError("pin_attr node row holds a list; expected one node per pin", path)
        # A bus pin lists its nets, sometimes the same one twice: one pin per distinct net.
        for n in dict.fromkeys(net) if isinstance(net, (list, tuple)) else (net,):
            nets.append(int(n))
            nodes.append(int(node))
    net_arr, node_arr = np.array(nets, dtype=np.int64), np.array(nodes, dtype=np.int64)
    if len(net_arr) and (net_arr.min() < 0 or node_arr.min() < 0):
        raise InputError("pin_attr has negative net or node indices", path)
    return net_arr, node_arr, order


def read_circuitnet_design(
    root: str | Path,
    base: str,
    placement: str | Path,
    *,
    gcell_size_um: float = 1.0,
    grid_shape: tuple[int, int] | None = None,
) -> tuple[PlacedDesign, dict]:
    """Build a :class:`PlacedDesign` from CircuitNet graph_information and one gcell placement.

    Each kept instance with gcell box ``[l, b, r, t]`` gets ``x = l * g``, ``y = b * g``,
    ``width = (r - l + 1) * g``, ``height = (t - b + 1) * g`` with ``g = gcell_size_um``. The
    grid has one gcell per CircuitNet gcell, from index 0 to the last occupied gcell, or
    ``grid_shape`` when given (pass a label map's shape so the two line up exactly).

    Returns the design and a report: ``netlist_nodes``, ``placement_instances``, ``kept``,
    ``dropped_netlist_only``, ``dropped_placement_only``, ``nets``, ``nets_dropped_empty``,
    ``pins``, ``macros`` and ``pin_attr_order``.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError("CircuitNet root directory not found", root)
    if not gcell_size_um > 0:
        raise InputError(f"gcell size must be positive, got {gcell_size_um}")
    node_path = _graph_file(root, "node_attr", base)
    net_path = _graph_file(root, "net_attr", base)
    pin_path = _graph_file(root, "pin_attr", base)
    placement_path = _resolve_placement(root, placement)
    node_attr = load_untrusted_npy(node_path)
    net_attr = load_untrusted_npy(net_path)
    pin_attr = load_untrusted_npy(pin_path)
    boxes_raw = load_untrusted_npy(placement_path)
    if node_attr.ndim != 2 or node_attr.shape[0] != 2:
        raise InputError(f"node_attr must have shape (2, N), got {node_attr.shape}", node_path)
    if net_attr.ndim != 2 or net_attr.shape[0] != 1:
        raise InputError(f"net_attr must have shape (1, M), got {net_attr.shape}", net_path)
    boxes = boxes_raw.item() if boxes_raw.shape == () else None
    if not isinstance(boxes, dict):
        raise InputError("instance placement must be a 0-d array holding a dict name -> [l, b, r, t]", placement_path)

    node_names = [str(n) for n in node_attr[0]]
    cell_types = [str(t) for t in node_attr[1]]
    net_names = [str(n) for n in net_attr[0]]
    pin_net, pin_node_netlist, order = _pin_rows(pin_attr, len(net_names), len(node_names), pin_path)

    # Intersection of netlist and placement, in netlist order.
    kept = [k for k, name in enumerate(node_names) if name in boxes]
    if not kept:
        raise InputError(f"no netlist instance of {base} appears in the placement", placement_path)
    try:
        box = np.array([boxes[node_names[k]] for k in kept], dtype=np.float64).reshape(len(kept), 4)
    except (TypeError, ValueError):
        raise InputError("placement boxes must be [left, bottom, right, top] numbers", placement_path) from None
    if np.any(box[:, 2] < box[:, 0]) or np.any(box[:, 3] < box[:, 1]) or box.min() < 0:
        raise InputError("placement has a box with right < left, top < bottom or a negative index", placement_path)

    g = float(gcell_size_um)
    x, y = box[:, 0] * g, box[:, 1] * g
    width, height = (box[:, 2] - box[:, 0] + 1) * g, (box[:, 3] - box[:, 1] + 1) * g
    extent = (int(box[:, 2].max()) + 1, int(box[:, 3].max()) + 1)
    if grid_shape is None:
        grid_shape = extent
    elif grid_shape[0] < extent[0] or grid_shape[1] < extent[1]:
        raise InputError(f"grid shape {tuple(grid_shape)} does not cover the placement extent {extent}", placement_path)
    nx, ny = grid_shape
    grid = GcellGrid(g * np.arange(nx + 1, dtype=np.float64), g * np.arange(ny + 1, dtype=np.float64))
    gcells = (box[:, 2] - box[:, 0] + 1) * (box[:, 3] - box[:, 1] + 1)
    is_macro = np.array([not _STANDARD_CELL.search(cell_types[k]) for k in kept]) | (gcells > MACRO_MIN_GCELLS)

    # Nets over kept nodes; nets left without pins are dropped.
    node_of = np.full(len(node_names), -1, dtype=np.int64)
    node_of[kept] = np.arange(len(kept))
    pin_node_all = node_of[pin_node_netlist]
    keep_pin = pin_node_all >= 0
    pin_net, pin_node = pin_net[keep_pin], pin_node_all[keep_pin]
    counts = np.bincount(pin_net, minlength=len(net_names))
    nonempty = np.flatnonzero(counts > 0)
    order_pins = np.argsort(pin_net, kind="stable")
    net_ptr = np.zeros(len(nonempty) + 1, dtype=np.int64)
    net_ptr[1:] = np.cumsum(counts[nonempty])
    pin_node = pin_node[order_pins]

    design = PlacedDesign(
        name=base,
        dbu_per_micron=1.0 / g,  # one "database unit" per gcell: positions write back as gcell indices
        die=(0.0, 0.0, nx * g, ny * g),
        grid=grid,
        node_names=np.array([node_names[k] for k in kept], dtype=object),
        node_masters=np.array([cell_types[k] for k in kept], dtype=object),
        width=width,
        height=height,
        x=x,
        y=y,
        is_fixed=is_macro.copy(),  # CircuitNet places macros before the standard cells
        is_macro=is_macro,
        is_io=np.zeros(len(kept), dtype=bool),
        net_names=np.array([net_names[j] for j in nonempty], dtype=object),
        net_use=np.array(["SIGNAL"] * len(nonempty), dtype=object),
        net_ptr=net_ptr,
        pin_node=pin_node,
        pin_dx=(0.5 * width[pin_node]).astype(np.float32),
        pin_dy=(0.5 * height[pin_node]).astype(np.float32),
        capacity=None,
        source={
            "circuitnet_root": str(root),
            "node_attr": str(node_path),
            "net_attr": str(net_path),
            "pin_attr": str(pin_path),
            "placement": str(placement_path),
        },
    )
    design.validate()
    report = {
        "netlist_nodes": len(node_names),
        "placement_instances": len(boxes),
        "kept": len(kept),
        "dropped_netlist_only": len(node_names) - len(kept),
        "dropped_placement_only": len(boxes) - len(kept),
        "nets": len(nonempty),
        "nets_dropped_empty": len(net_names) - len(nonempty),
        "pins": int(len(pin_node)),
        "macros": int(is_macro.sum()),
        "pin_attr_order": order,
    }
    return design, report
