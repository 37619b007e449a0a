"""The GSR stack run with ordinary autograd, keeping every activation: the test oracle.

Same parameters, same math and the same kernels' forward values as
:class:`~gsr_eda.nn.GSRStack` (so the top-k choices agree bit for bit), but the backward is
PyTorch's own through every intermediate. Memory grows linearly with depth; use only to check.
"""

from __future__ import annotations

import torch
from torch import Tensor

from gsr_eda.nn.gsr_block import LAYER_NORM_EPS, dropout_mask
from gsr_eda.nn.gsr_stack import GSRStack, layer_group_seed
from gsr_eda.ops import cbsr_aggregate, kernels
from gsr_eda.ops.adjacency import CSRAdjacency
from gsr_eda.ops.dtypes import index_dtype_for


def gsr_block_reference(
    y: Tensor,
    adj: CSRAdjacency,
    ln_weight: Tensor,
    ln_bias: Tensor,
    weight: Tensor,
    bias: Tensor,
    k: int,
    dropout: float,
    seed: int,
    residual: Tensor,
) -> Tensor:
    """``residual + F(y)`` with autograd through LayerNorm, top-k (a gather) and aggregation.

    The kept values are the fused kernel's, bit for bit (a straight-through sum), so that this
    oracle and the stack choose the same top-k in every later layer; their gradient is plain
    autograd's through the LayerNorm written out in torch operations.
    """
    n, dim = y.shape
    fused_values = y.new_empty(n, k)
    indices = torch.empty(n, k, dtype=index_dtype_for(dim), device=y.device)
    kernels.layernorm_topk_into(
        y.detach(),
        ln_weight.detach(),
        ln_bias.detach(),
        LAYER_NORM_EPS,
        fused_values,
        indices,
        y.new_empty(n),
        y.new_empty(n),
    )
    mean = y.mean(dim=1, keepdim=True)
    centred = y - mean
    rstd = (centred * centred).mean(dim=1, keepdim=True).add(LAYER_NORM_EPS).rsqrt()
    h = torch.addcmul(ln_bias, centred * rstd, ln_weight)
    autograd_values = h.gather(1, indices.long())
    values = fused_values + (autograd_values - autograd_values.detach())
    if dropout > 0.0:
        values = values * dropout_mask(n, k, dropout, seed, y.device, y.dtype)
    return cbsr_aggregate(adj, values, indices, dim, weight, out=residual + bias)


def gsr_stack_reference(stack: GSRStack, x: Tensor, adj: CSRAdjacency, *, seed: int = 0) -> Tensor:
    """Forward of ``stack`` (its parameters, its dropout masks for ``seed``) with plain autograd."""
    dropout = stack.dropout if stack.training else 0.0
    groups, k = stack.groups, stack.k
    for layer in range(stack.num_layers):
        xs = list(x.chunk(groups, dim=1))
        y_prev = xs[1] if groups == 2 else torch.stack(xs[1:]).sum(0)
        ys = []
        for group in range(groups):
            y_prev = gsr_block_reference(
                y_prev.contiguous(),
                adj,
                stack.ln_weight[layer, group],
                stack.ln_bias[layer, group],
                stack.weight[layer, group],
                stack.bias[layer, group],
                k,
                dropout,
                layer_group_seed(seed, layer, group, groups),
                xs[group],
            )
            ys.append(y_prev)
        x = torch.cat(ys, dim=1)
    return x
