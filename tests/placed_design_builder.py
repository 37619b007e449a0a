"""Build small hand-made PlacedDesigns for tests (importable because tests/ holds conftest.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gsr_eda.design import GcellGrid, PlacedDesign, RoutingCapacity


def make_design(
    boxes: Sequence[tuple[float, float, float, float]],
    nets: Sequence[Sequence[int]],
    *,
    die: tuple[float, float, float, float] = (0.0, 0.0, 10.0, 10.0),
    gcell: float = 1.0,
    capacity: tuple[float, float] | None = None,
    is_io: Sequence[bool] | None = None,
    is_fixed: Sequence[bool] | None = None,
    is_macro: Sequence[bool] | None = None,
    pins_at_centre: bool = True,
) -> PlacedDesign:
    """A design from node boxes ``(x, y, w, h)`` and nets as lists of node indices (pin order).

    Pins sit at node centres (``pins_at_centre``) or lower-left corners. ``capacity`` gives uniform
    (horizontal, vertical) tracks per gcell.
    """
    n = len(boxes)
    arr = np.asarray(boxes, dtype=np.float64).reshape(n, 4)
    grid = GcellGrid.uniform(*die, gcell, gcell)
    pin_node = np.asarray([v for net in nets for v in net], dtype=np.int64)
    net_ptr = np.zeros(len(nets) + 1, dtype=np.int64)
    net_ptr[1:] = np.cumsum([len(net) for net in nets])
    scale = 0.5 if pins_at_centre else 0.0
    flags = lambda given: np.zeros(n, bool) if given is None else np.asarray(given, bool)  # noqa: E731
    cap = None
    if capacity is not None:
        cap = RoutingCapacity(np.full(grid.shape, capacity[0], float), np.full(grid.shape, capacity[1], float))
    design = PlacedDesign(
        name="handmade",
        dbu_per_micron=1000.0,
        die=die,
        grid=grid,
        node_names=np.asarray([f"u{i}" for i in range(n)]),
        node_masters=np.asarray(["CELL"] * n),
        width=arr[:, 2].copy(),
        height=arr[:, 3].copy(),
        x=arr[:, 0].copy(),
        y=arr[:, 1].copy(),
        is_fixed=flags(is_fixed),
        is_macro=flags(is_macro),
        is_io=flags(is_io),
        net_names=np.asarray([f"n{j}" for j in range(len(nets))]),
        net_use=np.asarray(["SIGNAL"] * len(nets)),
        net_ptr=net_ptr,
        pin_node=pin_node,
        pin_dx=(scale * arr[pin_node, 2]).astype(np.float32) if len(pin_node) else np.zeros(0, np.float32),
        pin_dy=(scale * arr[pin_node, 3]).astype(np.float32) if len(pin_node) else np.zeros(0, np.float32),
        capacity=cap,
    )
    design.validate()
    return design


def random_design(num_nodes: int, num_nets: int, seed: int = 0, die: float = 20.0) -> PlacedDesign:
    """A random design with a realistic degree mix (mostly 2-3 pins, a few large nets)."""
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.2, 1.5, num_nodes)
    h = rng.uniform(0.2, 1.5, num_nodes)
    boxes = np.stack([rng.uniform(0, die - w), rng.uniform(0, die - h), w, h], axis=1)
    degrees = np.minimum(rng.geometric(0.45, num_nets) + 1, num_nodes)
    degrees[: max(1, num_nets // 50)] = rng.integers(10, min(40, num_nodes) + 1, max(1, num_nets // 50))
    nets = [list(rng.choice(num_nodes, size=int(d), replace=True)) for d in degrees]
    return make_design([tuple(b) for b in boxes], nets, die=(0.0, 0.0, die, die), gcell=1.0)
