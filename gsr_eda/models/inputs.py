r"""The graph input each model takes, built from a store record or a placed design: one hook.

Homogeneous models (``gsr``, ``revgnn``, ``gcn``, ``sage``) take the cell adjacency as a
:class:`~gsr_eda.ops.CSRAdjacency`. The heterogeneous ones (:data:`CELLNET_MODELS`) take a
:class:`CellNetGraph`: the two pin incidences of the cell-net graph and the net nodes' inputs.
The trainer and the predictor both call :func:`model_graph` (or :func:`design_graph` when they
hold a design rather than a record), so a model sees the same graph in training and inference.

**Net inputs.** The stored net features (:data:`gsr_eda.graph.NET_FEATURES`, all non-negative)
reach the model as :math:`\log(1 + x)`, a fixed transform: degrees, pin counts and box sizes
span four decades (a clock net against a two-pin net), and the log brings them to the range of
the standardised cell features without statistics of any design. They are deliberately not
standardised per design: standardising each design's cell features on their own cut the
held-out Pearson on zero-riscy-a from 0.52 to 0.14 (docs/training.md, "Unseen designs"), since
it erases what sets a congested design apart; and the trainer's standardiser, fitted on the
training cells, covers the cell features only. The model's net encoder (a Linear layer) then
learns the scale.

**Normalisation.** With ``"mean"`` (every model's), a net's message is the mean over its cells
(``net_from_cell``: rows are nets, :math:`D_{net}^{-1} B`) and a cell's the mean over its nets
(``cell_from_net``: :math:`D_{cell}^{-1} B^\top`); both are built from the one stored
net-major incidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from gsr_eda.graph.net_nodes import NET_FEATURES, NetNodes, build_net_nodes
from gsr_eda.graph.placement_edges import add_placement_neighbours, node_centres, placement_neighbours_csr
from gsr_eda.ops import CSRAdjacency

#: Models that take a :class:`CellNetGraph` instead of the cell adjacency.
CELLNET_MODELS = ("gsr-cellnet", "hetero-sage")

#: Width of the net nodes' model input: every stored net feature.
NET_INPUT_CHANNELS = len(NET_FEATURES)


def net_inputs(features: np.ndarray) -> np.ndarray:
    """The net nodes' model input from their stored features: ``log(1 + x)``, float32."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[1] != NET_INPUT_CHANNELS:
        raise ValueError(f"net features must be (M, {NET_INPUT_CHANNELS}), got {features.shape}")
    return np.log1p(np.maximum(features, 0.0)).astype(np.float32)


@dataclass(eq=False)
class CellNetGraph:
    """The heterogeneous cell-net graph on one device, as the cell-net models take it.

    ``net_from_cell`` is ``M x N`` (a net aggregates from its cells), ``cell_from_net``
    ``N x M`` (a cell from its nets); ``net_x`` the ``(M, NET_INPUT_CHANNELS)`` net inputs
    (:func:`net_inputs`). ``placement``, when built with placement neighbours, is the ``N x N``
    matrix of each cell's nearest cells on the die (:func:`placement_adjacency`), the cell ->
    cell relation. :attr:`cells`, the ``N x N`` cell adjacency of the store (the capped clique of
    a cell-net design), is prepared on first use only: the cell-net models do not read it.
    """

    net_from_cell: CSRAdjacency
    cell_from_net: CSRAdjacency
    net_x: torch.Tensor
    cell_indptr: np.ndarray | None = None
    cell_indices: np.ndarray | None = None
    normalization: str = "mean"
    placement: CSRAdjacency | None = None
    _cells: CSRAdjacency | None = field(default=None, repr=False)

    @property
    def num_nodes(self) -> int:
        """Cells (the nodes the model predicts for)."""
        return self.cell_from_net.num_rows

    @property
    def num_nets(self) -> int:
        return self.net_from_cell.num_rows

    @property
    def device(self) -> torch.device:
        return self.net_x.device

    @property
    def cells(self) -> CSRAdjacency:
        if self._cells is None:
            if self.cell_indptr is None or self.cell_indices is None:
                raise ValueError("this CellNetGraph was built without the cell adjacency")
            self._cells = CSRAdjacency.from_csr(
                self.cell_indptr,
                self.cell_indices,
                self.num_nodes,
                normalization=self.normalization,
                device=self.device,
            )
        return self._cells

    def to(self, device: str | torch.device) -> CellNetGraph:
        device = torch.device(device)
        if device == self.device:
            return self
        return CellNetGraph(
            self.net_from_cell.to(device),
            self.cell_from_net.to(device),
            self.net_x.to(device),
            self.cell_indptr,
            self.cell_indices,
            self.normalization,
            None if self.placement is None else self.placement.to(device),
        )

    @classmethod
    def from_net_nodes(
        cls,
        nets: NetNodes,
        num_cells: int,
        *,
        device: str | torch.device = "cpu",
        normalization: str = "mean",
        cell_indptr: np.ndarray | None = None,
        cell_indices: np.ndarray | None = None,
        placement: CSRAdjacency | None = None,
    ) -> CellNetGraph:
        """Both incidences from the net-major one of ``nets``, and the net inputs."""
        m = nets.num_nets
        net_from_cell = CSRAdjacency.from_csr(
            nets.indptr, nets.cells, m, num_cols=num_cells, normalization=normalization, device=device
        )
        # The cell-major incidence: the transpose's structure, normalised over each cell's nets.
        t_indptr, t_indices, _ = net_from_cell.csr(transpose=True)
        cell_from_net = CSRAdjacency.from_csr(
            t_indptr, t_indices, num_cells, num_cols=m, normalization=normalization, device=device
        )
        net_x = torch.from_numpy(net_inputs(nets.features)).to(device)
        return cls(net_from_cell, cell_from_net, net_x, cell_indptr, cell_indices, normalization, placement)


def needs_net_nodes(model_name: str) -> bool:
    """Whether ``model_name`` takes a :class:`CellNetGraph`."""
    return model_name in CELLNET_MODELS


def design_graph(
    model_name: str,
    design,
    indptr: np.ndarray,
    indices: np.ndarray,
    device: str | torch.device = "cpu",
    normalization: str = "mean",
    *,
    net_nodes: NetNodes | None = None,
    placement_neighbours: int = 0,
    positions: tuple[np.ndarray, np.ndarray] | None = None,
) -> CSRAdjacency | CellNetGraph:
    """The graph input of ``model_name`` for a placed design and its cell adjacency.

    The homogeneous models get the adjacency joined with each node's ``placement_neighbours``
    nearest nodes on the die (:mod:`gsr_eda.graph.placement_edges`), at ``positions`` (lower-left
    ``(x, y)``; default the design's own). For the cell-net models the net nodes are
    ``net_nodes`` when given (a store's), else they are computed from the design at its positions
    (:func:`gsr_eda.graph.build_net_nodes`, the function ingest stores them with, so both give the
    same values); the placement neighbours are their cell -> cell relation
    (:func:`placement_adjacency`), since they do not read the cell adjacency.
    """
    if not needs_net_nodes(model_name):
        if placement_neighbours:
            centres = node_centres(design, *(positions or (None, None)))
            indptr, indices = add_placement_neighbours(indptr, indices, centres, placement_neighbours)
        return CSRAdjacency.from_csr(
            np.asarray(indptr, dtype=np.int64),
            np.asarray(indices, dtype=np.int32),
            int(design.num_nodes),
            normalization=normalization,
            device=device,
            symmetric=bool(placement_neighbours),  # add_placement_neighbours returns symmetric, sorted rows
        )
    nets = build_net_nodes(design) if net_nodes is None else net_nodes
    placement = None
    if placement_neighbours:
        placement = placement_adjacency(design, placement_neighbours, positions, device, normalization)
    return CellNetGraph.from_net_nodes(
        nets,
        design.num_nodes,
        device=device,
        normalization=normalization,
        cell_indptr=np.asarray(indptr, dtype=np.int64),
        cell_indices=np.asarray(indices, dtype=np.int32),
        placement=placement,
    )


def placement_adjacency(
    design,
    placement_neighbours: int,
    positions: tuple[np.ndarray, np.ndarray] | None = None,
    device: str | torch.device = "cpu",
    normalization: str = "mean",
) -> CSRAdjacency:
    """The ``N x N`` matrix of each cell's ``placement_neighbours`` nearest cells at ``positions``
    (lower-left ``(x, y)``; default the design's), symmetrised, without the netlist."""
    centres = node_centres(design, *(positions or (None, None)))
    indptr, indices = placement_neighbours_csr(centres, placement_neighbours)
    return CSRAdjacency.from_csr(
        indptr,
        indices,
        int(design.num_nodes),
        normalization=normalization,
        device=device,
        symmetric=True,
    )


def model_graph(
    model_name: str,
    record,
    device: str | torch.device = "cpu",
    normalization: str = "mean",
    placement_neighbours: int = 0,
) -> CSRAdjacency | CellNetGraph:
    """The graph input of ``model_name`` for a store record (:class:`gsr_eda.store.DesignRecord`).

    Homogeneous models get the record's adjacency (with ``placement_neighbours`` nearest nodes
    at the stored positions, :func:`design_graph`); the cell-net models its stored net nodes (a
    ``cell-net`` store), or net nodes computed from its design (any other store), and the
    placement neighbours as their own relation.
    """
    return design_graph(
        model_name,
        record.design,
        record.indptr,
        record.indices,
        device,
        normalization,
        net_nodes=getattr(record, "net_nodes", None),
        placement_neighbours=placement_neighbours,
    )
