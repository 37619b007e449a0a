"""Benchmark: position_features, build_adjacency and the proxy label on real designs.

Run from the repository root (needs ../shared/data)::

    .venv/bin/python benchmarks/bench_features.py [--repeat 20]

Reports the median wall time of each call on ASAP7 aes_place (DEF/LEF) and CircuitNet
zero-riscy-a, with node / edge counts per net model. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _median_seconds(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _designs():
    from gsr_eda.ingest.circuitnet import read_circuitnet_design
    from gsr_eda.ingest.def_design import read_def_design

    asap7 = DATA / "openroad" / "asap7"
    yield (
        "asap7 aes_place",
        read_def_design(
            asap7 / "aes_place.def", [asap7 / "asap7_tech_1x_201209.lef", asap7 / "asap7sc7p5t_28_R_1x_220121a.lef"]
        ),
    )
    design, _ = read_circuitnet_design(DATA / "circuitnet", "zero-riscy-a-1-c2", "7157-zero-riscy-a-1-c2-u0.8-m1-p1-f0")
    yield "CircuitNet zero-riscy-a", design


def main() -> None:
    from gsr_eda.graph import NET_MODELS, build_adjacency, position_features
    from gsr_eda.labels import proxy_congestion

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed repetitions per call (median reported)")
    args = parser.parse_args()
    for name, design in _designs():
        print(
            f"{name}: {design.num_nodes} nodes, {design.num_nets} nets, {design.num_pins} pins, "
            f"grid {design.grid.shape}"
        )
        t = _median_seconds(lambda design=design: position_features(design, design.x, design.y), args.repeat)
        print(f"  position_features          {1e3 * t:8.1f} ms")
        t = _median_seconds(lambda design=design: proxy_congestion(design), args.repeat)
        print(f"  proxy_congestion           {1e3 * t:8.1f} ms")
        for model in NET_MODELS:
            repeat = max(1, args.repeat // 10) if model == "clique" else args.repeat
            _, indices = build_adjacency(design, model)
            t = _median_seconds(lambda design=design, model=model: build_adjacency(design, model), repeat)
            print(
                f"  build_adjacency {model:<13} {1e3 * t:8.1f} ms  nnz {len(indices):>9,} "
                f"({len(indices) // 2:,} undirected edges)"
            )


if __name__ == "__main__":
    main()
