r"""``gsr-cellnet``: GSR-GNN on the heterogeneous cell-net graph (DR-CircuitGNN's graph, GSR's core).

Cells and nets are both nodes. The cells' encoded features enter as the cell state; the nets'
inputs (:func:`gsr_eda.models.inputs.net_inputs` of the stored net features: degree, box,
HPWL, the net's RUDY and the maps over its box) go through their own Linear encoder into the
net state. :class:`gsr_eda.nn.HeteroGSRStack` then runs ``L`` reversible layers of
cell -> net and net -> cell GS(k) message passing on the CBSR kernels (activation memory flat in
depth), and the shared head reads the cells. With ``placement_groups``, a third relation runs
cell -> cell GS(k) message passing over each cell's nearest cells on the die (the placement
neighbours the homogeneous models join to the netlist graph; the graph's ``placement`` matrix)
in that many groups of each layer.

The net state is half as wide as the cells' by default (:func:`default_net_hidden`): nets are
as many as cells, and every row-wise kernel of the net side costs in proportion to its width.
On zero-riscy-a that took the step from 1.76-1.90x to 1.36-1.41x the capped-clique step, and
held-out quality did not drop (benchmarks/README.md, "Cell-net graphs").
"""

from __future__ import annotations

from torch import Tensor, nn

from gsr_eda.models.inputs import NET_INPUT_CHANNELS, CellNetGraph
from gsr_eda.nn import HeteroGSRStack

#: Cell groups per layer that take the placement relation (of ``groups``, 2 by default), when the
#: graph has placement neighbours. One: in both groups the relation doubled its cost and scored
#: no higher on unseen designs (benchmarks/README.md, "The placement relation").
DEFAULT_PLACEMENT_GROUPS = 1


def default_placement_groups(placement_neighbours: int) -> int:
    """The placement relation's groups for a graph with that many placement neighbours (0: none)."""
    return DEFAULT_PLACEMENT_GROUPS if placement_neighbours else 0


def default_net_hidden(hidden: int, groups: int, k: int) -> int:
    """Half of ``hidden`` (a multiple of ``groups``), but no narrower than ``k`` per group, nor wider than ``hidden``."""
    half = (hidden // 2) // groups * groups
    return min(hidden, max(half, groups * k))


class GSRCellNetBody(nn.Module):
    """Net encoder + :class:`HeteroGSRStack`; ``body(h_cells, graph) -> h_cells``."""

    def __init__(
        self,
        hidden: int,
        layers: int,
        groups: int,
        k: int,
        dropout: float,
        concurrent: bool = False,
        net_hidden: int | None = None,
        placement_groups: int = 0,
    ) -> None:
        super().__init__()
        net_hidden = default_net_hidden(hidden, groups, k) if net_hidden is None else net_hidden
        self.net_encoder = nn.Linear(NET_INPUT_CHANNELS, net_hidden)
        self.stack = HeteroGSRStack(
            hidden,
            layers,
            groups=groups,
            k=k,
            dropout=dropout,
            concurrent=concurrent,
            net_channels=net_hidden,
            placement_groups=placement_groups,
        )

    def forward(self, h: Tensor, graph: CellNetGraph) -> Tensor:
        if not isinstance(graph, CellNetGraph):
            raise TypeError(
                f"gsr-cellnet takes a CellNetGraph (gsr_eda.models.inputs.model_graph), got {type(graph).__name__}"
            )
        cells, _nets = self.stack(h, self.net_encoder(graph.net_x), graph)
        return cells
