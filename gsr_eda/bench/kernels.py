"""Side-by-side timing of the GSR kernels and the PyTorch operations they replace.

Used by ``gsr-eda bench kernels`` and ``benchmarks/bench_kernels.py``. Each kernel is timed
on identical inputs against its torch counterpart (median of ``repeats`` after one warm-up):

==========================  =====================================  ==============================
name                        ours                                   torch baseline
==========================  =====================================  ==============================
row_topk                    GS(k): row top-k, uint8 indices        ``torch.topk``
cbsr_aggregate              ``A @ S(V, I)``                        ``torch.sparse.mm(A, S)``, S
                                                                   dense N x d
sampled_backward            ``(A^T G)`` at ``I``                   backward of that sparse.mm
cbsr_aggregate_weighted     ``A @ S(V, I) @ W`` (cheaper order)    ``torch.sparse.mm(A, S @ W)``
weighted_backward           its backward (dV, dW)                  backward of the torch version
==========================  =====================================  ==============================

Effective bandwidth counts the bytes a kernel must move at least once (CSR structure, the
gathered CBSR entries, the output), so it is comparable with the measured copy bandwidth.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import Progress

from gsr_eda import _core
from gsr_eda.bench.graph_source import BenchGraph
from gsr_eda.bench.machine import machine_info
from gsr_eda.errors import InputError
from gsr_eda.graph.net_models import build_adjacency
from gsr_eda.ingest.circuitnet import read_circuitnet_design
from gsr_eda.ops import CSRAdjacency, association_order, cbsr_aggregate, kernels, row_topk
from gsr_eda.ops.aggregate import GATHER_FIRST
from gsr_eda.ops.reference import scatter_cbsr
from gsr_eda.synth.graphs import hub_graph

ZERO_RISCY_A = ("zero-riscy-a-1-c2", "7157-zero-riscy-a-1-c2-u0.8-m1-p1-f0")
#: Net model -> the name of its benchmark graph (the capped clique keeps nets of up to 8 pins).
NET_MODEL_GRAPHS = {"clique": "full-clique", "capped-clique": "capped-clique-8"}


def default_data_root() -> Path:
    """``$GSR_EDA_DATA``, else ``../shared/data`` beside the source checkout."""
    env = os.environ.get("GSR_EDA_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "data"


def synthetic_circuit_graph(num_nodes: int = 40000, seed: int = 0) -> BenchGraph:
    """The synthetic kernel-benchmark graph (:func:`gsr_eda.synth.graphs.hub_graph`)."""
    return BenchGraph("synthetic", *hub_graph(num_nodes, seed))


def circuitnet_graphs(
    data_root: Path | None, net_models: tuple[str, ...] = tuple(NET_MODEL_GRAPHS)
) -> list[BenchGraph]:
    """zero-riscy-a from the raw CircuitNet files, one graph per net model (default: the
    full-clique and the capped-clique-8 adjacency)."""
    root = (data_root or default_data_root()) / "circuitnet"
    if not root.is_dir():
        raise InputError("CircuitNet data folder not found (pass --data-root or set GSR_EDA_DATA)", root)
    design, _ = read_circuitnet_design(root, ZERO_RISCY_A[0], ZERO_RISCY_A[1])
    graphs = []
    for model in net_models:
        indptr, indices = build_adjacency(design, model, 8)
        graphs.append(BenchGraph(f"circuitnet-zero-riscy-a/{NET_MODEL_GRAPHS[model]}", indptr, indices))
    return graphs


def load_benchmark_graphs(kind: str, data_root: Path | None, *, synthetic_nodes: int = 40000) -> list[BenchGraph]:
    """The graphs behind ``--graph``."""
    if kind == "synthetic":
        return [synthetic_circuit_graph(synthetic_nodes)]
    return circuitnet_graphs(data_root)


def measure_memory_bandwidth(megabytes: int = 256) -> float:
    """Copy bandwidth of this machine in GB/s (read + write bytes of a numpy copy, best of 3)."""
    src = np.ones(megabytes * 2**20 // 8)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - start)
    return 2 * src.nbytes / best / 1e9


def _median_time(fn: Callable[[], Any], repeats: int, device: torch.device) -> float:
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _kernel_cases(
    graph: BenchGraph, device: torch.device, dim: int, k: int
) -> list[tuple[str, Callable[[], Any], Callable[[], Any], float]]:
    """(name, ours, torch baseline, bytes ours must move) for each kernel on one graph."""
    adj = CSRAdjacency.from_csr(graph.indptr, graph.indices, graph.num_nodes, device=device)
    n, nnz = adj.num_nodes, adj.nnz
    generator = torch.Generator().manual_seed(0)
    P = torch.randn(n, dim, generator=generator).to(device)
    values, indices = row_topk(P, k)
    dense = scatter_cbsr(values, indices, dim)
    weight = (torch.randn(dim, dim, generator=generator) / dim**0.5).to(device)
    grad = torch.randn(n, dim, generator=generator).to(device)
    A = adj.to_torch_sparse()
    out = torch.empty(n, dim, device=device)
    grad_values = torch.empty(n, k, device=device)

    dense_req = dense.clone().requires_grad_()
    torch_product = torch.sparse.mm(A, dense_req)
    weight_req = weight.clone().requires_grad_()
    values_req = values.clone().requires_grad_()
    torch_weighted = torch.sparse.mm(A, dense_req @ weight_req)
    ours_weighted = cbsr_aggregate(adj, values_req, indices, dim, weight_req)

    csr_bytes = 8 * (n + 1) + 8 * nnz  # indptr + (int32 index, float32 weight) per nnz
    cbsr_gather = nnz * k * 5  # V (4 B) + I (1 B) gathered once per nonzero
    dense_bytes = n * dim * 4  # one dense N x d float32 matrix
    if association_order(n, nnz, k, dim, dim) == GATHER_FIRST:
        weighted_bytes = csr_bytes + n * k * 5 + nnz * dim * 4 + dense_bytes  # S@W, A@H
        weighted_backward_bytes = csr_bytes + nnz * dim * 4 + 3 * dense_bytes + n * k * 5
    else:
        weighted_bytes = csr_bytes + cbsr_gather + 3 * dense_bytes  # A@S, (.)@W
        weighted_backward_bytes = 2 * (csr_bytes + cbsr_gather) + 5 * dense_bytes
    return [
        ("row_topk", lambda: row_topk(P, k), lambda: torch.topk(P, k, dim=1), n * dim * 4 + n * k * 5),
        (
            "cbsr_aggregate",
            lambda: kernels.cbsr_spmm_into(adj, values, indices, dim, out),
            lambda: torch.sparse.mm(A, dense),
            csr_bytes + cbsr_gather + n * dim * 4,
        ),
        (
            "sampled_backward",
            lambda: kernels.sampled_spmm_into(adj, grad, indices, grad_values),
            lambda: torch.autograd.grad(torch_product, dense_req, grad, retain_graph=True),
            csr_bytes + nnz * k * 4 + n * k * 5,
        ),
        (
            "cbsr_aggregate_weighted",
            lambda: cbsr_aggregate(adj, values, indices, dim, weight),
            lambda: torch.sparse.mm(A, dense @ weight),
            weighted_bytes,
        ),
        (
            "weighted_backward",
            lambda: torch.autograd.grad(ours_weighted, (values_req, weight_req), grad, retain_graph=True),
            lambda: torch.autograd.grad(torch_weighted, (dense_req, weight_req), grad, retain_graph=True),
            weighted_backward_bytes,
        ),
    ]


def run_kernel_benchmarks(
    graphs: list[BenchGraph],
    *,
    device: str = "cpu",
    dim: int = 128,
    k: int = 8,
    repeats: int = 5,
    threads: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Time every kernel on every graph; returns the JSON document of ``bench kernels``."""
    torch_device = torch.device(device)
    if torch_device.type == "cuda" and not (torch.cuda.is_available() and _core.has_cuda()):
        raise InputError(
            "--device cuda: no usable GPU (torch sees none, or gsr_eda._core was built without CUDA kernels)"
        )
    if threads is not None:
        torch.set_num_threads(threads)  # also sets the OpenMP team size of our kernels
    bandwidth = measure_memory_bandwidth() if torch_device.type == "cpu" else None
    results: dict[str, Any] = {
        "device": str(torch_device),
        "machine": machine_info(),
        "threads": torch.get_num_threads(),
        "memory_bandwidth_gbs": bandwidth,
        "dim": dim,
        "k": k,
        "repeats": repeats,
        "graphs": [],
    }
    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task("kernels", total=5 * len(graphs))
        for graph in graphs:
            bar.update(task, description=f"{graph.name}: preparing")
            cases = _kernel_cases(graph, torch_device, dim, k)
            entry: dict[str, Any] = {
                "graph": graph.name,
                "nodes": graph.num_nodes,
                "nnz": int(graph.indptr[-1]),
                "kernels": {},
            }
            for name, ours, baseline, nbytes in cases:
                bar.update(task, description=f"{graph.name}: {name}")
                ours_s = _median_time(ours, repeats, torch_device)
                torch_s = _median_time(baseline, repeats, torch_device)
                gbs = nbytes / ours_s / 1e9
                entry["kernels"][name] = {
                    "ours_s": ours_s,
                    "torch_s": torch_s,
                    "ratio": torch_s / ours_s,
                    "ours_gbs": gbs,
                    "fraction_of_bandwidth": None if bandwidth is None else gbs / bandwidth,
                    "device": str(torch_device),
                    "graph": graph.name,
                }
                bar.advance(task)
            results["graphs"].append(entry)
    return results


def format_table(results: dict[str, Any]) -> str:
    """Human-readable summary of :func:`run_kernel_benchmarks`."""
    bandwidth = results.get("memory_bandwidth_gbs")
    lines = [
        f"device {results['device']}, {results['threads']} threads, d={results['dim']}, "
        f"k={results['k']}, load average {results['machine'].get('load_average_1_5_15')}"
    ]
    if bandwidth:
        lines.append(f"measured copy bandwidth: {bandwidth:.1f} GB/s")
    for entry in results["graphs"]:
        lines.append(f"\n{entry['graph']}  ({entry['nodes']:,} nodes, {entry['nnz']:,} nnz)")
        lines.append(f"  {'kernel':<26}{'ours ms':>10}{'torch ms':>11}{'speed-up':>10}{'GB/s':>8}")
        for name, row in entry["kernels"].items():
            lines.append(
                f"  {name:<26}{row['ours_s'] * 1e3:>10.2f}{row['torch_s'] * 1e3:>11.2f}"
                f"{row['ratio']:>9.1f}x{row['ours_gbs']:>8.1f}"
            )
    return "\n".join(lines)
