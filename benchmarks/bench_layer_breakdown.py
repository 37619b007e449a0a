#!/usr/bin/env python
"""Where the time goes in one GSR layer-group on the CPU: a per-kernel breakdown.

Times every piece of :class:`gsr_eda.nn.gsr_block.BlockWorkspace`'s forward and backward on
the CircuitNet zero-riscy-a graph (or ``--graph synthetic``), for both association orders of
``A @ S(V, I) @ W``, and sets each against a roofline floor: the bytes it must move over the
measured copy bandwidth, and its FLOPs over the measured dense GEMM rate (``torch.mm`` of
``N x d`` by ``d x d``). Times are the minimum of ``--repeats`` runs, which is the figure least
disturbed by other processes on a shared machine.

Usage::

    python benchmarks/bench_layer_breakdown.py --threads 2
    python benchmarks/bench_layer_breakdown.py --threads 1 --net-model clique --json out.json
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch


def min_time(fn: Callable[[], Any], repeats: int) -> float:
    """Minimum wall time of ``fn`` over ``repeats`` runs after one warm-up."""
    return min_times(fn, repeats)[0]


def min_times(fn: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Minimum wall time and minimum process CPU time (all threads) of ``fn``.

    On a loaded machine the CPU time of a 1-thread run is the steadier figure: it leaves out
    the time the thread waited for a core.
    """
    fn()
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return best_wall, best_cpu


def copy_bandwidth(megabytes: int = 256, repeats: int = 5) -> float:
    """Copy bandwidth in GB/s (bytes read + written) of a large torch copy, all threads."""
    src = torch.ones(megabytes * 2**20 // 4)
    dst = torch.empty_like(src)
    return 2 * src.nbytes / min_time(lambda: dst.copy_(src), repeats) / 1e9


def gemm_rate(n: int, d: int, repeats: int) -> float:
    """FLOP/s (2 per multiply-add) of ``torch.mm`` of ``n x d`` by ``d x d`` into a buffer."""
    a, w, out = torch.randn(n, d), torch.randn(d, d), torch.empty(n, d)
    return 2 * n * d * d / min_time(lambda: torch.mm(a, w, out=out), repeats)


def breakdown(indptr: np.ndarray, indices: np.ndarray, dim: int, k: int, repeats: int) -> dict[str, Any]:
    from gsr_eda.ops import CSRAdjacency, kernels
    from gsr_eda.ops.dtypes import index_dtype_for

    n = indptr.shape[0] - 1
    adj = CSRAdjacency.from_csr(indptr, indices, n, normalization="mean")
    nnz = adj.nnz
    g = torch.Generator().manual_seed(0)
    y = torch.randn(n, dim, generator=g)
    gamma, beta = torch.ones(dim), torch.zeros(dim)
    weight = torch.randn(dim, dim, generator=g) / dim**0.5
    bias = torch.randn(dim, generator=g)
    grad = torch.randn(n, dim, generator=g)
    values = torch.empty(n, k)
    idx = torch.empty(n, k, dtype=index_dtype_for(dim))
    mean, rstd = torch.empty(n), torch.empty(n)
    hidden, out, grad_hidden = (torch.empty(n, dim) for _ in range(3))
    grad_values = torch.empty(n, k)
    grad_w, grad_y = torch.empty(dim, dim), torch.empty(n, dim)
    grad_gamma, grad_beta, grad_b = torch.empty(dim), torch.empty(dim), torch.empty(dim)
    kernels.layernorm_topk_into(y, gamma, beta, 1e-5, values, idx, mean, rstd)

    f4, dense = 4, n * dim * 4
    csr = 8 * (n + 1) + 8 * nnz
    # (name, phase, fn, bytes that must move at least once, flops)
    pieces: list[tuple[str, str, Callable[[], Any], float, float]] = [
        (
            "layernorm_topk",
            "forward",
            lambda: kernels.layernorm_topk_into(y, gamma, beta, 1e-5, values, idx, mean, rstd),
            dense + n * k * 5 + 8 * n,
            8 * n * dim,
        ),
        (
            "layernorm_at_indices (recompute)",
            "backward",
            lambda: kernels.layernorm_topk_into(y, gamma, beta, 1e-5, values, idx, mean, rstd, given_indices=True),
            dense + n * k * 5 + 8 * n,
            4 * n * dim,
        ),
        (
            "S@W  cbsr_linear",
            "forward [A@(S@W)]",
            lambda: kernels.cbsr_linear_into(values, idx, weight, hidden),
            n * k * 5 + dense + dim * dim * f4,
            2 * n * k * dim,
        ),
        (
            "A@H + b  csr_spmm (+= out)",
            "forward [A@(S@W)]",
            lambda: kernels.csr_spmm_into(adj, hidden, out, accumulate=True, bias=bias),
            csr + 2 * dense + dense,
            2 * nnz * dim,
        ),
        (
            "A@S  cbsr_spmm",
            "forward [(A@S)@W]",
            lambda: kernels.cbsr_spmm_into(adj, values, idx, dim, hidden),
            csr + n * k * 5 + dense,
            2 * nnz * k,
        ),
        ("out += (AS)@W  addmm", "forward [(A@S)@W]", lambda: out.addmm_(hidden, weight), 3 * dense, 2 * n * dim * dim),
        ("X = Y - F(y), separate pass (old)", "backward", lambda: out.sub_(hidden), 3 * dense, n * dim),
        # The stack runs this for the first block of a backward only; every later block gets
        # its dB from the previous block's LayerNorm backward (grad_y_sum below).
        ("grad_bias = sum(G) (first block)", "backward", lambda: torch.sum(grad, dim=0, out=grad_b), dense, n * dim),
        (
            "A^T G  csr_spmm",
            "backward [A@(S@W)]",
            lambda: kernels.csr_spmm_into(adj, grad, grad_hidden, transpose=True),
            csr + 2 * dense,
            2 * nnz * dim,
        ),
        (
            "dV = rowdot(dH, W[I])",
            "backward [A@(S@W)]",
            lambda: kernels.cbsr_rowdot_into(grad_hidden, weight, idx, grad_values),
            dense + n * k * 9,
            2 * n * k * dim,
        ),
        (
            "dW = S^T dH  cbsr_weight_grad",
            "backward [A@(S@W)]",
            lambda: kernels.cbsr_weight_grad_into(values, idx, grad_hidden, grad_w),
            dense + n * k * 5,
            2 * n * k * dim,
        ),
        (
            "fused A^T G -> dV, dW",
            "backward [A@(S@W)]",
            lambda: kernels.cbsr_linear_backward_into(adj, grad, values, idx, weight, grad_values, grad_w, grad_hidden),
            csr + dense + n * k * 9,
            2 * nnz * dim + 4 * n * k * dim,
        ),
        (
            "dW = (AS)^T G  mm",
            "backward [(A@S)@W]",
            lambda: torch.mm(hidden.t(), grad, out=grad_w),
            2 * dense,
            2 * n * dim * dim,
        ),
        (
            "G W^T  mm",
            "backward [(A@S)@W]",
            lambda: torch.mm(grad, weight.t(), out=grad_hidden),
            2 * dense,
            2 * n * dim * dim,
        ),
        (
            "dV = (A^T GW^T)[I]  sampled_spmm",
            "backward [(A@S)@W]",
            lambda: kernels.sampled_spmm_into(adj, grad_hidden, idx, grad_values),
            csr + n * k * 9,
            2 * nnz * k,
        ),
        (
            "layernorm_topk_backward (+ sum dY)",
            "backward",
            lambda: kernels.layernorm_topk_backward_into(
                y,
                gamma,
                mean,
                rstd,
                idx,
                grad_values,
                grad_y,
                grad_gamma,
                grad_beta,
                accumulate=True,
                grad_y_sum=grad_b,
            ),
            3 * dense + n * k * 9,
            7 * n * dim,
        ),
    ]
    rows = []
    for name, phase, fn, nbytes, flops in pieces:
        wall, cpu = min_times(fn, repeats)
        rows.append(
            {"kernel": name, "phase": phase, "seconds": wall, "cpu_seconds": cpu, "bytes": nbytes, "flops": flops}
        )
    return {"nodes": n, "nnz": nnz, "dim": dim, "k": k, "kernels": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--graph", choices=("circuitnet-zero-riscy-a", "synthetic"), default="circuitnet-zero-riscy-a")
    parser.add_argument("--net-model", choices=("capped-clique", "clique"), default="capped-clique")
    parser.add_argument("--data-root", type=Path, default=None)
    parser.add_argument("--dim", type=int, default=128, help="group width d")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()

    from gsr_eda import _core
    from gsr_eda.bench.kernels import circuitnet_graphs, synthetic_circuit_graph
    from gsr_eda.bench.machine import machine_info

    torch.set_num_threads(args.threads)
    if args.graph == "synthetic":
        graph = synthetic_circuit_graph()
    else:
        graph = circuitnet_graphs(args.data_root, (args.net_model,))[0]
    bandwidth = copy_bandwidth()
    flops = gemm_rate(graph.num_nodes, args.dim, args.repeats)
    result = breakdown(graph.indptr, graph.indices, args.dim, args.k, args.repeats)
    machine = machine_info()
    result.update(
        graph=graph.name,
        threads=args.threads,
        cpu_isa=_core.cpu_isa,
        copy_bandwidth_gbs=bandwidth,
        gemm_gflops=flops / 1e9,
        machine=machine,
    )
    print(
        f"{graph.name}: {result['nodes']:,} nodes, {result['nnz']:,} nnz, d={args.dim}, "
        f"k={args.k}, {args.threads} threads, kernels {_core.cpu_isa}, "
        f"load {machine['load_average_1_5_15'][0] if machine['load_average_1_5_15'] else '?':.3}"
    )
    print(f"copy bandwidth {bandwidth:.1f} GB/s, torch.mm {flops / 1e9:.1f} GFLOP/s")
    print(f"{'kernel':<36}{'phase':<22}{'ms':>8}{'cpu ms':>8}{'floor ms':>10}{'GB/s':>8}{'GFLOP/s':>9}")
    for row in result["kernels"]:
        floor = max(row["bytes"] / (bandwidth * 1e9), row["flops"] / flops)
        row["floor_seconds"] = floor
        print(
            f"{row['kernel']:<36}{row['phase']:<22}{row['seconds'] * 1e3:>8.2f}"
            f"{row['cpu_seconds'] * 1e3:>8.2f}{floor * 1e3:>10.2f}{row['bytes'] / row['seconds'] / 1e9:>8.1f}"
            f"{row['flops'] / row['seconds'] / 1e9:>9.1f}"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
