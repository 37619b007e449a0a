"""How many netlist hops away is what sets a cell's congestion label? The data behind "deep vs shallow".

The proxy label of a cell is the routing demand of the gcells it covers, and that demand comes
from every net whose bounding box crosses them. An ``L``-layer message-passing model sees a net
only if one of the net's cells lies within ``L`` hops of the cell in the graph it runs on (the
store's adjacency: the capped clique by default). For sampled cells of each design this reports:

* ``nets seen``: the share of the nets crossing the cell's gcell that have a cell within ``L``
  hops (``L = 0``: the nets the cell is on), averaged over the sampled cells;
* ``design reached``: the share of the design's cells within ``L`` hops, the scale at which a
  deep model starts averaging over everything.

A net crosses a gcell when the gcell lies in the box of its pins' gcells. Each sampled cell's
gcell is the one holding its lower-left corner; cells are sampled among the movable standard
cells (not IO, fixed or macro), with a fixed seed.

    python benchmarks/bench_label_locality.py --store build/bench_quality/proxy.h5 \\
        --out benchmarks/results/quality/label_locality.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

from gsr_eda.graph.gcell_maps import pin_positions
from gsr_eda.store import GraphStore

HOPS = (0, 1, 2, 4, 8, 16, 32)


def net_gcell_boxes(design) -> tuple[np.ndarray, np.ndarray]:
    """``(boxes (M, 4) [gx0, gy0, gx1, gy1], pins per net)`` from the pins' gcells."""
    gx, gy = design.grid.locate(*pin_positions(design, design.x, design.y))
    starts, counts = design.net_ptr[:-1], np.diff(design.net_ptr)
    boxes = np.zeros((len(counts), 4), np.int64)
    has_pins = counts > 0
    for column, values, reduce in ((0, gx, np.minimum), (1, gy, np.minimum), (2, gx, np.maximum), (3, gy, np.maximum)):
        boxes[has_pins, column] = reduce.reduceat(values, starts[has_pins])
    return boxes, counts


def design_row(record, samples: int, seed: int) -> dict:
    """The two shares at every hop count of :data:`HOPS` for ``samples`` cells of one design."""
    design = record.design
    n = record.num_nodes
    graph = csr_matrix((np.ones(len(record.indices)), record.indices, record.indptr), shape=(n, n))
    movable = np.flatnonzero(~(design.is_io | design.is_fixed | design.is_macro))
    rng = np.random.default_rng(seed)
    cells = rng.choice(movable, size=min(samples, len(movable)), replace=False)
    hops = shortest_path(graph, method="D", unweighted=True, indices=cells)  # (S, N), inf if unreachable
    boxes, pins = net_gcell_boxes(design)
    wires = np.flatnonzero(pins >= 2)
    net_of_pin = np.repeat(np.arange(len(pins)), pins)
    home_x, home_y = design.grid.locate(design.x[cells], design.y[cells])
    seen: dict[int, list[float]] = {h: [] for h in HOPS}
    reached: dict[int, list[float]] = {h: [] for h in HOPS}
    crossing_counts = []
    b = boxes[wires]
    for row, (gx, gy) in enumerate(zip(home_x, home_y)):
        crossing = wires[(b[:, 0] <= gx) & (gx <= b[:, 2]) & (b[:, 1] <= gy) & (gy <= b[:, 3])]
        crossing_counts.append(len(crossing))
        # The nearest cell of each crossing net: its pins' owners' hop distances, min per net.
        nearest = np.full(len(pins), np.inf)
        np.minimum.at(nearest, net_of_pin, hops[row, design.pin_node])
        for h in HOPS:
            if len(crossing):
                seen[h].append(float(np.mean(nearest[crossing] <= h)))
            reached[h].append(float(np.mean(hops[row] <= h)))
    return {
        "design": record.name,
        "cells": n,
        "sampled": len(cells),
        "mean_crossing_nets": float(np.mean(crossing_counts)),
        "nets_seen": {str(h): round(float(np.mean(v)), 4) for h, v in seen.items()},
        "design_reached": {str(h): round(float(np.mean(v)), 4) for h, v in reached.items()},
    }


def markdown(rows: list[dict]) -> str:
    head = "| design | crossing nets per gcell | " + " | ".join(f"L = {h}" for h in HOPS) + " |"
    lines = [head, "|---|---:|" + "---|" * len(HOPS)]
    for row in rows:
        cells = [f"{row['nets_seen'][str(h)]:.2f} / {row['design_reached'][str(h)]:.3f}" for h in HOPS]
        lines.append(f"| {row['design']} | {row['mean_crossing_nets']:.0f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\n(nets seen / design reached, mean over the sampled cells)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--samples", type=int, default=300, help="cells sampled per design")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with GraphStore(args.store) as store:
        rows = [design_row(store.read(name), args.samples, args.seed) for name in sorted(store.designs)]
    print(markdown(rows))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"store": str(args.store), "hops": HOPS, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
