"""Load the graph a benchmark child trains on: a design from a graph store, or a random graph.

Features are standardised and labels split exactly as the trainer does
(:class:`gsr_eda.predict.normalization.Standardizer` fitted on the training nodes; the store's
node split when it has one, else :func:`gsr_eda.train.splits.seeded_node_mask`), so a
benchmark's validation correlation is comparable with ``gsr-eda train``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from gsr_eda.bench.config import GraphSpec
from gsr_eda.errors import InputError
from gsr_eda.predict.normalization import Standardizer
from gsr_eda.store import GraphStore
from gsr_eda.synth.graphs import random_pairs_csr
from gsr_eda.train.splits import TRAIN, VAL, plan_split


@dataclass
class BenchGraph:
    """A graph in CSR form; for training, with standardised features and, when labelled, a
    node split (the kernel benchmarks need the structure only)."""

    name: str
    indptr: np.ndarray  # (N + 1,) int64
    indices: np.ndarray  # (nnz,): both directions of every undirected edge
    features: np.ndarray | None = None  # (N, F) float32, standardised on the training nodes
    labels: np.ndarray | None = None  # (N,) float32 standardised, or None for an unlabelled design
    train_nodes: np.ndarray | None = None  # int64 node ids
    val_nodes: np.ndarray | None = None
    split_source: str = "none"  # "stored", "seeded" or "none"

    @property
    def num_nodes(self) -> int:
        return int(self.indptr.shape[0] - 1)

    @property
    def nnz(self) -> int:
        """Stored nonzeros of the adjacency (each undirected edge counts twice)."""
        return int(self.indices.shape[0])


def graph_size(spec: GraphSpec) -> tuple[int, int]:
    """``(nodes, nnz)`` of the graph without loading it (for memory pre-checks)."""
    if spec.kind == "random":
        return spec.num_nodes, int(spec.num_nodes * spec.avg_degree)
    with GraphStore(_store_path(spec)) as store:
        summary = store.summary(_design_name(spec, store))
    return int(summary["nodes"]), 2 * int(summary["edges"])


def check_graph(spec: GraphSpec) -> GraphSpec:
    """The spec with its design name resolved; :class:`InputError` when the store or design
    does not exist, or a multi-design store was given without a design (cheap: no data read)."""
    if spec.kind == "store":
        with GraphStore(_store_path(spec)) as store:
            return dataclasses.replace(spec, design=_design_name(spec, store))
    if spec.kind != "random":
        raise InputError(f"unknown graph kind {spec.kind!r} (expected 'store' or 'random')")
    return spec


def load_graph(spec: GraphSpec) -> BenchGraph:
    """Materialise ``spec`` (raises :class:`InputError` for a missing store or design)."""
    if spec.kind == "random":
        return random_graph(spec.num_nodes, spec.avg_degree, spec.num_features, spec.seed)
    if spec.kind == "store":
        return _store_graph(spec)
    raise InputError(f"unknown graph kind {spec.kind!r} (expected 'store' or 'random')")


def prepare(
    name: str,
    features: np.ndarray,
    indptr: np.ndarray,
    indices: np.ndarray,
    labels: np.ndarray | None,
    node_split: np.ndarray | None,
    seed: int,
) -> BenchGraph:
    """Split, then standardise features and labels on the training nodes."""
    num_nodes = int(features.shape[0])
    split_source = "none"
    train_nodes = val_nodes = None
    if labels is not None:
        # The trainer's node split: the stored one, else seeded with its default fractions.
        plan = plan_split({name: (num_nodes, node_split)}, seed=seed, mode="node")
        split_source = plan.source
        train_nodes = np.flatnonzero(plan.mask(name, TRAIN)).astype(np.int64)
        val_nodes = np.flatnonzero(plan.mask(name, VAL)).astype(np.int64)
        if len(train_nodes) == 0 or len(val_nodes) == 0:
            raise InputError(f"design {name!r}: the node split leaves no training or no validation nodes")
    fit_rows = features if train_nodes is None else features[train_nodes]
    fit_targets = [np.zeros(1)] if labels is None else [labels[train_nodes]]
    standardizer = Standardizer.fit([fit_rows], fit_targets)
    return BenchGraph(
        name=name,
        features=standardizer.features(features).numpy(),
        indptr=np.ascontiguousarray(indptr, dtype=np.int64),
        indices=np.ascontiguousarray(indices, dtype=np.int64),
        labels=None if labels is None else standardizer.target(labels).numpy(),
        train_nodes=train_nodes,
        val_nodes=val_nodes,
        split_source=split_source,
    )


def random_graph(num_nodes: int, avg_degree: float, num_features: int, seed: int) -> BenchGraph:
    """A symmetric random graph whose labels are a smooth function of each neighbourhood.

    Labels are ``tanh(mean_{j in N(i)} x_j . w + 0.1 noise)``: learnable by message passing,
    so the validation correlation of a short training run is meaningful, not noise.
    """
    if num_nodes < 10:
        raise InputError(f"a random benchmark graph needs at least 10 nodes, got {num_nodes}")
    rng = np.random.default_rng(seed)
    adjacency = random_pairs_csr(rng, num_nodes, avg_degree)
    features = rng.standard_normal((num_nodes, num_features)).astype(np.float32)
    weights = rng.standard_normal(num_features).astype(np.float32)
    degree = np.maximum(np.diff(adjacency.indptr), 1)
    neighbourhood = (adjacency @ (features @ weights)) / degree
    labels = np.tanh(neighbourhood + 0.1 * rng.standard_normal(num_nodes)).astype(np.float32)
    return prepare(f"random-{num_nodes}", features, adjacency.indptr, adjacency.indices, labels, None, seed)


def _store_path(spec: GraphSpec) -> str:
    if not spec.path:
        raise InputError("a store graph needs a store path")
    return spec.path


def _design_name(spec: GraphSpec, store: object) -> str:
    """The design to use: ``spec.design``, or the only design of a one-design store."""
    designs: list[str] = store.designs  # type: ignore[attr-defined]
    if spec.design:
        if spec.design not in designs:
            available = ", ".join(designs) or "none: the store is empty"
            raise InputError(f"no design {spec.design!r} in the store (available: {available})", spec.path)
        return spec.design
    if len(designs) != 1:
        raise InputError(
            f"the store holds {len(designs)} designs; choose one with --design ({', '.join(designs) or 'none'})",
            spec.path,
        )
    return designs[0]


def _store_graph(spec: GraphSpec) -> BenchGraph:
    with GraphStore(_store_path(spec)) as store:
        name = _design_name(spec, store)
        record = store.read(name)
    return prepare(
        name,
        record.features,
        record.indptr,
        record.indices,
        record.cell_labels,
        record.node_split,
        spec.seed,
    )
