"""One GSR block F(y) = A @ (GS_k(LayerNorm(y)) @ W) + b, evaluated into preallocated buffers.

This is the inner function of every group of every layer of :class:`~gsr_eda.nn.GSRStack`:

.. math::
    \\hat y = (y - \\mu(y)) / \\sqrt{\\sigma^2(y) + \\epsilon},\\quad h = \\hat y \\odot \\gamma + \\beta,
    \\quad (V, I) = \\mathrm{topk}_k(h),\\quad F(y) = A\\,(S(V \\odot m, I)\\,W) + b

with ``m`` the (scaled) dropout mask on the kept entries. :class:`BlockWorkspace` holds every
intermediate for one ``N x d`` group, allocated once per stack call and overwritten by each
layer in turn (no allocate-free-copy per layer). :meth:`BlockWorkspace.forward` and
:meth:`BlockWorkspace.backward` run without autograd: the stack's own Function calls them.
"""

from __future__ import annotations

import torch

from gsr_eda.ops import kernels
from gsr_eda.ops.adjacency import CSRAdjacency
from gsr_eda.ops.aggregate import GATHER_FIRST, association_order, linear_aggregate_backward
from gsr_eda.ops.dtypes import index_dtype_for

LAYER_NORM_EPS = 1e-5


def dropout_mask(
    n: int, k: int, p: float, seed: int, device: torch.device, dtype: torch.dtype, out: torch.Tensor | None = None
) -> torch.Tensor:
    """The inverted-dropout mask of one (step, layer, group): ``1/(1-p)`` kept, ``0`` dropped.

    Drawn from a generator seeded with ``seed`` alone, so the backward regenerates exactly the
    forward's mask and the reversible reconstruction stays exact.
    """
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    if out is None:
        out = torch.empty((n, k), device=device, dtype=dtype)
    # In place and free of per-call allocations: bernoulli_ takes p as a number, and the scale
    # goes through add_'s `alpha` (a Scalar), where mul_(number) would wrap it in a tensor.
    out.bernoulli_(1.0 - p, generator=generator)
    return out.add_(out, alpha=1.0 / (1.0 - p) - 1.0)


class BlockWorkspace:
    """Buffers for one group's F and its vector-Jacobian product, reused by every layer.

    LayerNorm and GS(k) run fused in one pass per row (:func:`kernels.layernorm_topk_into`),
    so neither the normalised rows nor ``h`` are ever stored: only ``V``, ``I`` and two
    numbers per row. Their backward needs the block's input ``y`` again, which the caller
    keeps unchanged between :meth:`forward` and :meth:`backward`.

    Without ``backward`` (inference) the gradient buffers (one ``N x d``, one ``N x k``, one
    ``d x d``) are not allocated and :meth:`backward` raises.

    ``adj`` may be rectangular (``R x C``, a bipartite relation such as nets aggregating from
    cells): the block's input ``y`` then has ``C`` rows and its output ``R``, and the buffers
    are sized by the rows they hold (``V``, ``I`` and the row statistics by the input). The
    output may also be narrower or wider than the input (``out_dim``, default ``dim``): ``W`` is
    then ``dim x out_dim`` and ``b`` has ``out_dim`` entries.
    """

    def __init__(
        self,
        adj: CSRAdjacency,
        dim: int,
        k: int,
        dtype: torch.dtype,
        *,
        backward: bool = True,
        out_dim: int | None = None,
    ) -> None:
        n_out, n, device = adj.num_rows, adj.num_cols, adj.device
        out_dim = dim if out_dim is None else out_dim
        self.adj, self.dim, self.out_dim, self.k = adj, dim, out_dim, k
        self.num_inputs = n
        self.order = association_order(n_out, adj.nnz, k, dim, out_dim, n)
        self._new = lambda *shape: torch.empty(shape, dtype=dtype, device=device)  # noqa: E731
        new = self._new
        self.mean = new(n)
        self.rstd = new(n)
        # S @ W (input rows, out_dim wide) or A @ S (output rows, dim wide), by association order.
        hidden_shape = (n, out_dim) if self.order == GATHER_FIRST else (n_out, dim)
        self.hidden = new(*hidden_shape)
        self.values = new(n, k)
        self.indices = torch.empty(n, k, dtype=index_dtype_for(dim), device=device)
        self.has_backward = backward
        if backward:
            # A^T G (input rows) or G W^T (output rows).
            self.grad_hidden = new(*hidden_shape)
            self.negated_weight = new(dim, out_dim)  # -W and -b: X = Y - F(y) accumulates
            self.negated_bias = new(out_dim)  # A (S (-W)) - b into Y
            self.grad_values = new(n, k)
        self._group_sum: torch.Tensor | None = None
        self._grad_sum: torch.Tensor | None = None
        self._mask: torch.Tensor | None = None
        self._input: torch.Tensor | None = None
        #: The top-k positions of the last forward (``indices`` or the caller's slot), which
        #: :meth:`backward` and a :class:`SharedCodeBlock` reading this code use.
        self.active_indices = self.indices

    @property
    def group_sum(self) -> torch.Tensor:
        """``X'_0 = sum`` of groups 2..C (the input of group 1), needed only for C > 2."""
        if self._group_sum is None:
            self._group_sum = self._new(self.num_inputs, self.dim)
        return self._group_sum

    @property
    def grad_sum(self) -> torch.Tensor:
        """The gradient of ``X'_0``, shared by groups 2..C: needed only for C > 2."""
        if self._grad_sum is None:
            self._grad_sum = self._new(self.num_inputs, self.dim)
        return self._grad_sum

    @property
    def mask(self) -> torch.Tensor:
        """The dropout mask on the kept entries, needed only with dropout."""
        if self._mask is None:
            self._mask = self._new(self.num_inputs, self.k)
        return self._mask

    def forward(
        self,
        y: torch.Tensor,
        ln_weight: torch.Tensor,
        ln_bias: torch.Tensor,
        weight: torch.Tensor,
        bias: torch.Tensor,
        out: torch.Tensor,
        accumulate: bool,
        dropout: float,
        seed: int,
        indices: torch.Tensor | None = None,
        given_indices: bool = False,
        subtract: bool = False,
    ) -> None:
        """``out (+)= F(y)``, or with ``subtract`` ``out -= F(y)`` (the reversible
        reconstruction, in place: no ``N x d`` temporary for ``F(y)``).

        ``indices`` (``N x k``, default the workspace's own buffer) receives the top-k
        positions, so the stack can have them written straight into its saved slot; with
        ``given_indices`` they are read from there (the forward's choice) instead of being
        searched again. :meth:`backward` uses the same tensor, which must stay unchanged.
        """
        adj, k = self.adj, self.k
        if indices is None:
            indices = self.indices
        kernels.layernorm_topk_into(
            y,
            ln_weight,
            ln_bias,
            LAYER_NORM_EPS,
            self.values,
            indices,
            self.mean,
            self.rstd,
            given_indices=given_indices,
        )
        self._input, self.active_indices = y, indices
        if dropout > 0.0:
            dropout_mask(self.num_inputs, k, dropout, seed, adj.device, self.values.dtype, out=self.mask)
            self.values.mul_(self.mask)
        if subtract:
            # Y - F(y) = Y + A (S (-W)) + (-b): negating the d x d weight and the bias is
            # cheaper than negating an N x d result.
            weight = torch.neg(weight, out=self.negated_weight)
            bias = torch.neg(bias, out=self.negated_bias)
            accumulate = True
        _linear_aggregate(self, self.values, indices, self.dim, weight, out, accumulate, bias)

    def backward(
        self,
        grad: torch.Tensor,
        ln_weight: torch.Tensor,
        weight: torch.Tensor,
        dropout: float,
        grad_ln_weight: torch.Tensor,
        grad_ln_bias: torch.Tensor,
        grad_weight: torch.Tensor,
        grad_bias: torch.Tensor,
        grad_input: torch.Tensor,
        accumulate_input: bool,
        grad_bias_ready: bool = False,
        grad_input_sum: torch.Tensor | None = None,
    ) -> None:
        """VJP of the last :meth:`forward` for output gradient ``grad``.

        Writes the parameter gradients into their (per layer and group) slices and adds (or,
        without ``accumulate_input``, writes) the input gradient into ``grad_input``. The
        input ``y`` of that forward must still hold the same values.

        ``grad_bias_ready``: ``grad_bias`` already holds ``grad.sum(0)`` (the previous block's
        ``grad_input_sum``). ``grad_input_sum``: receives ``grad_input.sum(0)`` after the update,
        summed as its rows are written; when ``grad_input`` is the next block's ``grad``, that is
        the next block's bias gradient, and its own N x d pass is saved.
        """
        self.backward_linear(grad, weight, grad_weight, grad_bias, grad_bias_ready)
        self.backward_code(
            ln_weight,
            dropout,
            grad_ln_weight,
            grad_ln_bias,
            grad_input,
            accumulate_input,
            grad_input_sum,
        )

    def backward_linear(
        self,
        grad: torch.Tensor,
        weight: torch.Tensor,
        grad_weight: torch.Tensor,
        grad_bias: torch.Tensor,
        grad_bias_ready: bool = False,
    ) -> None:
        """The first half of :meth:`backward`: ``dW``, ``db`` and the gradient of the kept values
        (in :attr:`grad_values`, where a :class:`SharedCodeBlock` reading this code adds its own)."""
        if not self.has_backward:
            raise RuntimeError("this BlockWorkspace was built for inference (backward=False)")
        if not grad_bias_ready:
            torch.sum(grad, dim=0, out=grad_bias)
        _linear_aggregate_backward(self, grad, self.values, self.active_indices, weight, grad_weight)

    def backward_code(
        self,
        ln_weight: torch.Tensor,
        dropout: float,
        grad_ln_weight: torch.Tensor,
        grad_ln_bias: torch.Tensor,
        grad_input: torch.Tensor,
        accumulate_input: bool,
        grad_input_sum: torch.Tensor | None = None,
    ) -> None:
        """The second half of :meth:`backward`: from :attr:`grad_values` through the dropout mask,
        GS(k) and the LayerNorm to the input."""
        if dropout > 0.0:
            self.grad_values.mul_(self.mask)
        kernels.layernorm_topk_backward_into(
            self._input,
            ln_weight,
            self.mean,
            self.rstd,
            self.active_indices,
            self.grad_values,
            grad_input,
            grad_ln_weight,
            grad_ln_bias,
            accumulate=accumulate_input,
            grad_y_sum=grad_input_sum,
        )


class SharedCodeBlock:
    """A second relation out of another block's sparse code: ``out (+)= A' (S W')``.

    ``S = GS_k(LN(y))`` is the code a :class:`BlockWorkspace` computed for its own relation
    (``code``, after dropout); this block sends it along another matrix ``A'`` with its own
    weight ``W'`` and neither a LayerNorm nor a bias of its own (its output is summed with a
    block that has one). It costs the linear map and the aggregation only: the code's row
    statistics, top-k search and their backward are the other block's.

    Backward: :meth:`backward` adds the gradient of the kept values into ``code.grad_values``,
    so it runs between the code block's :meth:`BlockWorkspace.backward_linear` and
    :meth:`BlockWorkspace.backward_code`.
    """

    def __init__(
        self, adj: CSRAdjacency, code: BlockWorkspace, *, backward: bool = True, out_dim: int | None = None
    ) -> None:
        if adj.num_cols != code.num_inputs:
            raise ValueError(f"the matrix has {adj.num_cols} columns but the code has {code.num_inputs} rows")
        out_dim = code.dim if out_dim is None else out_dim
        self.adj, self.code, self.out_dim = adj, code, out_dim
        n_out, n, dim, k = adj.num_rows, adj.num_cols, code.dim, code.k
        self.order = association_order(n_out, adj.nnz, k, dim, out_dim, n)
        values = code.values

        def new(*shape: int) -> torch.Tensor:
            return torch.empty(shape, dtype=values.dtype, device=values.device)

        self.hidden = new(*((n, out_dim) if self.order == GATHER_FIRST else (n_out, dim)))
        self.has_backward = backward
        if backward:
            self.grad_hidden = new(*self.hidden.shape)
            self.negated_weight = new(dim, out_dim)
            self.grad_values = new(n, k)

    def forward(self, weight: torch.Tensor, out: torch.Tensor, subtract: bool = False) -> None:
        """``out += A' (S W')`` with the code's last values and positions (``-=`` with ``subtract``)."""
        code = self.code
        if subtract:
            weight = torch.neg(weight, out=self.negated_weight)
        _linear_aggregate(self, code.values, code.active_indices, code.dim, weight, out, True, None)

    def backward(self, grad: torch.Tensor, weight: torch.Tensor, grad_weight: torch.Tensor) -> None:
        """``dW'`` into ``grad_weight``; the kept values' gradient added into ``code.grad_values``."""
        if not self.has_backward:
            raise RuntimeError("this SharedCodeBlock was built for inference (backward=False)")
        code = self.code
        _linear_aggregate_backward(self, grad, code.values, code.active_indices, weight, grad_weight)
        code.grad_values.add_(self.grad_values)


def _linear_aggregate(
    block: BlockWorkspace | SharedCodeBlock,
    values: torch.Tensor,
    indices: torch.Tensor,
    dim: int,
    weight: torch.Tensor,
    out: torch.Tensor,
    accumulate: bool,
    bias: torch.Tensor | None,
) -> None:
    """``out (+)= A (S(values, indices) W) (+ bias)`` in the block's association order, through its ``hidden``."""
    if block.order == GATHER_FIRST:
        kernels.cbsr_linear_into(values, indices, weight, block.hidden)
        # The bias and the residual add ride on the aggregation's one pass over `out`.
        kernels.csr_spmm_into(block.adj, block.hidden, out, accumulate=accumulate, bias=bias)
        return
    kernels.cbsr_spmm_into(block.adj, values, indices, dim, block.hidden)
    if accumulate:
        out.addmm_(block.hidden, weight)
        if bias is not None:
            out.add_(bias)
    elif bias is not None:
        torch.addmm(bias, block.hidden, weight, out=out)
    else:
        torch.mm(block.hidden, weight, out=out)


def _linear_aggregate_backward(
    block: BlockWorkspace | SharedCodeBlock,
    grad: torch.Tensor,
    values: torch.Tensor,
    indices: torch.Tensor,
    weight: torch.Tensor,
    grad_weight: torch.Tensor,
) -> None:
    """The VJP of :func:`_linear_aggregate` into the block's ``grad_values`` and ``grad_weight``.
    The forward left ``A @ S`` in ``hidden`` when it aggregated first (one N x d scratch)."""
    linear_aggregate_backward(
        block.adj,
        grad,
        values,
        indices,
        weight,
        block.order,
        block.grad_values,
        grad_weight,
        block.grad_hidden,
        aggregated=block.hidden,
    )
