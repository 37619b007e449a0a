"""Small synthetic graph stores for the trainer tests (built with the real store writer)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gsr_eda.design import GcellGrid, PlacedDesign


def random_design(name: str, num_cells: int = 300, seed: int = 0) -> PlacedDesign:
    """Cells scattered over a 60 x 60 um die with local 2-5 pin nets and a dense corner (a hotspot)."""
    rng = np.random.default_rng(seed)
    die = 60.0
    xy = rng.uniform(0, die - 2, (num_cells, 2))
    xy[: num_cells // 3] = rng.uniform(0, die / 3, (num_cells // 3, 2))  # crowded lower-left corner
    order = np.lexsort((xy[:, 1] // 6, xy[:, 0] // 6))
    nets, ptr = [], [0]
    for start in range(0, num_cells - 4, 3):
        size = int(rng.integers(2, 6))
        members = order[start : start + size]
        nets.extend(members.tolist())
        ptr.append(len(nets))
    width = rng.uniform(0.5, 2.0, num_cells)
    return PlacedDesign(
        name=name,
        dbu_per_micron=1000.0,
        die=(0.0, 0.0, die, die),
        grid=GcellGrid.uniform(0.0, 0.0, die, die, 3.0, 3.0),
        node_names=np.array([f"u{i}" for i in range(num_cells)]),
        node_masters=np.array(["INV_X1"] * num_cells),
        width=width,
        height=np.full(num_cells, 1.2),
        x=xy[:, 0],
        y=xy[:, 1],
        is_fixed=np.zeros(num_cells, bool),
        is_macro=np.zeros(num_cells, bool),
        is_io=np.zeros(num_cells, bool),
        net_names=np.array([f"n{j}" for j in range(len(ptr) - 1)]),
        net_use=np.array(["SIGNAL"] * (len(ptr) - 1)),
        net_ptr=np.array(ptr, dtype=np.int64),
        pin_node=np.array(nets, dtype=np.int64),
        pin_dx=np.zeros(len(nets), np.float32),
        pin_dy=np.zeros(len(nets), np.float32),
    )


def make_store(path: Path, num_designs: int, num_cells: int = 300) -> Path:
    from gsr_eda.ingest.build import build_record
    from gsr_eda.labels.proxy import proxy_congestion
    from gsr_eda.store import write_designs

    records = []
    for i in range(num_designs):
        design = random_design(f"design{i}", num_cells, seed=i)
        records.append(build_record(design, label=proxy_congestion(design, measure="utilisation")))
    write_designs(path, records)
    return path


@pytest.fixture(scope="session")
def one_design_store(tmp_path_factory) -> Path:
    return make_store(tmp_path_factory.mktemp("store1") / "one.h5", 1)


@pytest.fixture(scope="session")
def four_design_store(tmp_path_factory) -> Path:
    return make_store(tmp_path_factory.mktemp("store4") / "four.h5", 4, num_cells=200)


@pytest.fixture(scope="session")
def stored_split_store(tmp_path_factory) -> tuple[Path, dict[str, np.ndarray]]:
    """Two labelled designs whose records carry a node split (train 0, val 1, test 2)."""
    import dataclasses

    from gsr_eda.ingest.build import build_record
    from gsr_eda.labels.proxy import proxy_congestion
    from gsr_eda.store import write_designs

    splits, records = {}, []
    for i in range(2):
        design = random_design(f"design{i}", 120, seed=i)
        record = build_record(design, label=proxy_congestion(design, measure="utilisation"))
        splits[record.name] = np.array([0, 1, 0, 2] * 30, dtype=np.int8)
        records.append(dataclasses.replace(record, node_split=splits[record.name]))
    path = tmp_path_factory.mktemp("stored_split") / "split.h5"
    write_designs(path, records)
    return path, splits
