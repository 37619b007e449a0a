"""The graph operand of every kernel: a CSR matrix prepared once per graph.

Square for a graph of one node type (``N x N``), rectangular for the pin edges of a bipartite
cell-net graph (``M x N``: nets aggregating from cells, and its ``N x M`` counterpart).

Preparation (normalisation, the transpose for the pull-style backward, and the nnz-balanced
work partitions) costs a few sorts; it is done once when a design is loaded and reused by every
layer of every training step.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from gsr_eda.ops.dtypes import FLOAT_CODES

NORMALIZATIONS = ("mean", "sym", "none")

# Target work per partition, in "merge-path" units (one per nonzero plus one per row). Small
# enough for load balance across threads/warps, large enough to amortise scheduling. On a GPU a
# part is one warp's work: small parts keep enough warps in flight to hide memory latency
# (benchmarks/README.md, "GPU": 256 left 84% of an H200's warp slots idle).
_CPU_PART_COST = 2048
_CUDA_PART_COST = 32


def balanced_partition(indptr: np.ndarray, part_cost: int, split_rows: bool) -> np.ndarray:
    """Cut the rows of a CSR matrix into parts of about ``part_cost`` work each.

    Work of a row ``r`` is ``deg(r) + 1`` (the merge-path cost: reading its nonzeros and writing
    its output row), so a run of degree-1 rows and a clock hub of degree 8000 get parts of the
    same cost. Returns an ``int64`` array ``(P, 4)`` of ``[row_begin, row_end, nnz_begin,
    nnz_end]``. A row heavier than a part gets a part of its own; with ``split_rows`` (GPU) it is
    further cut into nnz slices of ``part_cost`` whose partial sums are added atomically.
    """
    n = indptr.shape[0] - 1
    if n == 0:
        return np.zeros((0, 4), dtype=np.int64)
    degree = np.diff(indptr)
    cost_before = indptr[:-1] + np.arange(n, dtype=np.int64)  # merge-path coordinate of row start
    total = int(indptr[-1]) + n
    targets = np.arange(part_cost, total, part_cost, dtype=np.int64)
    cuts = np.searchsorted(cost_before, targets, side="left")
    heavy = np.flatnonzero(degree + 1 > part_cost)
    cuts = np.unique(np.concatenate(([0, n], cuts, heavy, heavy + 1)))
    cuts = cuts[(cuts >= 0) & (cuts <= n)]
    row_begin, row_end = cuts[:-1], cuts[1:]
    parts = np.stack([row_begin, row_end, indptr[row_begin], indptr[row_end]], axis=1)
    if not split_rows or heavy.size == 0:
        return parts.astype(np.int64)
    pieces = []
    for part in parts:
        rb, re, nb, ne = (int(v) for v in part)
        if re - rb == 1 and ne - nb > part_cost:
            starts = np.arange(nb, ne, part_cost, dtype=np.int64)
            ends = np.minimum(starts + part_cost, ne)
            pieces.append(np.stack([np.full_like(starts, rb), np.full_like(starts, re), starts, ends], axis=1))
        else:
            pieces.append(part[None, :])
    return np.concatenate(pieces).astype(np.int64)


class CSRAdjacency:
    """Graph prepared once: normalised CSR weights, the transpose, the nnz-balanced partition.

    ``A[i, j] != 0`` means node ``i`` aggregates from node ``j`` (row = destination), so a layer
    computes ``Z = A @ X``. ``A`` is ``num_rows x num_cols``: square (``num_nodes``) for a graph,
    rectangular for a bipartite relation (rows: the destination type, columns: the source
    type; ``X`` then has ``num_cols`` rows and ``Z`` ``num_rows``). Weights follow ``normalization``:

    * ``"mean"``: :math:`A_{ij} = 1 / \\deg(i)` (``D^{-1} A``, a mean over the neighbours);
    * ``"sym"``:  :math:`A_{ij} = 1 / \\sqrt{\\deg_{out}(i) \\deg_{in}(j)}` (``D^{-1/2} A D^{-1/2}``);
    * ``"none"``: :math:`A_{ij} = 1` (sum aggregation).

    Duplicate entries are kept (they count twice). Use :meth:`from_csr` to build one.
    """

    num_rows: int
    num_cols: int
    nnz: int
    device: torch.device

    def __init__(
        self,
        indptr: torch.Tensor,
        indices: torch.Tensor,
        weight: torch.Tensor,
        t_indptr: torch.Tensor,
        t_indices: torch.Tensor,
        t_weight: torch.Tensor,
        num_nodes: int,
        normalization: str,
        num_cols: int | None = None,
    ) -> None:
        self.num_rows = int(num_nodes)
        self.num_cols = self.num_rows if num_cols is None else int(num_cols)
        self.nnz = int(indices.shape[0])
        self.normalization = normalization
        self.device = indptr.device
        self.dtype = weight.dtype
        self._indptr, self._indices, self._weight = indptr, indices, weight
        self._t_indptr, self._t_indices, self._t_weight = t_indptr, t_indices, t_weight
        part_cost, split = (_CUDA_PART_COST, True) if self.device.type == "cuda" else (_CPU_PART_COST, False)
        self._parts = torch.from_numpy(balanced_partition(indptr.cpu().numpy(), part_cost, split)).to(self.device)
        self._t_parts = torch.from_numpy(balanced_partition(t_indptr.cpu().numpy(), part_cost, split)).to(self.device)
        self._weights_by_dtype: dict[tuple[torch.dtype, bool], torch.Tensor] = {
            (weight.dtype, False): weight,
            (weight.dtype, True): t_weight,
        }
        self._edge_index: torch.Tensor | None = None
        self._torch_sparse: torch.Tensor | None = None

    # ---- construction ---------------------------------------------------------------------
    @classmethod
    def from_csr(
        cls,
        indptr: Any,
        indices: Any,
        num_nodes: int,
        *,
        num_cols: int | None = None,
        normalization: str = "mean",
        add_self_loops: bool = False,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        symmetric: bool = False,
    ) -> CSRAdjacency:
        """Prepare a graph given as CSR structure (numpy arrays, tensors or lists).

        ``indptr`` has ``num_nodes + 1`` non-decreasing entries starting at 0 (``num_nodes`` is
        the number of rows); ``indices`` holds the column (source node) of each nonzero, below
        ``num_cols`` (default ``num_nodes``: a square graph; another value makes a rectangular
        relation matrix). ``add_self_loops`` (square only) adds ``(i, i)`` to every row that
        lacks it (before normalisation). ``symmetric``: the caller guarantees a symmetric pattern
        with each row's columns sorted (what :func:`gsr_eda.graph.build_adjacency` gives), so the
        transpose is the same structure and is not sorted for (a placement loop rebuilds its graph
        every estimate). Raises ``ValueError`` on malformed structure.
        """
        if normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
        if dtype not in FLOAT_CODES:
            raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        num_nodes = int(num_nodes)
        if num_nodes < 0:
            raise ValueError(f"num_nodes must be >= 0, got {num_nodes}")
        square = num_cols is None or int(num_cols) == num_nodes
        num_cols = num_nodes if num_cols is None else int(num_cols)
        if num_cols < 0:
            raise ValueError(f"num_cols must be >= 0, got {num_cols}")
        if add_self_loops and not square:
            raise ValueError(f"self loops need a square matrix, got {num_nodes} x {num_cols}")
        indptr_np = _as_int_array("indptr", indptr)
        indices_np = _as_int_array("indices", indices)
        if indptr_np.shape != (num_nodes + 1,):
            raise ValueError(f"indptr must have num_nodes + 1 = {num_nodes + 1} entries, got shape {indptr_np.shape}")
        if indptr_np[0] != 0 or indptr_np[-1] != indices_np.shape[0]:
            raise ValueError(
                f"indptr must start at 0 and end at len(indices) = "
                f"{indices_np.shape[0]}, got {indptr_np[0]} .. {indptr_np[-1]}"
            )
        if np.any(np.diff(indptr_np) < 0):
            raise ValueError("indptr must be non-decreasing")
        if indices_np.size and (indices_np.min() < 0 or indices_np.max() >= num_cols):
            raise ValueError(f"indices must lie in [0, {num_cols}), got range [{indices_np.min()}, {indices_np.max()}]")
        if max(num_nodes, num_cols) >= 2**31 or indices_np.shape[0] >= 2**62:
            raise ValueError("graphs with 2^31 or more nodes are not supported")

        rows = np.repeat(np.arange(num_nodes, dtype=np.int64), np.diff(indptr_np))
        if add_self_loops and num_nodes:
            has_loop = np.zeros(num_nodes, dtype=bool)
            has_loop[rows[rows == indices_np]] = True
            missing = np.flatnonzero(~has_loop)
            rows = np.concatenate([rows, missing])
            cols = np.concatenate([indices_np, missing])
            order = np.lexsort((cols, rows))
            indices_np = cols[order]
            indptr_np = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=num_nodes))))
        rows = np.repeat(np.arange(num_nodes, dtype=np.int64), np.diff(indptr_np))
        out_degree = np.diff(indptr_np).astype(np.float64)
        in_degree = np.bincount(indices_np, minlength=num_cols).astype(np.float64)
        if normalization == "mean":
            weight = 1.0 / out_degree[rows]
        elif normalization == "sym":
            weight = 1.0 / np.sqrt(out_degree[rows] * in_degree[indices_np])
        else:
            weight = np.ones(indices_np.shape[0], dtype=np.float64)

        # The transpose, for the pull-style (atomic-free) backward: a stable sort by column, or
        # for a symmetric sorted pattern the same structure, entry (i, j) weighted like (j, i).
        if symmetric and square and not add_self_loops:
            t_indptr, t_indices = indptr_np, indices_np
            t_weight = weight if normalization != "mean" else 1.0 / out_degree[indices_np]
        else:
            order = np.argsort(indices_np, kind="stable")
            t_indices = rows[order]
            t_weight = weight[order]
            t_indptr = np.concatenate(([0], np.cumsum(in_degree.astype(np.int64))))

        dev = torch.device(device)
        as_t = lambda a, dt: torch.from_numpy(np.ascontiguousarray(a)).to(dt).to(dev)  # noqa: E731
        return cls(
            as_t(indptr_np, torch.int64),
            as_t(indices_np, torch.int32),
            as_t(weight, dtype),
            as_t(t_indptr, torch.int64),
            as_t(t_indices, torch.int32),
            as_t(t_weight, dtype),
            num_nodes,
            normalization,
            num_cols,
        )

    @property
    def num_nodes(self) -> int:
        """The node count of a square graph (rows = columns); a rectangular matrix has none."""
        if self.num_rows != self.num_cols:
            raise ValueError(
                f"a {self.num_rows} x {self.num_cols} relation matrix has no single node count: "
                "use num_rows (destinations) and num_cols (sources)"
            )
        return self.num_rows

    @property
    def is_square(self) -> bool:
        return self.num_rows == self.num_cols

    @property
    def shape(self) -> tuple[int, int]:
        return (self.num_rows, self.num_cols)

    # ---- conversions ----------------------------------------------------------------------
    def to(self, device: str | torch.device) -> CSRAdjacency:
        """This graph on ``device`` (partitions are rebuilt for the device's kernels)."""
        device = torch.device(device)
        if device == self.device:
            return self
        return CSRAdjacency(
            self._indptr.to(device),
            self._indices.to(device),
            self._weight.to(device),
            self._t_indptr.to(device),
            self._t_indices.to(device),
            self._t_weight.to(device),
            self.num_rows,
            self.normalization,
            self.num_cols,
        )

    def edge_index(self) -> torch.Tensor:
        """``(2, nnz)`` int64 ``[source, destination]`` in PyG's convention (cached)."""
        if self._edge_index is None:
            rows = torch.repeat_interleave(torch.arange(self.num_rows, device=self.device), self._indptr.diff())
            self._edge_index = torch.stack([self._indices.long(), rows])
        return self._edge_index

    def edge_weight(self) -> torch.Tensor:
        """``(nnz,)`` normalised weights, aligned with :meth:`edge_index`."""
        return self._weight

    def to_torch_sparse(self) -> torch.Tensor:
        """The normalised matrix as a ``torch.sparse_csr`` tensor (cached: the deep baselines
        aggregate with it once per layer)."""
        if self._torch_sparse is None:
            with warnings.catch_warnings():  # "sparse CSR support is in beta": noise for users
                warnings.simplefilter("ignore", UserWarning)
                self._torch_sparse = torch.sparse_csr_tensor(
                    self._indptr,
                    self._indices.long(),
                    self._weight,
                    size=(self.num_rows, self.num_cols),
                    check_invariants=False,
                )
        return self._torch_sparse

    def csr(self, transpose: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(indptr int64, indices int32, weight)`` of ``A`` (or of ``A^T``)."""
        if transpose:
            return self._t_indptr, self._t_indices, self._t_weight
        return self._indptr, self._indices, self._weight

    def kernel_rows(self, transpose: bool = False) -> int:
        """Rows of ``A`` (or of ``A^T``) as the kernels see it: the output rows of a product."""
        return self.num_cols if transpose else self.num_rows

    def _kernel_arrays(
        self, dtype: torch.dtype, transpose: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        key = (dtype, transpose)
        weight = self._weights_by_dtype.get(key)
        if weight is None:
            weight = (self._t_weight if transpose else self._weight).to(dtype)
            self._weights_by_dtype[key] = weight
        if transpose:
            return self._t_indptr, self._t_indices, weight, self._t_parts
        return self._indptr, self._indices, weight, self._parts

    def __repr__(self) -> str:
        size = f"num_nodes={self.num_rows}" if self.is_square else f"shape={self.num_rows}x{self.num_cols}"
        return (
            f"CSRAdjacency({size}, nnz={self.nnz}, "
            f"normalization={self.normalization!r}, device={self.device}, dtype={self.dtype})"
        )


def _as_int_array(name: str, value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)
