"""How big a warp's part of the nonzeros should be on the GPU: the warp-per-part kernels timed on one
design at several partition sizes (``CSRAdjacency``'s work per part on CUDA).

    python benchmarks/bench_cuda_parts.py --store zr.h5 --costs 512,256,128,64,32,16 \
        --out benchmarks/results/gpu-h200/part_cost_sweep.json

Each figure is the median of ``--repeats`` CUDA-event timings after 3 warm-up calls: the dense
product A @ H at two widths, the CBSR product A @ S(V, I) and the sampled backward (A^T G at I).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import torch

import gsr_eda.ops.adjacency as adjacency
from gsr_eda.bench.config import GraphSpec
from gsr_eda.bench.graph_source import load_graph
from gsr_eda.ops import CSRAdjacency, kernels, row_topk


def median_ms(call: Callable[[], None], repeats: int) -> float:
    """Median device time of ``call`` in milliseconds, from CUDA events."""
    for _ in range(3):
        call()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        call()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return sorted(times)[repeats // 2]


def sweep_row(graph, cost: int, repeats: int, k: int = 8) -> dict:
    """The kernels' times with parts of ``cost`` units of work."""
    adjacency._CUDA_PART_COST = cost
    n = graph.num_nodes
    adj = CSRAdjacency.from_csr(graph.indptr, graph.indices, n, normalization="mean", device="cuda")
    row: dict = {"part_cost": cost, "parts": int(adj._parts.shape[0])}
    for d in (192, 384):
        dense, out = torch.randn(n, d, device="cuda"), torch.empty(n, d, device="cuda")
        row[f"csr_spmm_d{d}_ms"] = median_ms(
            lambda dense=dense, out=out: kernels.csr_spmm_into(adj, dense, out, False), repeats
        )
    values, indices = row_topk(torch.randn(n, 192, device="cuda"), k)
    out = torch.empty(n, 192, device="cuda")
    row[f"cbsr_spmm_d192_k{k}_ms"] = median_ms(lambda: kernels.cbsr_spmm_into(adj, values, indices, 192, out), repeats)
    grad, grad_values = torch.randn(n, 192, device="cuda"), torch.empty(n, k, device="cuda")
    row[f"sampled_spmm_d192_k{k}_ms"] = median_ms(
        lambda: kernels.sampled_spmm_into(adj, grad, indices, grad_values), repeats
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="Graph store holding the design.")
    parser.add_argument("--design", default=None, help="Design (default: the store's only one).")
    parser.add_argument("--costs", default="512,256,128,64,32,16", help="Comma-separated work per part.")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None, help="Write the rows to this JSON file.")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("bench_cuda_parts.py needs a CUDA device")
    graph = load_graph(GraphSpec(kind="store", path=str(args.store), design=args.design))
    rows = []
    for cost in (int(c) for c in args.costs.split(",")):
        rows.append(sweep_row(graph, cost, args.repeats))
        print(json.dumps(rows[-1]), flush=True)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
