"""The grouped sparse reversible stack: L GSR layers whose memory is flat in depth.

Layer ``l`` splits its ``N x D`` input into ``C`` groups ``X_1..X_C`` of width ``d = D / C``
and computes (RevGNN's grouped reversible residual, with GSR blocks ``F``):

.. math::
    Y_0' = \\sum_{i=2}^{C} X_i,\\qquad Y_i = X_i + F_{l,i}(Y_{i-1})\\quad (i = 1..C),

whose inverse, in reverse group order, is ``X_i = Y_i - F_{l,i}(Y_{i-1})`` and finally
``X_1 = Y_1 - F_{l,1}(\\sum_{i\\ge2} X_i)``.

The whole stack is one autograd Function. The forward keeps nothing per layer but, optionally,
the top-k positions (1 byte per kept entry), so a near-tie cannot flip between the forward and
the recomputation. The backward walks the layers in reverse; for each group it evaluates
``F`` exactly once, both to rebuild the group's input from its output and to back-propagate
through it (PyG's ``GroupAddRev`` evaluates it twice). Rebuilding and gradient accumulation
happen in place in two ``C x N x d`` buffers and one :class:`BlockWorkspace` per call.
The backward is not itself differentiable (no double backward).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from gsr_eda.nn.gsr_block import BlockWorkspace
from gsr_eda.ops.adjacency import CSRAdjacency
from gsr_eda.ops.dtypes import index_dtype_for


def layer_group_seed(step_seed: int, layer: int, group: int, groups: int) -> int:
    """The dropout seed of one (step, layer, group): distinct streams, reproducible backward."""
    return (step_seed + layer * groups + group) % (2**63 - 1)


class _GSRStackFunction(torch.autograd.Function):
    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        adj: CSRAdjacency,
        config: dict,
        ln_weight: Tensor,
        ln_bias: Tensor,
        weight: Tensor,
        bias: Tensor,
    ) -> Tensor:
        layers, groups, dim, k = config["layers"], config["groups"], config["dim"], config["k"]
        dropout, seed = config["dropout"], config["seed"]
        n = x.shape[0]
        # Group-major layout: every group is one contiguous N x d block the kernels can take.
        state = x.detach().reshape(n, groups, dim).transpose(0, 1).contiguous()
        backward = config["needs_backward"]
        workspace = BlockWorkspace(adj, dim, k, x.dtype, backward=backward)
        saved = (
            torch.empty(layers, groups, n, k, dtype=index_dtype_for(dim), device=x.device)
            if backward and config["save_indices"]
            else None
        )
        params = _LayerGroupParams(ln_weight, ln_bias, weight, bias)
        group_states = state.unbind(0)
        for layer in range(layers):
            for group in range(groups):
                y_prev = _group_input(state, group_states, group, workspace)
                workspace.forward(
                    y_prev,
                    *params.of(layer, group),
                    group_states[group],
                    accumulate=True,
                    dropout=dropout,
                    seed=layer_group_seed(seed, layer, group, groups),
                    indices=None if saved is None else saved[layer, group],
                )
        output = state.transpose(0, 1).reshape(n, groups * dim)
        ctx.adj, ctx.config, ctx.workspace, ctx.saved_indices = adj, config, workspace, saved
        # The output is the only activation kept: every layer's input is rebuilt from it.
        ctx.save_for_backward(output, ln_weight, ln_bias, weight, bias)
        return output

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Any, ...]:
        output, ln_weight, ln_bias, weight, bias = ctx.saved_tensors
        config, workspace = ctx.config, ctx.workspace
        layers, groups, dim = config["layers"], config["groups"], config["dim"]
        dropout, seed = config["dropout"], config["seed"]
        n = grad_output.shape[0]
        # Layers are rebuilt in place in this group-major copy (the saved output stays intact,
        # so retain_graph and repeated backward passes work).
        state = output.reshape(n, groups, dim).transpose(0, 1).contiguous()
        grad_state = grad_output.reshape(n, groups, dim).transpose(0, 1).contiguous()
        grad_ln_weight = torch.empty_like(ln_weight)
        grad_ln_bias = torch.empty_like(ln_bias)
        grad_weight = torch.empty_like(weight)
        grad_bias = torch.empty_like(bias)
        params = _LayerGroupParams(ln_weight, ln_bias, weight, bias)
        grads = _LayerGroupParams(grad_ln_weight, grad_ln_bias, grad_weight, grad_bias)
        group_states, group_grads = state.unbind(0), grad_state.unbind(0)
        grad_bias_ready = False  # the block's bias gradient came with the previous block's
        for layer in reversed(range(layers)):
            for group in reversed(range(groups)):
                # state[group] holds Y_group; after the subtraction it holds X_group.
                y_prev = _group_input(state, group_states, group, workspace)
                saved = None if ctx.saved_indices is None else ctx.saved_indices[layer, group]
                gamma, beta, w, b = params.of(layer, group)
                workspace.forward(
                    y_prev,
                    gamma,
                    beta,
                    w,
                    b,
                    group_states[group],
                    accumulate=True,
                    dropout=dropout,
                    seed=layer_group_seed(seed, layer, group, groups),
                    indices=saved,
                    given_indices=saved is not None,
                    subtract=True,
                )
                grad_gamma, grad_beta, grad_w, grad_b = grads.of(layer, group)
                if group > 0 or groups == 2:
                    # dY_{g-1} += J_F^T dY_g (dX_g = dY_g needs no work). With two groups the
                    # first block's input Y_0' is X_2 itself: its gradient goes straight to dX_2.
                    # That gradient is complete once added, and it is the output gradient of
                    # the block processed next, so its column sums are that block's dB.
                    grad_input = group_grads[group - 1] if group > 0 else group_grads[1]
                    following = (layer, group - 1) if group > 0 else (layer - 1, groups - 1)
                    grad_input_sum = None  # the following block's dB slice, if there is one
                    if following[0] >= 0:
                        _, _, _, grad_input_sum = grads.of(*following)
                    workspace.backward(
                        group_grads[group],
                        gamma,
                        w,
                        dropout,
                        grad_gamma,
                        grad_beta,
                        grad_w,
                        grad_b,
                        grad_input,
                        accumulate_input=True,
                        grad_bias_ready=grad_bias_ready,
                        grad_input_sum=grad_input_sum,
                    )
                    grad_bias_ready = grad_input_sum is not None
                else:
                    # Y_0' = sum of X_2..X_C: its gradient goes to every one of them.
                    workspace.backward(
                        group_grads[0],
                        gamma,
                        w,
                        dropout,
                        grad_gamma,
                        grad_beta,
                        grad_w,
                        grad_b,
                        workspace.grad_sum,
                        accumulate_input=False,
                        grad_bias_ready=grad_bias_ready,
                    )
                    grad_state[1:].add_(workspace.grad_sum)
                    grad_bias_ready = False
        grad_x = grad_state.transpose(0, 1).reshape(n, groups * dim)
        return grad_x, None, None, grad_ln_weight, grad_ln_bias, grad_weight, grad_bias


class _LayerGroupParams:
    """The ``(L, C, ...)`` parameter stacks as one view per (layer, group), made once per
    stack call: indexing ``param[layer, group]`` inside the loop cost two tensor selects per
    parameter and block."""

    def __init__(self, *stacks: Tensor) -> None:
        self.groups = stacks[0].shape[1]
        self.views = [stack.flatten(0, 1).unbind(0) for stack in stacks]

    def of(self, layer: int, group: int) -> tuple[Tensor, ...]:
        i = layer * self.groups + group
        return tuple(views[i] for views in self.views)


def _group_input(state: Tensor, group_states: tuple[Tensor, ...], group: int, workspace: BlockWorkspace) -> Tensor:
    """Input of group ``group``'s block: ``Y_{g-1}``, or ``sum(X_2..X_C)`` for the first group
    (``group_states`` are the views ``state.unbind(0)``)."""
    if group > 0:
        return group_states[group - 1]
    if len(group_states) == 2:
        return group_states[1]
    return torch.sum(state[1:], dim=0, out=workspace.group_sum)


class GSRStack(torch.nn.Module):
    """L grouped sparse reversible layers; memory flat in depth.

    Args:
        channels: width ``D`` of the node features (input and output).
        num_layers: depth ``L``.
        groups: number of reversible groups ``C >= 2``; ``channels`` must divide by it.
        k: entries kept per row by the group-sparse operator (``1 <= k <= channels / groups``).
        dropout: probability of dropping a kept entry while training. The masks are drawn from
            a seed per (step, layer, group), so the backward reconstruction stays exact.
        save_indices: keep each layer's top-k positions (``L * C * N * k`` bytes) so the
            backward recomputation uses exactly the forward's choice even when rebuilt inputs
            differ in the last bits. Off: less memory, rare near-tie flips.

    Parameters (stacked over layers and groups so one Function owns them all):
    ``ln_weight``, ``ln_bias``, ``bias`` of shape ``(L, C, d)`` and ``weight`` ``(L, C, d, d)``.
    """

    def __init__(
        self,
        channels: int,
        num_layers: int,
        groups: int = 2,
        k: int = 8,
        dropout: float = 0.0,
        save_indices: bool = True,
    ) -> None:
        super().__init__()
        if groups < 2:
            raise ValueError(f"groups must be >= 2 for a reversible stack, got {groups}")
        if channels < 1 or channels % groups != 0:
            raise ValueError(f"channels ({channels}) must be a positive multiple of groups ({groups})")
        dim = channels // groups
        if not 1 <= k <= dim:
            raise ValueError(f"k must be in [1, channels / groups = {dim}], got {k}")
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.channels, self.num_layers, self.groups, self.k = channels, num_layers, groups, k
        self.group_dim = dim
        self.dropout = float(dropout)
        self.save_indices = bool(save_indices)
        shape = (num_layers, groups, dim)
        self.ln_weight = torch.nn.Parameter(torch.empty(shape))
        self.ln_bias = torch.nn.Parameter(torch.empty(shape))
        self.weight = torch.nn.Parameter(torch.empty(num_layers, groups, dim, dim))
        self.bias = torch.nn.Parameter(torch.empty(shape))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """LayerNorm to identity; ``W`` Kaiming-uniform on the ``k`` active inputs of a row."""
        torch.nn.init.ones_(self.ln_weight)
        torch.nn.init.zeros_(self.ln_bias)
        # Only k of the d inputs are non-zero: scale for fan-in k, like a dense layer on them.
        bound = 1.0 / math.sqrt(self.k)
        torch.nn.init.uniform_(self.weight, -bound, bound)
        torch.nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor, adj: CSRAdjacency, *, seed: int | None = None) -> Tensor:
        """``(N, channels) -> (N, channels)``. ``seed`` fixes the dropout masks (default: drawn
        from torch's global generator, so ``torch.manual_seed`` makes a step reproducible)."""
        if not isinstance(adj, CSRAdjacency):
            raise TypeError(f"adj must be a CSRAdjacency, got {type(adj).__name__}")
        if x.dim() != 2 or x.shape[1] != self.channels:
            raise ValueError(f"x must be (N, {self.channels}), got {tuple(x.shape)}")
        if not adj.is_square:
            raise ValueError(f"adj must be a square graph, got a {adj.num_rows} x {adj.num_cols} matrix")
        if x.shape[0] != adj.num_nodes:
            raise ValueError(f"x has {x.shape[0]} rows but the graph has {adj.num_nodes} nodes")
        if x.device != adj.device or x.device != self.weight.device:
            raise ValueError(
                f"x ({x.device}), the graph ({adj.device}) and the parameters "
                f"({self.weight.device}) must be on the same device"
            )
        if x.dtype != self.weight.dtype:
            raise TypeError(f"x has dtype {x.dtype} but the parameters are {self.weight.dtype}")
        dropout = self.dropout if self.training else 0.0
        if seed is None:
            seed = int(torch.randint(0, 2**62, (1,)).item()) if dropout > 0.0 else 0
        # Inference (no autograd, or nothing to differentiate) keeps no indices and allocates
        # no gradient buffers.
        needs_backward = torch.is_grad_enabled() and (
            x.requires_grad or any(p.requires_grad for p in self.parameters())
        )
        config = {
            "layers": self.num_layers,
            "groups": self.groups,
            "dim": self.group_dim,
            "k": self.k,
            "dropout": dropout,
            "seed": int(seed),
            "save_indices": self.save_indices,
            "needs_backward": needs_backward,
        }
        return _GSRStackFunction.apply(x, adj, config, self.ln_weight, self.ln_bias, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, num_layers={self.num_layers}, groups={self.groups}, "
            f"k={self.k}, dropout={self.dropout}, save_indices={self.save_indices}"
        )
