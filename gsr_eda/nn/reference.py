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
from gsr_eda.nn.hetero_stack import relation_seed
from gsr_eda.ops import cbsr_aggregate, kernels
from gsr_eda.ops.adjacency import CSRAdjacency
from gsr_eda.ops.dtypes import index_dtype_for


def gsr_code_reference(
    y: Tensor, ln_weight: Tensor, ln_bias: Tensor, k: int, dropout: float, seed: int
) -> tuple[Tensor, Tensor]:
    """The kept values (after dropout) and positions of ``GS_k(LN(y))``, with autograd.

    The values are the fused kernel's, bit for bit (a straight-through sum), so that this
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
    return values, indices


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
    """``residual + F(y)`` with autograd through LayerNorm, top-k (a gather) and aggregation."""
    values, indices = gsr_code_reference(y, ln_weight, ln_bias, k, dropout, seed)
    return cbsr_aggregate(adj, values, indices, y.shape[1], weight, out=residual + bias)


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


def hetero_stack_reference(stack, x_cell: Tensor, x_net: Tensor, graph, *, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Forward of a :class:`~gsr_eda.nn.HeteroGSRStack` (its parameters, its dropout masks for
    ``seed``) with plain autograd: the oracle of the heterogeneous stack."""
    dropout = stack.dropout if stack.training else 0.0
    groups, k, layers = stack.groups, stack.k, stack.num_layers
    p = stack.stacked_parameters()
    to_net, to_cell = p[:4], p[4:8]
    for layer in range(layers):
        xc, xn = list(x_cell.chunk(groups, dim=1)), list(x_net.chunk(groups, dim=1))
        yc = xc[1] if groups == 2 else torch.stack(xc[1:]).sum(0)
        yn = xn[1] if groups == 2 else torch.stack(xn[1:]).sum(0)
        out_c, out_n = [], []
        for group in range(groups):
            ln_w, ln_b, w, b = (t[layer, group] for t in to_net)
            seed_net = relation_seed(seed, 0, layer, group, layers, groups)
            code = gsr_code_reference(yc.contiguous(), ln_w, ln_b, k, dropout, seed_net)
            new_n = cbsr_aggregate(graph.net_from_cell, *code, stack.group_dim, w, out=xn[group] + b)
            new_c = gsr_block_reference(
                yn.contiguous(),
                graph.cell_from_net,
                *(t[layer, group] for t in to_cell),
                k,
                dropout,
                relation_seed(seed, 1, layer, group, layers, groups),
                xc[group],
            )
            if group < stack.placement_groups:  # the cell -> net block's code, along P
                new_c = cbsr_aggregate(graph.placement, *code, stack.group_dim, p[8][layer, group], out=new_c)
            yc, yn = new_c, new_n
            out_c.append(new_c)
            out_n.append(new_n)
        x_cell, x_net = torch.cat(out_c, dim=1), torch.cat(out_n, dim=1)
    return x_cell, x_net
