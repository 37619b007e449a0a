"""Small hand-built design records, so store tests do not depend on the readers or features."""

from __future__ import annotations

import numpy as np
import pytest

from gsr_eda.design import GcellGrid, PlacedDesign, RoutingCapacity
from gsr_eda.store import DesignRecord


def tiny_design(name: str = "tiny", num_nodes: int = 6) -> PlacedDesign:
    """``num_nodes`` cells in a row on a 4 x 3 grid of 2.5 um gcells, chained by 2-pin nets plus one 3-pin net."""
    rng = np.random.default_rng(len(name) + num_nodes)
    n = num_nodes
    pins = [[i, i + 1] for i in range(n - 1)] + [[0, n // 2, n - 1]]
    net_ptr = np.cumsum([0] + [len(p) for p in pins]).astype(np.int64)
    grid = GcellGrid.uniform(0.0, 0.0, 10.0, 7.5, 2.5, 2.5)
    return PlacedDesign(
        name=name,
        dbu_per_micron=1000.0,
        die=(0.0, 0.0, 10.0, 7.5),
        grid=grid,
        node_names=np.array([f"u{i}/\u00e9\\[{i}\\]" for i in range(n)]),
        node_masters=np.array(["INV_X1"] * (n - 1) + ["RAM"]),
        width=rng.uniform(0.2, 1.0, n),
        height=np.full(n, 0.27),
        x=np.linspace(0.0, 8.0, n),
        y=rng.uniform(0.0, 7.0, n),
        is_fixed=np.arange(n) == n - 1,
        is_macro=np.arange(n) == n - 1,
        is_io=np.zeros(n, dtype=bool),
        net_names=np.array([f"n{j}" for j in range(len(pins))]),
        net_use=np.array(["SIGNAL"] * (len(pins) - 1) + ["CLOCK"]),
        net_ptr=net_ptr,
        pin_node=np.concatenate(pins).astype(np.int64),
        pin_dx=rng.uniform(0, 0.2, int(net_ptr[-1])).astype(np.float32),
        pin_dy=rng.uniform(0, 0.2, int(net_ptr[-1])).astype(np.float32),
        capacity=RoutingCapacity(np.full(grid.shape, 30.0), np.full(grid.shape, 28.5)),
        source={"def": "/data/tiny.def", "lef": "/data/tiny.lef"},
    )


def clique_csr(design: PlacedDesign) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric clique adjacency of the nets, without self loops or duplicates."""
    n = design.num_nodes
    adj = np.zeros((n, n), dtype=bool)
    for j in range(design.num_nets):
        members = design.pin_node[design.net_ptr[j] : design.net_ptr[j + 1]]
        adj[np.ix_(members, members)] = True
    np.fill_diagonal(adj, False)
    indptr = np.concatenate([[0], np.cumsum(adj.sum(1))]).astype(np.int64)
    indices = np.nonzero(adj)[1].astype(np.int32)
    return indptr, indices


def tiny_record(name: str = "tiny", num_nodes: int = 6, labels: bool = True, split: bool = True) -> DesignRecord:
    design = tiny_design(name, num_nodes)
    indptr, indices = clique_csr(design)
    rng = np.random.default_rng(num_nodes)
    gcell = rng.uniform(0, 2, design.grid.shape).astype(np.float32) if labels else None
    return DesignRecord(
        name=name,
        design=design,
        indptr=indptr,
        indices=indices,
        net_model="clique",
        net_cap=0,
        features=rng.normal(size=(num_nodes, 3)).astype(np.float32),
        feature_names=["cell_width", "cell_height", "pin_count"],
        cell_labels=rng.uniform(0, 2, num_nodes).astype(np.float32) if labels else None,
        gcell_labels=gcell,
        label_name="gr_overflow" if labels else None,
        label_source="/data/labels.npy" if labels else None,
        label_is_proxy=False,
        label_reduce="mean",
        node_split=(np.arange(num_nodes) % 3).astype(np.int8) if split else None,
        metadata={"ingest": {"net_model": "clique"}, "counts": {"dropped": 3}},
    )


@pytest.fixture
def make_record():
    return tiny_record
