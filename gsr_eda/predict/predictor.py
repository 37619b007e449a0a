"""A trained model ready for inference: a checkpoint in, congestion in label units out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gsr_eda.errors import InputError
from gsr_eda.models.inputs import design_graph, needs_net_nodes
from gsr_eda.predict.checkpoint import load_checkpoint, model_from_checkpoint, resolve_device
from gsr_eda.predict.gcell_head import GcellHead
from gsr_eda.predict.normalization import Standardizer


@dataclass
class Predictor:
    """A trained model ready for inference: raw features in, congestion in label units out."""

    config: dict
    feature_names: list[str]
    net_model: str
    net_cap: int
    label_reduce: str
    device: torch.device
    model: torch.nn.Module
    standardizer: Standardizer
    normalization: str = "mean"
    #: The gcell map's linear output over the mapped predictions and the free maps, when the run
    #: fitted one (``gsr-eda train --gcell-head``; :mod:`gsr_eda.predict.gcell_head`).
    gcell_head: GcellHead | None = None
    #: Nearest nodes on the die joined to each node's netlist neighbours (0: the netlist alone;
    #: :mod:`gsr_eda.graph.placement_edges`). They move with the cells: see :meth:`design_graph`.
    placement_neighbours: int = 0

    @property
    def model_name(self) -> str:
        return str(self.config.get("name", ""))

    @property
    def values(self) -> str:
        """What the predicted values are: ``"relative"`` (a model trained on each design's own
        target scale ranks the cells and gcells of one design against each other, on the training
        designs' typical scale) or ``"label units"`` (pooled target statistics)."""
        return "relative" if self.standardizer.target_scale == "design" else "label units"

    @property
    def gcell_map_source(self) -> str:
        """Where the gcell map comes from: ``"gcell head"`` (:mod:`gsr_eda.predict.gcell_head`) or
        ``"mapped cells"`` (each gcell the max or mean of the cells covering it)."""
        return "gcell head" if self.gcell_head is not None else "mapped cells"

    @property
    def needs_net_nodes(self) -> bool:
        """Whether the model takes the cell-net graph (net nodes, not the cell adjacency alone)."""
        return needs_net_nodes(self.model_name)

    def design_graph(self, design, indptr: np.ndarray, indices: np.ndarray, net_nodes=None, positions=None):
        """The model's graph input for a placed design: its netlist adjacency with the model's
        placement neighbours at ``positions`` (lower-left ``(x, y)``, default the design's), or
        for the cell-net models the :class:`~gsr_eda.models.inputs.CellNetGraph` (net nodes from
        ``net_nodes``, a store's, or computed from the design); the model's normalisation, on its
        device."""
        return design_graph(
            self.model_name,
            design,
            indptr,
            indices,
            self.device,
            self.normalization,
            net_nodes=net_nodes,
            placement_neighbours=self.placement_neighbours,
            positions=positions,
        )

    def check_graph_options(self, net_model: str, net_cap: int, *, what: str, path: str | Path) -> None:
        """Refuse a graph built with another net model or cap than the model was trained on."""
        if (net_model, int(net_cap)) != (self.net_model, self.net_cap):
            raise InputError(
                f"{what} was ingested with net model {net_model} (cap {net_cap}), the model was trained on "
                f"{self.net_model} (cap {self.net_cap}): re-ingest with matching options",
                path,
            )

    @torch.no_grad()
    def predict(self, features: np.ndarray, adj) -> np.ndarray:
        """Raw (un-normalised) features ``(N, F)`` -> predicted congestion ``(N,)`` float32."""
        features = np.asarray(features)
        if features.ndim != 2 or features.shape[1] != len(self.feature_names):
            raise ValueError(
                f"expected features of shape (N, {len(self.feature_names)}) "
                f"({', '.join(self.feature_names)}), got {features.shape}"
            )
        self.model.eval()
        out = self.model(self.standardizer.features(features, self.device), adj)
        return self.standardizer.untarget(out)


def load_predictor(path: str | Path, device: str | torch.device = "cpu") -> Predictor:
    """Load a checkpoint (file or run folder) for inference on ``device`` (``cpu``/``cuda``/``auto``)."""
    return predictor_from_checkpoint(load_checkpoint(path), path, device)


def predictor_from_checkpoint(ckpt: dict, path: str | Path, device: str | torch.device = "cpu") -> Predictor:
    """:func:`load_predictor` for a checkpoint already loaded by :func:`load_checkpoint`."""
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    model = model_from_checkpoint(ckpt, path).to(dev).eval()
    return Predictor(
        config=dict(ckpt["model"]),
        feature_names=list(ckpt["feature_names"]),
        net_model=str(ckpt["graph"]["net_model"]),
        net_cap=int(ckpt["graph"]["net_cap"]),
        label_reduce=str(ckpt["label"]["reduce"]),
        device=dev,
        model=model,
        standardizer=Standardizer.from_state(ckpt["standardizer"]),
        normalization=str(ckpt["graph"].get("normalization", "mean")),
        gcell_head=GcellHead.from_state(ckpt["gcell_head"]) if ckpt.get("gcell_head") else None,
        placement_neighbours=int(ckpt["graph"].get("placement_neighbours", 0)),  # 0: written before the option
    )
