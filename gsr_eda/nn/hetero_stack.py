r"""The heterogeneous grouped sparse reversible stack: cells and nets, memory flat in depth.

Two node types, cells (``N``) and nets (``M``), with ``D``- and ``D'``-wide states, each split
into ``C`` groups (of widths ``d = D / C`` and ``d' = D' / C``; ``D' = D`` by default). Two
relations connect them through the pin incidence ``B`` (``M x N``): nets aggregate from their
cells (:math:`\hat B = D_{net}^{-1} B`) and cells from their nets
(:math:`\hat B' = D_{cell}^{-1} B^\top`). Each relation is one GSR block, the homogeneous
stack's ``F`` on a rectangular matrix:

.. math::
    F^{c \to n}(y_c) = \hat B\,(\mathrm{GS}_k(\mathrm{LN}(y_c))\,W) + b, \qquad
    F^{n \to c}(y_n) = \hat B'\,(\mathrm{GS}_k(\mathrm{LN}(y_n))\,W') + b'.

Layer ``l`` couples the groups of both types reversibly (RevGNN's grouped coupling, over the
pair ``(cells, nets)``), with :math:`Y_0 = \sum_{i \ge 2} X_i` on each type:

.. math::
    Y^n_i = X^n_i + F^{c \to n}_{l,i}(Y^c_{i-1}), \qquad Y^c_i = X^c_i + F^{n \to c}_{l,i}(Y^n_{i-1}).

With ``placement_groups`` ``G > 0``, a third relation joins each cell to its placement neighbours
(the ``K`` nearest cells on the die, :math:`\hat P = D^{-1} P`,
:mod:`gsr_eda.graph.placement_edges`), the same edges the homogeneous models add to the netlist
graph. It sends the cells' code that the cell -> net block computed,
:math:`S^c = \mathrm{GS}_k(\mathrm{LN}(Y^c_{i-1}))`, along :math:`\hat P` with a weight of its own,
into the cells the net -> cell block writes, in the first ``G`` groups of every layer:

.. math::
    Y^c_i = X^c_i + F^{n \to c}_{l,i}(Y^n_{i-1}) + \hat P\,(S^c\,W''_{l,i}) \quad (i \le G),
    \qquad F^{c \to n}_{l,i}(Y^c_{i-1}) = \hat B\,(S^c\,W_{l,i}) + b_{l,i}.

One code per cell group and two messages from it: the placement block adds a linear map and an
aggregation (:class:`~gsr_eda.nn.gsr_block.SharedCodeBlock`), no LayerNorm, top-k search or
saved indices, and no bias (``b'`` is already added to the same cells).
:data:`gsr_eda.models.gsr_cellnet.DEFAULT_PLACEMENT_GROUPS` says how many groups a model gives it
and why.

Both products of a group read only the previous group's outputs, so they are independent (they
run concurrently: ``concurrent``, :class:`PairRunner`; the placement block, reading the one's
code and writing the other's cells, runs after both), and the inverse is the homogeneous one on each
type: ``X_i = Y_i - F_{l,i}(Y_{i-1})`` (every block into the group subtracted) in reverse group
order. A message crosses one pin edge per
group: cell -> net in group ``i``, net -> cell in group ``i + 1``, so each layer of two groups
is one cell -> net -> cell hop.

Like :class:`~gsr_eda.nn.GSRStack` the whole stack is one autograd Function that keeps only its
outputs (and, optionally, the top-k positions, 1 byte per kept entry of both types), so
activation memory does not grow with depth; each block is evaluated once per backward.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import torch
from torch import Tensor

from gsr_eda import _core
from gsr_eda.nn.gsr_block import BlockWorkspace, SharedCodeBlock
from gsr_eda.nn.gsr_stack import _group_input, _LayerGroupParams, layer_group_seed
from gsr_eda.ops.dtypes import index_dtype_for

#: The two relations, in the order of their parameters: cells -> nets, nets -> cells.
RELATIONS = ("to_net", "to_cell")


def relation_seed(step_seed: int, relation: int, layer: int, group: int, layers: int, groups: int) -> int:
    """Dropout seed of one (step, relation, layer, group): distinct streams for both relations."""
    return layer_group_seed(step_seed, relation * layers + layer, group, groups)


class PairRunner:
    """Runs two independent callables, one after the other or concurrently.

    On the CPU, concurrently means on two threads (the kernels release the GIL), each with half
    of the OpenMP team (``cpu_threads // 2``; each thread's team size is its own OpenMP
    setting), so the pair uses the cores one product alone would. On CUDA it means two streams:
    ``first`` is launched on a side stream that waits for the current one, ``second`` on the
    current stream, which then waits for the side stream; the launches stay on one thread.
    """

    def __init__(self, concurrent: bool, cpu_threads: int | None = None, device: torch.device | None = None) -> None:
        self.concurrent = concurrent
        self.cuda = device is not None and device.type == "cuda"
        self._pool: ThreadPoolExecutor | None = None
        self._side: torch.cuda.Stream | None = None
        self._cpu_threads = cpu_threads
        self._restore: int | None = None

    def __enter__(self) -> PairRunner:
        if not self.concurrent:
            return self
        if self.cuda:
            self._side = torch.cuda.Stream()
            return self
        half = None if self._cpu_threads is None else max(1, self._cpu_threads // 2)
        initializer = None if half is None else (lambda: _set_cpu_threads(half))
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="gsr-relation", initializer=initializer)
        if half is not None:
            self._restore = _set_cpu_threads(half)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._restore is not None:
            _set_cpu_threads(self._restore)
            self._restore = None
        self._side = None

    def run(self, first, second) -> None:
        if self._side is not None:
            current = torch.cuda.current_stream()
            self._side.wait_stream(current)
            with torch.cuda.stream(self._side):
                first()
            second()
            current.wait_stream(self._side)
            return
        if self._pool is None:
            first()
            second()
            return
        grad_mode = torch.is_grad_enabled()  # thread-local: the worker takes the caller's

        def in_worker() -> None:
            with torch.set_grad_enabled(grad_mode):
                first()

        future = self._pool.submit(in_worker)
        try:
            second()
        finally:
            future.result()


def _set_cpu_threads(threads: int) -> int:
    """Set the calling thread's OpenMP team size for the CPU kernels; returns the previous one."""
    previous = int(_core.cpu_max_threads())
    setter = getattr(_core, "cpu_set_num_threads", None)
    if setter is not None:
        setter(int(threads))
    return previous


class _HeteroGSRStackFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x_cell: Tensor, x_net: Tensor, graph: Any, config: dict, *params: Tensor) -> tuple:
        layers, groups, k = config["layers"], config["groups"], config["k"]
        dim, net_dim = config["dim"], config["net_dim"]
        dropout, seed = config["dropout"], config["seed"]
        n, m = x_cell.shape[0], x_net.shape[0]
        state_c = x_cell.detach().reshape(n, groups, dim).transpose(0, 1).contiguous()
        state_n = x_net.detach().reshape(m, groups, net_dim).transpose(0, 1).contiguous()
        backward = config["needs_backward"]
        # ws_net: nets from cells (input cells, output nets); ws_cell: cells from nets.
        dtype = x_cell.dtype
        ws_net = BlockWorkspace(graph.net_from_cell, dim, k, dtype, backward=backward, out_dim=net_dim)
        ws_cell = BlockWorkspace(graph.cell_from_net, net_dim, k, dtype, backward=backward, out_dim=dim)
        placement_groups = config["placement_groups"]
        # The placement relation sends the cells' code of the cell -> net block along P.
        ws_place = SharedCodeBlock(graph.placement, ws_net, backward=backward) if placement_groups else None
        saved_net = saved_cell = None
        if backward and config["save_indices"]:
            saved_net = torch.empty(layers, groups, n, k, dtype=index_dtype_for(dim), device=x_cell.device)
            saved_cell = torch.empty(layers, groups, m, k, dtype=index_dtype_for(net_dim), device=x_cell.device)
        to_net, to_cell = _LayerGroupParams(*params[:4]), _LayerGroupParams(*params[4:8])
        near = _LayerGroupParams(*params[8:]) if placement_groups else None  # W'' alone
        cells, nets = state_c.unbind(0), state_n.unbind(0)
        with PairRunner(config["concurrent"], config["cpu_threads"], x_cell.device) as pair:
            for layer in range(layers):
                for group in range(groups):
                    y_c = _group_input(state_c, cells, group, ws_net)
                    y_n = _group_input(state_n, nets, group, ws_cell)

                    def net_block(layer=layer, group=group, y_c=y_c) -> None:
                        ws_net.forward(
                            y_c,
                            *to_net.of(layer, group),
                            nets[group],
                            accumulate=True,
                            dropout=dropout,
                            seed=relation_seed(seed, 0, layer, group, layers, groups),
                            indices=None if saved_net is None else saved_net[layer, group],
                        )

                    def cell_block(layer=layer, group=group, y_n=y_n) -> None:
                        ws_cell.forward(
                            y_n,
                            *to_cell.of(layer, group),
                            cells[group],
                            accumulate=True,
                            dropout=dropout,
                            seed=relation_seed(seed, 1, layer, group, layers, groups),
                            indices=None if saved_cell is None else saved_cell[layer, group],
                        )

                    pair.run(net_block, cell_block)
                    if group < placement_groups:  # the net block's code, into the net -> cell block's cells
                        ws_place.forward(*near.of(layer, group), cells[group])
        out_c = state_c.transpose(0, 1).reshape(n, groups * dim)
        out_n = state_n.transpose(0, 1).reshape(m, groups * net_dim)
        ctx.graph, ctx.config = graph, config
        ctx.workspaces = (ws_net, ws_cell, ws_place)
        ctx.saved = (saved_net, saved_cell)
        ctx.save_for_backward(out_c, out_n, *params)
        return out_c, out_n

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad_c: Tensor, grad_n: Tensor) -> tuple[Any, ...]:
        out_c, out_n, *params = ctx.saved_tensors
        config = ctx.config
        ws_net, ws_cell, ws_place = ctx.workspaces
        placement_groups = config["placement_groups"]
        saved_net, saved_cell = ctx.saved
        layers, groups = config["layers"], config["groups"]
        dim, net_dim = config["dim"], config["net_dim"]
        n, m = out_c.shape[0], out_n.shape[0]
        state_c = out_c.reshape(n, groups, dim).transpose(0, 1).contiguous()
        state_n = out_n.reshape(m, groups, net_dim).transpose(0, 1).contiguous()
        g_c = grad_c.reshape(n, groups, dim).transpose(0, 1).contiguous()
        g_n = grad_n.reshape(m, groups, net_dim).transpose(0, 1).contiguous()
        grad_params = [torch.empty_like(p) for p in params]
        to_net, to_cell = _LayerGroupParams(*params[:4]), _LayerGroupParams(*params[4:8])
        d_to_net, d_to_cell = _LayerGroupParams(*grad_params[:4]), _LayerGroupParams(*grad_params[4:8])
        near = d_near = None
        if placement_groups:
            near, d_near = _LayerGroupParams(*params[8:]), _LayerGroupParams(*grad_params[8:])
        cells, nets = state_c.unbind(0), state_n.unbind(0)
        g_cells, g_nets = g_c.unbind(0), g_n.unbind(0)
        # Whether a relation's bias gradient for the block about to be processed was summed by
        # the previous block that completed its output gradient (the homogeneous stack's
        # shortcut, cross-wired: the input gradient of a cell -> net block is the output
        # gradient of a net -> cell one; with placement, the placement block completes it).
        ready = {"to_net": False, "to_cell": False}
        with PairRunner(config["concurrent"], config["cpu_threads"], out_c.device) as pair:
            for layer in reversed(range(layers)):
                for group in reversed(range(groups)):
                    y_c = _group_input(state_c, cells, group, ws_net)
                    y_n = _group_input(state_n, nets, group, ws_cell)
                    direct = group > 0 or groups == 2
                    following = (layer, group - 1) if group > 0 else (layer - 1, groups - 1)
                    # The following blocks' bias gradients: the column sums of the input gradients
                    # completed here (the cells' by the last block adding to them).
                    sum_cells = sum_nets = None
                    if direct and following[0] >= 0:
                        sum_cells = d_to_cell.of(*following)[3]
                        sum_nets = d_to_net.of(*following)[3]
                    g_cell_input = (g_cells[group - 1] if group > 0 else g_cells[1]) if direct else ws_net.grad_sum
                    block = {
                        "to_net": _RelationStep(ws_net, y_c, nets, g_nets, to_net, d_to_net, saved_net, 0),
                        "to_cell": _RelationStep(ws_cell, y_n, cells, g_cells, to_cell, d_to_cell, saved_cell, 1),
                    }
                    placed = group < placement_groups
                    inputs = {
                        "to_net": (g_cell_input, direct, sum_cells),
                        "to_cell": (
                            (g_nets[group - 1] if group > 0 else g_nets[1]) if direct else ws_cell.grad_sum,
                            direct,
                            sum_nets,
                        ),
                    }

                    def chain(
                        name: str, layer=layer, group=group, block=block, inputs=inputs, ready=ready, placed=placed
                    ) -> None:
                        step = block[name]
                        step.rebuild_and_backward_linear(layer, group, config, ready[name])
                        if name == "to_cell" or not placed:
                            step.backward_code(layer, group, config, *inputs[name])

                    pair.run(lambda: chain("to_net"), lambda: chain("to_cell"))
                    if placed:
                        # The placement block's output is the net -> cell block's cells, its code the
                        # cell -> net block's: its values' gradient joins that block's before the
                        # code's backward, which then completes the cells' input gradient.
                        (w,) = near.of(layer, group)
                        ws_place.forward(w, cells[group], subtract=True)
                        ws_place.backward(g_cells[group], w, d_near.of(layer, group)[0])
                        block["to_net"].backward_code(layer, group, config, *inputs["to_net"])
                    if not direct:
                        g_c[1:].add_(ws_net.grad_sum)
                        g_n[1:].add_(ws_cell.grad_sum)
                    ready = {"to_cell": sum_cells is not None, "to_net": sum_nets is not None}
        grad_x_c = g_c.transpose(0, 1).reshape(n, groups * dim)
        grad_x_n = g_n.transpose(0, 1).reshape(m, groups * net_dim)
        return (grad_x_c, grad_x_n, None, None, *grad_params)


class _RelationStep:
    """One relation's backward step for a (layer, group): rebuild the block's output group by
    subtracting ``F(y)`` (the reversible inverse), then back-propagate through ``F``."""

    def __init__(self, ws, y, outs, g_outs, params, grads, saved, relation) -> None:
        self.ws, self.y, self.outs, self.g_outs = ws, y, outs, g_outs
        self.params, self.grads, self.saved, self.relation = params, grads, saved, relation

    def rebuild_and_backward_linear(self, layer: int, group: int, config: dict, grad_bias_ready: bool) -> None:
        """The inverse (``outs[group] -= F(y)``, which recomputes the code) and the weight, bias and
        kept-value gradients (:meth:`BlockWorkspace.backward_linear`)."""
        ws = self.ws
        idx = None if self.saved is None else self.saved[layer, group]
        gamma, beta, w, b = self.params.of(layer, group)
        seed = relation_seed(config["seed"], self.relation, layer, group, config["layers"], config["groups"])
        ws.forward(
            self.y,
            gamma,
            beta,
            w,
            b,
            self.outs[group],
            accumulate=True,
            dropout=config["dropout"],
            seed=seed,
            indices=idx,
            given_indices=idx is not None,
            subtract=True,
        )
        d_gamma, d_beta, d_w, d_b = self.grads.of(layer, group)
        ws.backward_linear(self.g_outs[group], w, d_w, d_b, grad_bias_ready)

    def backward_code(
        self,
        layer: int,
        group: int,
        config: dict,
        grad_input: Tensor,
        accumulate_input: bool,
        grad_input_sum: Tensor | None,
    ) -> None:
        """The input gradient through the code (:meth:`BlockWorkspace.backward_code`)."""
        gamma = self.params.of(layer, group)[0]
        d_gamma, d_beta = self.grads.of(layer, group)[:2]
        self.ws.backward_code(
            gamma,
            config["dropout"],
            d_gamma,
            d_beta,
            grad_input,
            accumulate_input,
            grad_input_sum,
        )


class HeteroGSRStack(torch.nn.Module):
    """L heterogeneous grouped sparse reversible layers over cells and nets; memory flat in depth.

    Args:
        channels: width ``D`` of the cells' state (input and output).
        num_layers: depth ``L``.
        groups: reversible groups ``C >= 2`` (``channels`` and ``net_channels`` must divide by it).
        k: entries kept per row by GS(k), on both node types (``1 <= k <= d, d'``).
        net_channels: width ``D'`` of the nets' state (default ``channels``). Every row-wise
            kernel of the net side (its LayerNorm + top-k, the cell -> net product's output
            rows) costs in proportion to ``D'``, and nets are as many as cells, so a narrower
            net state is the cheaper graph (benchmarks/README.md, "Cell-net graphs").
        dropout: probability of dropping a kept entry while training (seeded per step,
            relation, layer and group, so the backward reconstruction stays exact).
        save_indices: keep each block's top-k positions (``L * C * (N + M) * k`` bytes).
        concurrent: run each group's two relation products concurrently (:class:`PairRunner`:
            two threads with half the OpenMP team each on the CPU, two streams on CUDA). Off by
            default: on an idle 2-core machine it was 5-11% slower than one 2-thread team per
            product, and paid (2.2-2.4x) only under load, where the team's barriers stall
            (benchmarks/README.md, "Cell-net graphs"). Results are the same either way up to
            float summation order.
        placement_groups: how many of each layer's cell groups (the first ones) also take a
            third relation, cells -> cells over the graph's placement neighbours
            (``graph.placement``, the ``K`` nearest cells on the die), added into the same cell
            group as the net -> cell relation (module docstring); 0: none.

    Parameters, stacked over layers and groups, for each relation ``r`` of :data:`RELATIONS`:
    ``{r}_ln_weight``, ``{r}_ln_bias`` ``(L, C, d_src)``, ``{r}_weight`` ``(L, C, d_src, d_dst)``
    and ``{r}_bias`` ``(L, C, d_dst)``, with ``d_src`` / ``d_dst`` the group widths of the
    relation's source and target types; the LayerNorm of a relation normalises its *source* type.
    With the placement relation, ``placement_weight`` ``(L, G, d, d)`` (``G = placement_groups``):
    it shares the cell -> net block's LayerNorm and code, and adds no bias of its own.
    """

    def __init__(
        self,
        channels: int,
        num_layers: int,
        groups: int = 2,
        k: int = 8,
        dropout: float = 0.0,
        save_indices: bool = True,
        concurrent: bool = False,
        net_channels: int | None = None,
        placement_groups: int = 0,
    ) -> None:
        super().__init__()
        if groups < 2:
            raise ValueError(f"groups must be >= 2 for a reversible stack, got {groups}")
        net_channels = channels if net_channels is None else net_channels
        for name, width in (("channels", channels), ("net_channels", net_channels)):
            if width < 1 or width % groups != 0:
                raise ValueError(f"{name} ({width}) must be a positive multiple of groups ({groups})")
        dim, net_dim = channels // groups, net_channels // groups
        if not 1 <= k <= min(dim, net_dim):
            raise ValueError(f"k must be in [1, min(channels, net_channels) / groups = {min(dim, net_dim)}], got {k}")
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        if not 0 <= placement_groups <= groups:
            raise ValueError(f"placement_groups must be in [0, groups = {groups}], got {placement_groups}")
        self.channels, self.num_layers, self.groups, self.k = channels, num_layers, groups, k
        self.net_channels = net_channels
        self.group_dim, self.net_group_dim = dim, net_dim
        self.dropout = float(dropout)
        self.save_indices = bool(save_indices)
        self.concurrent = bool(concurrent)
        self.placement_groups = int(placement_groups)
        widths = {"to_net": (dim, net_dim), "to_cell": (net_dim, dim)}  # (source, target) group widths
        for r in RELATIONS:
            source, target = widths[r]
            self.register_parameter(f"{r}_ln_weight", torch.nn.Parameter(torch.empty(num_layers, groups, source)))
            self.register_parameter(f"{r}_ln_bias", torch.nn.Parameter(torch.empty(num_layers, groups, source)))
            self.register_parameter(f"{r}_weight", torch.nn.Parameter(torch.empty(num_layers, groups, source, target)))
            self.register_parameter(f"{r}_bias", torch.nn.Parameter(torch.empty(num_layers, groups, target)))
        if placement_groups:
            self.placement_weight = torch.nn.Parameter(torch.empty(num_layers, placement_groups, dim, dim))
        self.reset_parameters()

    def stacked_parameters(self) -> tuple[Tensor, ...]:
        """The parameter stacks in the Function's order: per relation of :data:`RELATIONS` LN
        weight, LN bias, W and b, then ``placement_weight`` when the stack has that relation."""
        stacks = tuple(
            getattr(self, f"{r}_{name}") for r in RELATIONS for name in ("ln_weight", "ln_bias", "weight", "bias")
        )
        return stacks + ((self.placement_weight,) if self.placement_groups else ())

    def reset_parameters(self) -> None:
        """LayerNorm to identity; ``W`` Kaiming-uniform on the ``k`` active inputs of a row."""
        bound = 1.0 / math.sqrt(self.k)
        for r in RELATIONS:
            torch.nn.init.ones_(getattr(self, f"{r}_ln_weight"))
            torch.nn.init.zeros_(getattr(self, f"{r}_ln_bias"))
            torch.nn.init.uniform_(getattr(self, f"{r}_weight"), -bound, bound)
            torch.nn.init.uniform_(getattr(self, f"{r}_bias"), -bound, bound)
        if self.placement_groups:
            torch.nn.init.uniform_(self.placement_weight, -bound, bound)

    def forward(self, x_cell: Tensor, x_net: Tensor, graph: Any, *, seed: int | None = None) -> tuple[Tensor, Tensor]:
        """``(N, D), (M, D') -> (N, D), (M, D')`` on a :class:`gsr_eda.models.inputs.CellNetGraph`
        (with its ``placement`` matrix when the stack has that relation)."""
        weight = self.to_net_weight
        n, m = graph.num_nodes, graph.num_nets
        for name, x, shape in (("x_cell", x_cell, (n, self.channels)), ("x_net", x_net, (m, self.net_channels))):
            if x.dim() != 2 or x.shape != shape:
                raise ValueError(f"{name} must be {shape}, got {tuple(x.shape)}")
            if x.device != weight.device or x.device != graph.device:
                raise ValueError(
                    f"{name} ({x.device}), the graph ({graph.device}) and the parameters ({weight.device}) "
                    "must be on the same device"
                )
            if x.dtype != weight.dtype:
                raise TypeError(f"{name} has dtype {x.dtype} but the parameters are {weight.dtype}")
        if self.placement_groups and getattr(graph, "placement", None) is None:
            raise ValueError(
                "this stack has a placement relation but the graph has no placement neighbours "
                "(CellNetGraph.placement; models.inputs.design_graph with placement_neighbours > 0)"
            )
        dropout = self.dropout if self.training else 0.0
        if seed is None:
            seed = int(torch.randint(0, 2**62, (1,)).item()) if dropout > 0.0 else 0
        params = self.stacked_parameters()
        needs_backward = torch.is_grad_enabled() and (
            x_cell.requires_grad or x_net.requires_grad or any(p.requires_grad for p in params)
        )
        config = {
            "layers": self.num_layers,
            "groups": self.groups,
            "dim": self.group_dim,
            "net_dim": self.net_group_dim,
            "k": self.k,
            "dropout": dropout,
            "seed": int(seed),
            "save_indices": self.save_indices,
            "needs_backward": needs_backward,
            "concurrent": self.concurrent,
            "placement_groups": self.placement_groups,
            "cpu_threads": int(_core.cpu_max_threads()) if x_cell.device.type == "cpu" else None,
        }
        return _HeteroGSRStackFunction.apply(x_cell, x_net, graph, config, *params)

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, net_channels={self.net_channels}, num_layers={self.num_layers}, "
            f"groups={self.groups}, k={self.k}, "
            f"dropout={self.dropout}, save_indices={self.save_indices}, concurrent={self.concurrent}, "
            f"placement_groups={self.placement_groups}"
        )
