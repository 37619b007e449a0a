#!/usr/bin/env python
r"""One full training step of a deep GSR stack against PyG's ``GroupAddRev`` (RevGNN).

Each configuration runs in its own child process, so its peak resident memory (``VmHWM``)
is its own. A step is forward + backward + ``AdamW.step`` of

* **gsr**: input ``x`` (N x hidden) -> :class:`gsr_eda.nn.GSRStack` (L layers, C groups, GS(k))
  -> ``Linear(hidden, 1)`` -> MSE against a random target;
* **revgnn**: the same with ``torch_geometric.nn.GroupAddRev`` over blocks
  ``LayerNorm -> ReLU -> Linear(d, d) -> SimpleConv(aggr="mean")`` (RevGNN's block with a
  mean aggregation, i.e. ``A_mean @ (ReLU(LN(x)) W)``; the GSR block is
  ``A_mean @ (GS_k(LN(x)) W) + b``), ``num_groups = C``.

Graph: CircuitNet zero-riscy-a from the raw files (38,656 placed cells; ``--net-model``
capped-clique (cap 8, stars for larger nets: 300,818 nnz) or clique (5,965,822 nnz)), or
``--graph synthetic``. Reported per configuration: median seconds per step, peak RSS, and the
RSS before the first step (graph + model), plus GSR's speed-up and memory saving against
RevGNN at equal depth.

Usage::

    python benchmarks/bench_step.py --layers 16,64 --out benchmarks/results/step.json
    python benchmarks/bench_step.py --layers 4 --steps 1 --models gsr   # quick smoke run
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path


def _graph(kind: str, net_model: str, data_root: str | None):
    from gsr_eda.bench.kernels import circuitnet_graphs, synthetic_circuit_graph

    if kind == "synthetic":
        return synthetic_circuit_graph()
    # Only the graph asked for: the process's peak RSS is reported.
    return circuitnet_graphs(Path(data_root) if data_root else None, (net_model,))[0]


def child(args: argparse.Namespace) -> dict:
    """Run ``args.steps`` timed steps of one configuration in this process."""
    import torch

    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    graph = _graph(args.graph, args.net_model, args.data_root)
    n = graph.num_nodes
    x = torch.randn(n, args.hidden)
    target = torch.randn(n, 1)
    head = torch.nn.Linear(args.hidden, 1)
    if args.model == "gsr":
        from gsr_eda.nn import GSRStack
        from gsr_eda.ops import CSRAdjacency

        adj = CSRAdjacency.from_csr(graph.indptr, graph.indices, n, normalization="mean")
        body = GSRStack(args.hidden, args.layers, groups=args.groups, k=args.k)

        def forward() -> torch.Tensor:
            return head(body(x, adj))
    else:
        from torch_geometric.nn import GroupAddRev, SimpleConv

        from gsr_eda.ops import CSRAdjacency

        edge_index = CSRAdjacency.from_csr(graph.indptr, graph.indices, n).edge_index()
        d = args.hidden // args.groups

        class Block(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.norm = torch.nn.LayerNorm(d)
                self.lin = torch.nn.Linear(d, d)
                self.conv = SimpleConv(aggr="mean")

            def forward(self, h: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
                return self.conv(self.lin(self.norm(h).relu()), edge_index)

        body = torch.nn.ModuleList(GroupAddRev(Block(), num_groups=args.groups) for _ in range(args.layers))

        def forward() -> torch.Tensor:
            h = x
            for layer in body:
                h = layer(h, edge_index)
            return head(h)

    params = list(body.parameters()) + list(head.parameters())
    optimizer = torch.optim.AdamW(params, lr=1e-3)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(forward(), target)
        loss.backward()
        optimizer.step()

    from gsr_eda.bench.memory import peak_rss_bytes

    rss_before = peak_rss_bytes()
    times = []
    for index in range(args.warmup + args.steps):
        start = time.perf_counter()
        step()
        if index >= args.warmup:
            times.append(time.perf_counter() - start)
    return {
        "model": args.model,
        "layers": args.layers,
        "nodes": n,
        "nnz": int(graph.indptr[-1]),
        "seconds_per_step": statistics.median(times),
        "step_times": times,
        "peak_rss_bytes": peak_rss_bytes(),
        "peak_rss_before_steps_bytes": rss_before,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="gsr,revgnn", help="gsr, revgnn or both")
    parser.add_argument("--layers", default="16,64", help="comma-separated depths")
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--groups", type=int, default=2)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3, help="timed steps (median reported)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--graph", choices=("circuitnet-zero-riscy-a", "synthetic"), default="circuitnet-zero-riscy-a")
    parser.add_argument("--net-model", choices=("capped-clique", "clique"), default="capped-clique")
    parser.add_argument("--data-root", default=None, help="folder holding circuitnet/")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--timeout-s", type=float, default=1800)
    parser.add_argument("--out", default=None, help="write the JSON results here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.layers = int(args.layers)
        print(json.dumps(child(args)))
        return

    from gsr_eda.bench.machine import machine_info
    from gsr_eda.bench.runner import run_child

    results = {
        "machine": machine_info(),
        "graph": args.graph,
        "net_model": args.net_model,
        "hidden": args.hidden,
        "groups": args.groups,
        "k": args.k,
        "baseline_block": "LayerNorm -> ReLU -> Linear -> SimpleConv(aggr='mean')",
        "runs": [],
    }
    for layers in [int(v) for v in args.layers.split(",")]:
        for model in args.models.split(","):
            command = [sys.executable, __file__, "--child", "--model", model, "--layers", str(layers)]
            for option in ("hidden", "groups", "k", "steps", "warmup", "graph", "net_model", "data_root", "threads"):
                value = getattr(args, option)
                if value is not None:
                    command += [f"--{option.replace('_', '-')}", str(value)]
            done = run_child(command, args.timeout_s)
            if done.killed_for == "timeout":
                run = {"model": model, "layers": layers, "error": "timeout"}
            elif done.returncode != 0:
                run = {"model": model, "layers": layers, "error": done.output.strip().splitlines()[-1:]}
            else:
                run = done.printed_result()
            results["runs"].append(run)
            print(json.dumps(run), file=sys.stderr, flush=True)
    by_key = {(r["model"], r["layers"]): r for r in results["runs"] if "error" not in r}
    results["comparison"] = [
        {
            "layers": layers,
            "speedup": by_key[("revgnn", layers)]["seconds_per_step"] / by_key[("gsr", layers)]["seconds_per_step"],
            "peak_rss_saving": 1
            - by_key[("gsr", layers)]["peak_rss_bytes"] / by_key[("revgnn", layers)]["peak_rss_bytes"],
        }
        for (model, layers) in by_key
        if model == "gsr" and ("revgnn", layers) in by_key
    ]
    text = json.dumps(results, indent=2)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
