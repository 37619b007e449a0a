#!/usr/bin/env python
"""GSR kernels against the PyTorch operations they replace, on CircuitNet zero-riscy-a.

The same measurement as ``gsr-eda bench kernels`` (see :mod:`gsr_eda.bench.kernels` for
what is timed against what), written to a JSON file for the results folder. The graph is built
from the raw CircuitNet files (38,656 placed cells) with the full-clique (5,965,822 nnz) and the
capped-clique-8 (300,818 nnz) net models; hidden 256 in 2 groups (d = 128), k = 8.

Usage::

    python benchmarks/bench_kernels.py --out benchmarks/results/kernels_cpu.json
    python benchmarks/bench_kernels.py --graph synthetic --device cuda --out kernels_cuda.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gsr_eda.bench.kernels import format_table, load_benchmark_graphs, run_kernel_benchmarks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph", choices=("circuitnet-zero-riscy-a", "synthetic"), default="circuitnet-zero-riscy-a")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--data-root", type=Path, default=None, help="folder holding circuitnet/")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--groups", type=int, default=2)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="write the JSON results here")
    args = parser.parse_args()
    results = run_kernel_benchmarks(
        load_benchmark_graphs(args.graph, args.data_root),
        device=args.device,
        dim=args.hidden // args.groups,
        k=args.k,
        repeats=args.repeats,
        threads=args.threads,
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(format_table(results))


if __name__ == "__main__":
    main()
