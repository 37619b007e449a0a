"""Tiny stand-in models for harness tests, imported by the benchmark's child processes.

They exercise the harness (child processes, timeouts, failures, reports) without depending on
the speed of the real models. ``build_model`` understands three names beyond a plain model:
``crash`` raises in the constructor, ``sleepy`` sleeps in every forward (to hit a timeout),
``hog`` allocates memory without bound (to hit the memory limit).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn


class SparseMean:
    """A mean-aggregation adjacency as a torch sparse CSR tensor (no compiled core needed)."""

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, num_nodes: int, device) -> None:
        degree = np.maximum(np.diff(indptr), 1).astype(np.float32)
        values = np.repeat(1.0 / degree, np.diff(indptr)).astype(np.float32)
        self.num_nodes = num_nodes
        self.matrix = torch.sparse_csr_tensor(
            torch.from_numpy(indptr),
            torch.from_numpy(indices),
            torch.from_numpy(values),
            size=(num_nodes, num_nodes),
        ).to(device)


def sparse_mean(indptr, indices, num_nodes, device) -> SparseMean:
    return SparseMean(indptr, indices, num_nodes, device)


class TinyGNN(nn.Module):
    def __init__(self, in_channels: int, hidden: int, layers: int, mode: str) -> None:
        super().__init__()
        self.mode = mode
        self.encoder = nn.Linear(in_channels, hidden)
        self.layers = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(layers))
        self.head = nn.Linear(hidden, 1)
        self.hoard: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor, adj: SparseMean) -> torch.Tensor:
        if self.mode == "sleepy":
            time.sleep(60)
        if self.mode == "hog":
            while True:
                self.hoard.append(torch.ones(64 * 2**20 // 4))
        h = self.encoder(x)
        for layer in self.layers:
            h = h + torch.relu(layer(adj.matrix @ h))
        return self.head(h).squeeze(-1)


def build_model(name: str, in_channels: int, *, hidden: int = 16, layers: int = 2, **_: object) -> TinyGNN:
    if name == "crash":
        raise ValueError("this model always fails to build")
    return TinyGNN(in_channels, hidden, layers, name)
