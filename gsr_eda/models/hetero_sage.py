r"""``hetero-sage``: the dense-ReLU heterogeneous baseline, PyG ``HeteroConv`` of ``SAGEConv``.

The reference for ``gsr-cellnet``: the same cell-net graph, the same net inputs and encoder,
and the same mean aggregation over the pin edges, with dense ReLU activations and a plain
residual stack (every activation kept for the backward). Layer ``i`` updates both types from
the layer's input:

.. math::
    z_t = \mathrm{dropout}(\mathrm{ReLU}(\mathrm{LN}_t(h_t))),\quad
    h_{net} \mathrel{+}= \mathrm{SAGE}_{c \to n}(z_{cell}, z_{net}),\quad
    h_{cell} \mathrel{+}= \mathrm{SAGE}_{n \to c}(z_{net}, z_{cell}),

with :math:`\mathrm{SAGE}(z_{src}, z_{dst}) = W^{root} z_{dst} + W^{nbr}\,\mathrm{mean}_{src}(z_{src})`
over the pin edges (relations ``('cell', 'pin', 'net')`` and ``('net', 'pin', 'cell')``; the
last layer has only the second, as the head reads only the cells). With ``placement``, a third
relation ``('cell', 'near', 'cell')`` adds a SAGE update from each cell's placement neighbours
(the graph's ``placement`` matrix), as in ``gsr-cellnet``.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor, nn
from torch_geometric.nn import HeteroConv, SAGEConv

from gsr_eda.models.inputs import NET_INPUT_CHANNELS, CellNetGraph

CELL_TO_NET = ("cell", "pin", "net")
NET_TO_CELL = ("net", "pin", "cell")
NEAR_CELL = ("cell", "near", "cell")


class HeteroSAGEBody(nn.Module):
    """Pre-norm residual stack of ``HeteroConv({cell->net, net->cell: SAGEConv})`` layers."""

    def __init__(self, hidden: int, layers: int, dropout: float, placement: bool = False) -> None:
        super().__init__()
        self.dropout = dropout
        self.placement = placement
        self.net_encoder = nn.Linear(NET_INPUT_CHANNELS, hidden)
        self.norms = nn.ModuleList(
            nn.ModuleDict({"cell": nn.LayerNorm(hidden), "net": nn.LayerNorm(hidden)}) for _ in range(layers)
        )
        # The head reads the cells: the last layer's net update would feed nothing, so it has none
        # (PyG warns that the net type is then no destination: that is the point).
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="There exist node types")
            self.convs = nn.ModuleList(self._layer(hidden, i == layers - 1, placement) for i in range(layers))

    @staticmethod
    def _layer(hidden: int, last: bool, placement: bool) -> HeteroConv:
        return HeteroConv(
            {
                **({} if last else {CELL_TO_NET: SAGEConv((hidden, hidden), hidden, aggr="mean")}),
                NET_TO_CELL: SAGEConv((hidden, hidden), hidden, aggr="mean"),
                **({NEAR_CELL: SAGEConv(hidden, hidden, aggr="mean")} if placement else {}),
            },
            aggr="sum",
        )

    def forward(self, h: Tensor, graph: CellNetGraph) -> Tensor:
        if not isinstance(graph, CellNetGraph):
            raise TypeError(
                f"hetero-sage takes a CellNetGraph (gsr_eda.models.inputs.model_graph), got {type(graph).__name__}"
            )
        # edge_index rows are [source, destination]: cells -> nets from net_from_cell, and back.
        edges = {CELL_TO_NET: graph.net_from_cell.edge_index(), NET_TO_CELL: graph.cell_from_net.edge_index()}
        if self.placement:
            if graph.placement is None:
                raise ValueError("hetero-sage with a placement relation needs a graph with placement neighbours")
            edges[NEAR_CELL] = graph.placement.edge_index()
        state = {"cell": h, "net": self.net_encoder(graph.net_x)}
        for norms, conv in zip(self.norms, self.convs):
            z = {
                t: nn.functional.dropout(torch.relu(norms[t](x)), self.dropout, self.training) for t, x in state.items()
            }
            update = conv(z, edges)
            state = {t: state[t] + update[t] if t in update else state[t] for t in state}
        return state["cell"]
