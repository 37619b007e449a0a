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

**Two-pin nets** (:data:`TWO_PIN_NETS`). With ``"nodes"`` every stored net is a net node. With
``"edges"`` a net of exactly two distinct cells is not: it becomes the cell-cell pair ``a <-> b``
(``pairs``, ``N x N``, :math:`P = D_{pair}^{-1} A_2` with ``A_2`` counting the two-pin nets
between two cells), and only the nets of three or more cells stay nodes. A two-pin net's box is
its two pins', so its node adds little the pair does not carry, while it costs a row in every
dense step of both relations: on CircuitNet zero-riscy-a 54% of the nets have two pins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from gsr_eda.graph.net_nodes import NET_FEATURES, NetNodes, build_net_nodes
from gsr_eda.ops import CSRAdjacency

#: Models that take a :class:`CellNetGraph` instead of the cell adjacency.
CELLNET_MODELS = ("gsr-cellnet", "hetero-sage")

#: Width of the net nodes' model input: every stored net feature.
NET_INPUT_CHANNELS = len(NET_FEATURES)

#: How the cell-net models take the nets of exactly two cells (module docstring).
TWO_PIN_NETS = ("nodes", "edges")


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
    (:func:`net_inputs`). With two-pin nets as edges, ``pairs`` (``N x N``) links the two cells
    of each and the ``M`` net nodes are the nets of three or more cells; else ``pairs`` is None.
    :attr:`cells`, the ``N x N`` cell adjacency of the store (the capped clique of a cell-net
    design), is prepared on first use only: the cell-net models do not read it.
    """

    net_from_cell: CSRAdjacency
    cell_from_net: CSRAdjacency
    net_x: torch.Tensor
    cell_indptr: np.ndarray | None = None
    cell_indices: np.ndarray | None = None
    normalization: str = "mean"
    pairs: CSRAdjacency | None = None
    #: With pairs, the rows of the stored net nodes that are net nodes here (the rest are pairs).
    kept_nets: np.ndarray | None = None
    _cells: CSRAdjacency | None = field(default=None, repr=False)
    _pairs_and_nets: CSRAdjacency | None = field(default=None, repr=False)

    @property
    def two_pin_nets(self) -> str:
        """``"edges"`` when two-pin nets are cell pairs, else ``"nodes"`` (:data:`TWO_PIN_NETS`)."""
        return "nodes" if self.pairs is None else "edges"

    @property
    def num_nodes(self) -> int:
        """Cells (the nodes the model predicts for)."""
        return self.cell_from_net.num_rows

    @property
    def num_nets(self) -> int:
        """Net nodes (with two-pin nets as edges, the nets of three or more cells)."""
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

    def set_net_features(self, features: np.ndarray) -> None:
        """Overwrite the net inputs from the stored net features of every net node ``(M_all, F)``
        (:func:`gsr_eda.graph.net_features`, e.g. at moved positions), in place."""
        rows = features if self.kept_nets is None else np.asarray(features)[self.kept_nets]
        self.net_x.copy_(torch.from_numpy(net_inputs(rows)))

    @property
    def pairs_and_nets(self) -> CSRAdjacency:
        """``[P; \\hat B]``, ``(N + M) x N``: the cells' pair messages in the first ``N`` rows,
        the nets' in the rest, so both come out of one pass over the cells' transformed
        states (:class:`gsr_eda.nn.HeteroGSRStack`). Each row keeps its own mean."""
        if self.pairs is None:
            raise ValueError("this CellNetGraph keeps two-pin nets as nodes: it has no pairs")
        if self._pairs_and_nets is None:
            p_indptr, p_indices, _ = self.pairs.csr()
            b_indptr, b_indices, _ = self.net_from_cell.csr()
            indptr = torch.cat([p_indptr, b_indptr[1:] + p_indptr[-1]])
            self._pairs_and_nets = CSRAdjacency.from_csr(
                indptr.cpu().numpy(),
                torch.cat([p_indices, b_indices]).cpu().numpy(),
                self.num_nodes + self.num_nets,
                num_cols=self.num_nodes,
                normalization=self.normalization,
                device=self.device,
            )
        return self._pairs_and_nets

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
            None if self.pairs is None else self.pairs.to(device),
            self.kept_nets,
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
        two_pin_nets: str = "nodes",
    ) -> CellNetGraph:
        """Both incidences from the net-major one of ``nets``, and the net inputs; with
        ``two_pin_nets="edges"`` also the cell pairs of the two-pin nets (module docstring)."""
        if two_pin_nets not in TWO_PIN_NETS:
            raise ValueError(f"two_pin_nets must be one of {TWO_PIN_NETS}, got {two_pin_nets!r}")
        indptr, cells, features, pairs, kept = nets.indptr, nets.cells, nets.features, None, None
        if two_pin_nets == "edges":
            degree = np.diff(indptr)
            two = np.flatnonzero(degree == 2)
            pairs = _pair_adjacency(cells[indptr[two]], cells[indptr[two] + 1], num_cells, normalization, device)
            kept = np.flatnonzero(degree != 2)
            indptr, cells = _kept_rows(indptr, cells, kept)
            features = features[kept]
        m = len(indptr) - 1
        net_from_cell = CSRAdjacency.from_csr(
            indptr, cells, m, num_cols=num_cells, normalization=normalization, device=device
        )
        # The cell-major incidence: the transpose's structure, normalised over each cell's nets.
        t_indptr, t_indices, _ = net_from_cell.csr(transpose=True)
        cell_from_net = CSRAdjacency.from_csr(
            t_indptr, t_indices, num_cells, num_cols=m, normalization=normalization, device=device
        )
        net_x = torch.from_numpy(net_inputs(features)).to(device)
        return cls(net_from_cell, cell_from_net, net_x, cell_indptr, cell_indices, normalization, pairs, kept)


def _pair_adjacency(
    a: np.ndarray, b: np.ndarray, num_cells: int, normalization: str, device: str | torch.device
) -> CSRAdjacency:
    """``N x N``: ``a[i] <-> b[i]`` in both directions, one entry per two-pin net (a pair joined
    by two nets counts twice in its rows' means)."""
    rows = np.concatenate([a, b]).astype(np.int64)
    cols = np.concatenate([b, a]).astype(np.int32)
    order = np.argsort(rows, kind="stable")
    indptr = np.zeros(num_cells + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=num_cells), out=indptr[1:])
    return CSRAdjacency.from_csr(indptr, cols[order], num_cells, normalization=normalization, device=device)


def _kept_rows(indptr: np.ndarray, indices: np.ndarray, kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The CSR rows ``kept`` (increasing) of ``(indptr, indices)``, in that order."""
    lengths = np.diff(indptr)[kept]
    out_ptr = np.zeros(len(kept) + 1, dtype=np.int64)
    np.cumsum(lengths, out=out_ptr[1:])
    starts = np.repeat(indptr[kept] - out_ptr[:-1], lengths)
    return out_ptr, indices[starts + np.arange(int(out_ptr[-1]), dtype=np.int64)]


def check_two_pin_nets(graph: CellNetGraph, expected: str, model_name: str) -> None:
    """Refuse a graph whose two-pin nets are not what the model was built for."""
    if graph.two_pin_nets != expected:
        raise ValueError(
            f"{model_name} was built with two-pin nets as {expected}, the graph has them as "
            f"{graph.two_pin_nets}: build it with model_graph(..., two_pin_nets={expected!r})"
        )


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
    two_pin_nets: str = "nodes",
) -> CSRAdjacency | CellNetGraph:
    """The graph input of ``model_name`` for a placed design and its cell adjacency.

    For the cell-net models the net nodes are ``net_nodes`` when given (a store's), else they
    are computed from the design at its positions (:func:`gsr_eda.graph.build_net_nodes`, the
    function ingest stores them with, so both give the same values); ``two_pin_nets``
    (:data:`TWO_PIN_NETS`) is the model's choice for the nets of two cells.
    """
    if not needs_net_nodes(model_name):
        return CSRAdjacency.from_csr(
            np.asarray(indptr, dtype=np.int64),
            np.asarray(indices, dtype=np.int32),
            int(design.num_nodes),
            normalization=normalization,
            device=device,
        )
    nets = build_net_nodes(design) if net_nodes is None else net_nodes
    return CellNetGraph.from_net_nodes(
        nets,
        design.num_nodes,
        device=device,
        normalization=normalization,
        cell_indptr=np.asarray(indptr, dtype=np.int64),
        cell_indices=np.asarray(indices, dtype=np.int32),
        two_pin_nets=two_pin_nets,
    )


def model_graph(
    model_name: str,
    record,
    device: str | torch.device = "cpu",
    normalization: str = "mean",
    *,
    two_pin_nets: str = "nodes",
) -> CSRAdjacency | CellNetGraph:
    """The graph input of ``model_name`` for a store record (:class:`gsr_eda.store.DesignRecord`).

    Homogeneous models get the record's adjacency; the cell-net models its stored net nodes (a
    ``cell-net`` store), or net nodes computed from its design (any other store).
    """
    return design_graph(
        model_name,
        record.design,
        record.indptr,
        record.indices,
        device,
        normalization,
        net_nodes=getattr(record, "net_nodes", None),
        two_pin_nets=two_pin_nets,
    )
