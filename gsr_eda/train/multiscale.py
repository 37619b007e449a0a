r"""Multiscale training schedules: which graphs each optimiser step's loss is computed on.

One model, the same weights, on every scale: a GNN layer is defined for any graph, and the
mean-normalised adjacency and mean-pooled features (:mod:`gsr_eda.graph.coarsening`) keep a
coarse node's inputs in the units of a cell's, so the fine level's standardiser serves every
level (a cluster of mean feature :math:`\bar x` is standardised exactly as a cell of feature
:math:`\bar x`). The first ``multiscale_epochs`` epochs run on the cheap scales, the rest on
the full graphs as single-scale training does; validation is always on the full validation
designs, so ``best.pt`` and early stopping (counted in the full-graph phase only) judge the
model a user will run.

Schedules (each step is one training design, as in single-scale training):

* ``coarse-to-fine``: the cheap epochs are split over levels :math:`L, \dots, 1`, coarsest
  first; step loss :math:`\mathcal L_l(G)`, the mean squared error over level :math:`l`'s nodes
  against the clusters' mean labels.
* ``sub-to-full``: step loss on the cell subgraph induced by a random die window covering
  ``window_fraction`` of the die (a new window every step).
* ``gradients``: a multilevel Monte Carlo estimate of the full-graph gradient. With a random
  window :math:`W`,

  .. math::

      \mathcal L = \mathcal L_L(G) + \sum_{l=1}^{L} \big(\mathcal L_{l-1}(W) - \mathcal L_l(W)\big),

  whose gradient telescopes to :math:`\nabla \mathcal L_0` when :math:`W` is the whole die: the
  coarsest level is seen whole, and each finer level only corrects it on a window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gsr_eda.graph.coarsening import Hierarchy, Level, induced_subgraph, window_nodes

SCHEDULES = ("off", "coarse-to-fine", "sub-to-full", "gradients")


@dataclass
class LossTerm:
    """``weight * MSE(model(x, adj), y)`` over the nodes of one graph (those of ``mask`` if given)."""

    x: torch.Tensor
    y: torch.Tensor
    adj: object  # CSRAdjacency
    weight: float
    mask: torch.Tensor | None = None


@dataclass
class ScaleGraph:
    """One level of one design on the device, with what cuts windows out of it."""

    level: Level
    x: torch.Tensor
    y: torch.Tensor
    adj: object  # CSRAdjacency of the whole level


class MultiscaleSchedule:
    """The loss terms of every step of a multiscale run (see the module docstring)."""

    def __init__(
        self,
        schedule: str,
        hierarchies: dict[str, Hierarchy],
        scales: dict[str, list[ScaleGraph]],
        die: dict[str, tuple[float, float, float, float]],
        multiscale_epochs: int,
        window_fraction: float,
        make_adjacency,
    ) -> None:
        if schedule not in SCHEDULES[1:]:
            raise ValueError(f"unknown multiscale schedule {schedule!r}; choose one of {', '.join(SCHEDULES[1:])}")
        self.schedule = schedule
        self.hierarchies = hierarchies
        self.scales = scales
        self.die = die
        self.multiscale_epochs = multiscale_epochs
        self.window_fraction = window_fraction
        self._adjacency = make_adjacency
        self.depth = min(len(h.levels) for h in hierarchies.values()) - 1

    def is_full_graph_epoch(self, epoch: int) -> bool:
        """True from the first epoch that trains on the full graphs (0-based epochs)."""
        return epoch >= self.multiscale_epochs or (self.schedule != "sub-to-full" and self.depth == 0)

    def level_of(self, epoch: int) -> int:
        """Coarse-to-fine: the level epoch ``epoch`` trains on (coarsest first, 0 = full graph)."""
        if self.is_full_graph_epoch(epoch):
            return 0
        per_level = self.multiscale_epochs / self.depth
        return self.depth - int(epoch // per_level)

    def terms(self, name: str, epoch: int, rng: np.random.Generator) -> list[LossTerm]:
        """The loss terms of design ``name``'s step in (a multiscale) ``epoch``."""
        scales = self.scales[name]
        if self.schedule == "coarse-to-fine":
            s = scales[self.level_of(epoch)]
            return [LossTerm(s.x, s.y, s.adj, 1.0)]
        window = self._window(name, rng)
        if self.schedule == "sub-to-full":
            terms = [self._windowed(scales[0], window, 1.0)]
        else:
            top = scales[self.depth]
            terms = [LossTerm(top.x, top.y, top.adj, 1.0)]
            for level in range(1, self.depth + 1):
                terms.append(self._windowed(scales[level - 1], window, 1.0))
                terms.append(self._windowed(scales[level], window, -1.0))
        return [t for t in terms if t is not None]

    def _window(self, name: str, rng: np.random.Generator) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = self.die[name]
        side = float(np.sqrt(self.window_fraction))
        w, h = (x1 - x0) * side, (y1 - y0) * side
        wx, wy = x0 + rng.random() * (x1 - x0 - w), y0 + rng.random() * (y1 - y0 - h)
        return (wx, wy, wx + w, wy + h)

    def _windowed(self, s: ScaleGraph, window: tuple[float, float, float, float], weight: float) -> LossTerm | None:
        """The term of the nodes of ``s`` inside ``window`` (None for a window with no node)."""
        nodes = window_nodes(s.level, *window)
        if nodes.size == 0:
            return None
        indptr, indices = induced_subgraph(s.level.indptr, s.level.indices, nodes)
        index = torch.from_numpy(nodes).to(s.x.device)
        return LossTerm(s.x[index], s.y[index], self._adjacency(indptr, indices, len(nodes)), weight)
