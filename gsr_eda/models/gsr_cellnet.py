r"""``gsr-cellnet``: GSR-GNN on the heterogeneous cell-net graph (DR-CircuitGNN's graph, GSR's core).

Cells and nets are both nodes. The cells' encoded features enter as the cell state; the nets'
inputs (:func:`gsr_eda.models.inputs.net_inputs` of the stored net features: degree, box,
HPWL, the net's RUDY and the maps over its box) go through their own Linear encoder into the
net state. :class:`gsr_eda.nn.HeteroGSRStack` then runs ``L`` reversible layers of
cell -> net and net -> cell GS(k) message passing on the CBSR kernels (activation memory flat in
depth), and the shared head reads the cells.
"""

from __future__ import annotations

from torch import Tensor, nn

from gsr_eda.models.inputs import NET_INPUT_CHANNELS, CellNetGraph
from gsr_eda.nn import HeteroGSRStack


class GSRCellNetBody(nn.Module):
    """Net encoder + :class:`HeteroGSRStack`; ``body(h_cells, graph) -> h_cells``."""

    def __init__(self, hidden: int, layers: int, groups: int, k: int, dropout: float, concurrent: bool = False) -> None:
        super().__init__()
        self.net_encoder = nn.Linear(NET_INPUT_CHANNELS, hidden)
        self.stack = HeteroGSRStack(hidden, layers, groups=groups, k=k, dropout=dropout, concurrent=concurrent)

    def forward(self, h: Tensor, graph: CellNetGraph) -> Tensor:
        if not isinstance(graph, CellNetGraph):
            raise TypeError(
                f"gsr-cellnet takes a CellNetGraph (gsr_eda.models.inputs.model_graph), got {type(graph).__name__}"
            )
        cells, _nets = self.stack(h, self.net_encoder(graph.net_x), graph)
        return cells
