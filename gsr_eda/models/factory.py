"""``build_model``: one entry point for every architecture, used by train, predict and benchmarks."""

from __future__ import annotations

from gsr_eda.models.base import CongestionModel

#: Architectures, with a one-line description for ``--help``.
MODEL_NAMES: dict[str, str] = {
    "gsr": "GSR-GNN: grouped sparse reversible layers with top-k GS activations (memory flat in depth)",
    "revgnn": "RevGNN: grouped reversible layers with dense ReLU blocks (PyG GroupAddRev)",
    "gcn": "GCN: residual stack of GCNConv layers",
    "sage": "GraphSAGE: residual stack of SAGEConv layers (mean aggregator)",
    "gsr-cellnet": "GSR-GNN on the cell-net graph: cells and nets as nodes, reversible GS(k) message passing "
    "cell -> net -> cell (net model cell-net)",
    "hetero-sage": "heterogeneous GraphSAGE on the cell-net graph: PyG HeteroConv of SAGEConv, dense ReLU "
    "(the baseline of gsr-cellnet)",
}


def build_model(
    name: str,
    in_channels: int,
    *,
    hidden: int = 256,
    layers: int = 16,
    groups: int = 2,
    k: int = 8,
    dropout: float = 0.0,
    net_hidden: int | None = None,
    placement_groups: int = 0,
) -> CongestionModel:
    """Build a congestion model: shared encoder and head around the named message-passing body.

    ``groups`` applies to the reversible models (``gsr``, ``revgnn``, ``gsr-cellnet``), ``k`` to
    ``gsr`` and ``gsr-cellnet``, ``net_hidden`` (the nets' state width, by default
    :func:`gsr_eda.models.gsr_cellnet.default_net_hidden`: half of ``hidden``) to ``gsr-cellnet``.
    ``gsr-cellnet`` and ``hetero-sage`` take a :class:`gsr_eda.models.inputs.CellNetGraph`
    instead of the adjacency (:func:`gsr_eda.models.inputs.model_graph` builds either);
    ``placement_groups > 0`` gives them a cell -> cell relation over the graph's placement
    neighbours (the other models take those in their adjacency): in that many of each layer's
    groups for ``gsr-cellnet``, in every layer for ``hetero-sage``.
    Raises ``ValueError`` for an unknown name or an inconsistent configuration.
    """
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    if in_channels < 1 or hidden < 1 or layers < 1:
        raise ValueError(f"in_channels, hidden and layers must be positive, got {in_channels}, {hidden}, {layers}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    # Each body module is imported when its model is asked for: the baselines pull in
    # torch_geometric, seconds of import time that GSR-GNN and inference never need.
    if name == "gsr":
        from gsr_eda.models.gsr import GSRBody

        body = GSRBody(hidden, layers, groups, k, dropout)
    elif name == "revgnn":
        from gsr_eda.models.revgnn import RevGNNBody

        body = RevGNNBody(hidden, layers, groups, dropout)
    elif name == "gsr-cellnet":
        from gsr_eda.models.gsr_cellnet import GSRCellNetBody

        body = GSRCellNetBody(
            hidden, layers, groups, k, dropout, net_hidden=net_hidden, placement_groups=placement_groups
        )
    elif name == "hetero-sage":
        from gsr_eda.models.hetero_sage import HeteroSAGEBody

        body = HeteroSAGEBody(hidden, layers, dropout, placement=placement_groups > 0)
    elif name == "gcn":
        from gsr_eda.models.gcn import GCNBody

        body = GCNBody(hidden, layers, dropout)
    else:
        from gsr_eda.models.sage import SAGEBody

        body = SAGEBody(hidden, layers, dropout)
    return CongestionModel(in_channels, hidden, body, name)
