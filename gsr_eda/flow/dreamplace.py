r"""DREAMPlace adapter: the model's congestion as DREAMPlace's route-utilisation map.

DREAMPlace (``limbo018/DREAMPlace``) keeps every node's lower-left corner in one flat tensor
``pos = [x_0 .. x_{n-1}, y_0 .. y_{n-1}]`` with ``n = placedb.num_nodes``, ordered

=========================  ==================================================================
``[0, M)``                 movable cells, ``M = placedb.num_movable_nodes``
``[M, M + T)``             fixed cells ("terminals"), ``T = placedb.num_terminals``
``[M + T, P)``             IO pins ("terminal NIs"), ``P = placedb.num_physical_nodes``
``[P, n)``                 fillers, ``placedb.num_filler_nodes``: ignored here
=========================  ==================================================================

in *scaled* units: a DEF coordinate ``c`` (DBU) becomes ``s = (c - shift) * scale_factor``
(``params.scale_factor``, by default ``1 / site_width``; ``shift`` is ``params.shift_factor``
in versions that have it, else 0). Hence ``microns = (s / scale_factor + shift) / dbu_per_micron``.

In routability mode DREAMPlace inflates cells from ``route_utilization_map_op(pos)``, a map of
shape ``(num_routing_grids_x, num_routing_grids_y)`` over ``[routing_grid_xl, routing_grid_xh]
x [routing_grid_yl, routing_grid_yh]`` where 1.0 means routing demand equals capacity (its RUDY
op divides the demand by the capacity of each bin). :class:`DreamPlaceCongestion` is a drop-in
replacement for that op:

1. map DREAMPlace's physical nodes to the session's cells by name (once, at construction);
2. convert the positions to microns and call :meth:`CongestionSession.estimate`;
3. turn the model's per-gcell output into utilisation (see :data:`UTILIZATION_MAPPINGS`);
4. resample from the design's gcell grid to DREAMPlace's bins by area-weighted averaging:
   :math:`U_b = \sum_g |b \cap g|\, u_g / |b|` (separable: ``Wx @ U @ Wy.T``).

Session cells DREAMPlace does not have (it drops nothing normally, but names can differ) keep
their DEF positions; DREAMPlace nodes the session does not have (fill, tap and unconnected
cells, which the graph leaves out) are ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gsr_eda.errors import InputError
from gsr_eda.flow.estimate import CongestionEstimate
from gsr_eda.flow.session import CongestionSession

#: How the model's label becomes utilisation (demand / capacity):
#: ``utilization``: the label already is demand / capacity (identity);
#: ``overflow``: the label is ``max(0, demand - capacity) / capacity`` (CircuitNet-style), so
#: utilisation is ``1 + overflow`` where it overflows, and 0 (no information) elsewhere.
UTILIZATION_MAPPINGS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "utilization": lambda label: label,
    "overflow": lambda label: np.where(label > 0, 1.0 + label, 0.0),
}


def _names(values: Any) -> list[str]:
    """DREAMPlace stores node names as a numpy bytes array; accept bytes or str."""
    return [v.decode("utf-8", "replace") if isinstance(v, (bytes, np.bytes_)) else str(v) for v in values]


def overlap_weights(edges_from: np.ndarray, edges_to: np.ndarray) -> np.ndarray:
    """``W[i, j]`` = length of the overlap of target interval ``i`` with source interval ``j``."""
    lo = np.maximum(edges_to[:-1, None], edges_from[None, :-1])
    hi = np.minimum(edges_to[1:, None], edges_from[None, 1:])
    return np.clip(hi - lo, 0.0, None)


def resample_mean(
    values: np.ndarray, x_from: np.ndarray, y_from: np.ndarray, x_to: np.ndarray, y_to: np.ndarray
) -> np.ndarray:
    """Area-weighted mean of a map on grid ``(x_from, y_from)`` over the bins of ``(x_to, y_to)``.

    Parts of a bin outside the source grid count as 0 utilisation-free area: the mean is over
    the bin's full area, so bins hanging off the die are not inflated.
    """
    wx = overlap_weights(np.asarray(x_from, float), np.asarray(x_to, float))
    wy = overlap_weights(np.asarray(y_from, float), np.asarray(y_to, float))
    area = np.outer(np.diff(x_to), np.diff(y_to))
    return (wx @ np.asarray(values, float) @ wy.T) / np.where(area > 0, area, 1.0)


class DreamPlaceCongestion:
    """Callable ``pos -> route utilisation map`` for DREAMPlace, backed by a :class:`CongestionSession`.

    Args:
        session: the session of the same design (built from the DEF DREAMPlace read).
        placedb: DREAMPlace's ``PlaceDB`` (after ``placedb(params)``, i.e. already scaled).
        scale_factor: ``params.scale_factor`` as DREAMPlace used it (``placedb`` is scaled by it).
        shift_factor: ``params.shift_factor`` ``(x, y)`` in DBU where the DREAMPlace version has it.
        dbu_per_micron: the DEF's ``UNITS DISTANCE MICRONS``; the session design's by default.
        label_to_utilization: a key of :data:`UTILIZATION_MAPPINGS` or a function of the
            per-gcell label map.
        min_matched_fraction: refuse (``InputError``) when fewer session cells than this
            fraction are found among DREAMPlace's nodes: a wrong design or a name-escaping
            mismatch, which would otherwise silently estimate on stale positions.
    """

    def __init__(
        self,
        session: CongestionSession,
        placedb: Any,
        *,
        scale_factor: float,
        shift_factor: tuple[float, float] = (0.0, 0.0),
        dbu_per_micron: float | None = None,
        label_to_utilization: str | Callable[[np.ndarray], np.ndarray] = "utilization",
        min_matched_fraction: float = 0.95,
    ) -> None:
        if not scale_factor > 0:
            raise InputError(f"scale_factor must be positive, got {scale_factor}")
        if isinstance(label_to_utilization, str):
            if label_to_utilization not in UTILIZATION_MAPPINGS:
                raise InputError(
                    f"unknown label_to_utilization {label_to_utilization!r}; "
                    f"choose one of {', '.join(UTILIZATION_MAPPINGS)} or pass a function"
                )
            label_to_utilization = UTILIZATION_MAPPINGS[label_to_utilization]
        self.session = session
        self.to_utilization = label_to_utilization
        self.scale_factor = float(scale_factor)
        self.shift = (float(shift_factor[0]), float(shift_factor[1]))
        self.dbu = float(dbu_per_micron or session.design.dbu_per_micron)

        self.num_physical = int(placedb.num_physical_nodes)
        self.num_nodes = self.num_physical + int(placedb.num_filler_nodes)
        names = _names(placedb.node_names[: self.num_physical])
        if len(names) != self.num_physical:
            raise InputError(f"placedb has {len(names)} node names for {self.num_physical} physical nodes")
        # For each session cell, its DREAMPlace node index (-1: not in DREAMPlace).
        index = {name: i for i, name in enumerate(names)}
        self.dp_index = np.array([index.get(str(n), -1) for n in session.node_names], dtype=np.int64)
        self.matched = self.dp_index >= 0
        fraction = float(self.matched.mean()) if self.matched.size else 0.0
        if fraction < min_matched_fraction:
            missing = [str(n) for n in np.asarray(session.node_names)[~self.matched][:3]]
            raise InputError(
                f"only {self.matched.sum()} of {session.num_cells} cells of design {session.design.name!r} are "
                f"DREAMPlace nodes (e.g. missing: {', '.join(missing)}); is this the same design?"
            )
        self.bins_x, self.bins_y = self._bin_edges_um(placedb)

    def _bin_edges_um(self, placedb: Any) -> tuple[np.ndarray, np.ndarray]:
        """Edges (microns) of the bins DREAMPlace's route utilisation map lives on."""
        if getattr(placedb, "num_routing_grids_x", None):
            nx, ny = int(placedb.num_routing_grids_x), int(placedb.num_routing_grids_y)
            box = (placedb.routing_grid_xl, placedb.routing_grid_yl, placedb.routing_grid_xh, placedb.routing_grid_yh)
        else:
            nx, ny = int(placedb.num_bins_x), int(placedb.num_bins_y)
            box = (placedb.xl, placedb.yl, placedb.xh, placedb.yh)
        xl, yl, xh, yh = (float(v) for v in box)
        xs = self._to_um(np.linspace(xl, xh, nx + 1), 0)
        ys = self._to_um(np.linspace(yl, yh, ny + 1), 1)
        return xs, ys

    def _to_um(self, scaled: np.ndarray, axis: int) -> np.ndarray:
        return (np.asarray(scaled, np.float64) / self.scale_factor + self.shift[axis]) / self.dbu

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.bins_x) - 1, len(self.bins_y) - 1

    def positions_um(self, pos: Any) -> tuple[np.ndarray, np.ndarray]:
        """Session-ordered ``(x, y)`` microns from DREAMPlace's flat ``pos`` (fillers dropped)."""
        flat = pos.detach().cpu().numpy() if hasattr(pos, "detach") else np.asarray(pos)
        flat = np.asarray(flat, dtype=np.float64).reshape(-1)
        if flat.size != 2 * self.num_nodes:
            raise InputError(
                f"pos has {flat.size} values; expected 2 * num_nodes = {2 * self.num_nodes} "
                f"({self.num_physical} physical nodes + fillers)"
            )
        x, y = self.session.positions
        idx = self.dp_index[self.matched]
        x[self.matched] = self._to_um(flat[idx], 0)
        y[self.matched] = self._to_um(flat[self.num_nodes + idx], 1)
        return x, y

    def estimate(self, pos: Any, *, reuse: bool = False) -> CongestionEstimate:
        """The session's estimate at DREAMPlace's positions."""
        x, y = self.positions_um(pos)
        return self.session.estimate(x, y, reuse=reuse)

    def utilization_map(self, pos: Any, *, reuse: bool = False) -> np.ndarray:
        """``(num_bins_x, num_bins_y)`` float64 utilisation on DREAMPlace's routing bins."""
        est = self.estimate(pos, reuse=reuse)
        util = np.asarray(self.to_utilization(est.gcell_map.astype(np.float64)), dtype=np.float64)
        grid = self.session.design.grid
        return resample_mean(util, grid.x_edges, grid.y_edges, self.bins_x, self.bins_y)

    def __call__(self, pos: Any) -> Any:
        """Drop-in for ``op_collections.route_utilization_map_op``: a tensor like ``pos``."""
        util = self.utilization_map(pos)
        if hasattr(pos, "new_tensor"):
            return pos.new_tensor(util)  # same dtype and device as DREAMPlace's positions
        return util
