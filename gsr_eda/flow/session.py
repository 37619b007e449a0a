"""A resident congestion model for one design, queried once per placement iteration.

A placement loop changes only cell positions. :class:`CongestionSession` therefore does the
position-independent work once, when it is created, and keeps it in memory:

* the design (netlist, cell sizes, pin offsets, gcell grid),
* the static node features (:func:`gsr_eda.graph.static_features`),
* the graph (:func:`gsr_eda.graph.build_adjacency` with the checkpoint's net model), prepared
  by the predictor for its device (for the cell-net models the cell-net graph, whose pin edges
  do not depend on positions either),
* the model itself, on its device.

Each :meth:`CongestionSession.estimate` call recomputes only the position-dependent feature
columns with :func:`gsr_eda.graph.position_features` (the same function ingest uses, so the
model sees exactly what it was trained on), assembles them with the static columns in the
checkpoint's feature order, and runs one forward pass. For the cell-net models (``gsr-cellnet``,
``hetero-sage``) the net nodes' position-dependent features are recomputed the same way, with
:func:`gsr_eda.graph.net_position_features` (ingest's function) from the same gcell maps as the
cells', and written into the resident graph. The position-independent parts of that
work are kept too: the design's :class:`~gsr_eda.graph.MapContext` (wired pins, their
offsets and nets) and the text layout of the result files; the gcell spans of the cells are
computed once per estimate and shared by the features, the gcell map and the coverage.

Example (a Python placer)::

    from gsr_eda.flow import CongestionSession

    session = CongestionSession.from_def("top.def", ["tech.lef", "cells.lef"], "runs/gsr16/best.pt")
    for it in range(iterations):
        x, y = placer.step()                      # microns, lower-left corners, session order
        est = session.estimate(x, y, reuse=True)  # reuse: skip the model if nothing moved much
        inflate(est.hotspots(0.5))
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gsr_eda.design import PlacedDesign
from gsr_eda.errors import InputError
from gsr_eda.flow.estimate import CongestionEstimate, ResultLayout
from gsr_eda.graph import (
    POSITION_FEATURES,
    MapContext,
    NetContext,
    build_adjacency,
    net_features,
    position_features,
    position_maps,
    static_features,
)
from gsr_eda.ingest import read_def_design
from gsr_eda.ingest.def_positions import read_def_placement
from gsr_eda.models.inputs import net_inputs, placement_adjacency
from gsr_eda.predict.core import gcell_map_of_cells
from gsr_eda.predict.predictor import Predictor, load_predictor
from gsr_eda.store import GraphStore

UNITS = ("um", "dbu")

#: How far outside the die a cell may be placed, in die widths (heights): placers park cells
#: a little outside during global placement; a position beyond this is a unit or sign error,
#: and far enough out the features overflow and every score becomes NaN.
DIE_MARGIN = 1.0


class CongestionSession:
    """The model, the static design and its static features, resident for repeated estimates.

    Create one with :meth:`from_def`, :meth:`from_store` or :meth:`from_design`. Cell order is
    the design's node order (DEF ``COMPONENTS`` order of the kept cells); :attr:`node_names`
    and :meth:`index_of` translate names. Thread-safe: estimates on one session are serialised.

    Args:
        design: the placed design; its positions are the session's initial positions.
        predictor: a loaded predictor (:func:`gsr_eda.predict.load_predictor`).
        adjacency: ``(indptr, indices)`` of the design under the predictor's net model; built
            from the design when omitted.
        source: where the design and checkpoint came from, for messages.
    """

    def __init__(
        self,
        design: PlacedDesign,
        predictor: Predictor,
        *,
        adjacency: tuple[np.ndarray, np.ndarray] | None = None,
        source: dict[str, str] | None = None,
    ) -> None:
        self.design = design
        self.predictor = predictor
        self.source = dict(source or {})
        self._lock = threading.Lock()
        if adjacency is None:
            adjacency = build_adjacency(design, predictor.net_model, predictor.net_cap)
        indptr, indices = adjacency
        self._maps = MapContext.of(design)
        # Cell-net models: the net nodes' static part, kept; their features move with the cells.
        self._nets = NetContext.of(design) if predictor.needs_net_nodes else None
        self._adjacency = (indptr, indices)
        # Placement neighbours move with the cells: that graph is rebuilt at every estimate.
        self._graph = None if self._moving_graph else predictor.design_graph(design, indptr, indices)
        self._position_features = position_features
        self._layout = ResultLayout(design.node_names, design.grid)

        # Place static and position columns into the checkpoint's feature order once; each
        # estimate then copies the static template and overwrites the position columns.
        static = static_features(design)
        static_col = {name: j for j, name in enumerate(static.names)}
        position_col = {name: j for j, name in enumerate(POSITION_FEATURES)}
        wanted = list(predictor.feature_names)
        missing = [n for n in wanted if n not in static_col and n not in position_col]
        if missing:
            raise InputError(
                f"the checkpoint expects features this version does not compute: {', '.join(missing)}",
                self.source.get("checkpoint"),
            )
        self._template = np.zeros((design.num_nodes, len(wanted)), dtype=np.float32)
        self._position_src: list[int] = []
        self._position_dst: list[int] = []
        for dst, name in enumerate(wanted):
            if name in position_col:
                self._position_src.append(position_col[name])
                self._position_dst.append(dst)
            else:
                self._template[:, dst] = static.values[:, static_col[name]]

        # Reuse threshold: half the narrowest gcell along each axis.
        self._half_gcell = (
            0.5 * float(np.diff(design.grid.x_edges).min()),
            0.5 * float(np.diff(design.grid.y_edges).min()),
        )
        self._x = np.array(design.x, dtype=np.float64)
        self._y = np.array(design.y, dtype=np.float64)
        self._name_index: dict[str, int] | None = None
        self._components: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._orient: np.ndarray | None = None
        self._last: CongestionEstimate | None = None
        self._last_x: np.ndarray | None = None
        self._last_y: np.ndarray | None = None

    # ----------------------------------------------------------------------------- creation

    @classmethod
    def from_design(cls, design: PlacedDesign, checkpoint: str | Path, *, device: str = "cpu") -> CongestionSession:
        """A session on an in-memory design with the model of ``checkpoint``."""
        predictor = _load_predictor(checkpoint, device)
        return cls(design, predictor, source={"checkpoint": str(checkpoint)})

    @classmethod
    def from_def(
        cls,
        def_path: str | Path,
        lef_paths: Sequence[str | Path],
        checkpoint: str | Path,
        *,
        device: str = "cpu",
        name: str | None = None,
        include_io_pins: bool = False,
    ) -> CongestionSession:
        """Read a placed DEF with its LEFs (technology first) and load the checkpoint onto ``device``.

        ``include_io_pins`` must match how the training designs were ingested (as for predict).
        """
        lef_paths = [str(p) for p in lef_paths]
        design = read_def_design(str(def_path), lef_paths, name=name, include_io_pins=include_io_pins)
        predictor = _load_predictor(checkpoint, device)
        source = {"def": str(def_path), "lefs": "\n".join(lef_paths), "checkpoint": str(checkpoint)}
        if include_io_pins:
            source["include_io_pins"] = "1"
        return cls(design, predictor, source=source)

    @classmethod
    def from_store(
        cls, store_path: str | Path, name: str, checkpoint: str | Path, *, device: str = "cpu"
    ) -> CongestionSession:
        """A design from a graph store entry; its stored graph is reused when the net model matches."""
        with GraphStore(store_path) as store:
            record = store.read(name)
        predictor = _load_predictor(checkpoint, device)
        same_graph = (record.net_model, int(record.net_cap)) == (predictor.net_model, int(predictor.net_cap))
        adjacency = (record.indptr, record.indices) if same_graph else None
        source = {"store": str(store_path), "name": name, "checkpoint": str(checkpoint)}
        return cls(record.design, predictor, adjacency=adjacency, source=source)

    # ---------------------------------------------------------------------------- positions

    @property
    def num_cells(self) -> int:
        return self.design.num_nodes

    @property
    def node_names(self) -> np.ndarray:
        return self.design.node_names

    @property
    def positions(self) -> tuple[np.ndarray, np.ndarray]:
        """Current lower-left ``(x, y)`` in microns (copies)."""
        return self._x.copy(), self._y.copy()

    def index_of(self, names: Sequence[str] | np.ndarray) -> np.ndarray:
        """Session index of each name, ``-1`` for names the design does not have."""
        if self._name_index is None:
            self._name_index = {str(n): i for i, n in enumerate(self.design.node_names)}
        lookup = self._name_index
        return np.fromiter((lookup.get(str(n), -1) for n in names), dtype=np.int64, count=len(names))

    def set_positions(self, x: Any, y: Any = None, *, units: str = "um") -> float:
        """Replace all positions (see :meth:`estimate` for the accepted forms); returns the largest move in microns."""
        new_x, new_y = self._coerce(x, y, units)
        with self._lock:
            moved = float(max(np.abs(new_x - self._x).max(initial=0.0), np.abs(new_y - self._y).max(initial=0.0)))
            self._x, self._y = new_x, new_y
        return moved

    def move_cells(self, names: Sequence[str] | np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[int, float]:
        """Set the positions (microns) of the named cells; others keep theirs.

        Returns ``(cells matched, largest move in microns)``. Names the design does not have are
        ignored (fill, tap and unconnected cells are not part of the graph).
        """
        idx = self.index_of(names)
        keep = idx >= 0
        moved = self._move(idx[keep], np.asarray(x, dtype=np.float64)[keep], np.asarray(y, dtype=np.float64)[keep])
        return int(keep.sum()), moved

    def _move(self, rows: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
        """Set the positions of cells ``rows``; returns the largest move in microns."""
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise InputError("positions must be finite")
        self._check_near_die(x, y, rows)
        with self._lock:
            moved = float(max(np.abs(x - self._x[rows]).max(initial=0.0), np.abs(y - self._y[rows]).max(initial=0.0)))
            self._x[rows] = x
            self._y[rows] = y
        return moved

    def update_from_def(self, def_path: str | Path) -> dict[str, Any]:
        """Take new positions from a re-written DEF of the same design (placer output).

        Only ``UNITS`` and ``COMPONENTS`` are read (:mod:`gsr_eda.ingest.def_positions`), so this
        is cheap. When a cell's orientation changed since the design was read, its pin offsets
        (and, for a 90-degree rotation, its width and height) changed too: the design is then
        re-read in full with the session's LEFs (``reloaded`` in the result). Returns
        ``{"matched", "moved_um", "reloaded"}``; components the design does not have (fill,
        tap, unconnected cells) are ignored.
        """
        new = read_def_placement(def_path)
        if self._orient is None:
            self._orient = self._initial_orientations()
        keep, rows = self._component_rows(new.names)
        if not len(rows):
            raise InputError(f"no component of this DEF is a cell of design {self.design.name!r}", def_path)
        if self._orient is not None and np.any(self._orient[rows] != new.orient[keep]):
            self._reload(def_path)
            return {"matched": len(rows), "moved_um": float("nan"), "reloaded": True}
        moved = self._move(rows, new.x[keep], new.y[keep])
        return {"matched": len(rows), "moved_um": moved, "reloaded": False}

    def _component_rows(self, names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(keep, rows)``: which DEF components are cells of the design, and their session indices.

        A placer rewrites the same components in the same order every iteration: comparing the
        names with the last DEF's (one vectorised comparison) replaces a dictionary lookup per name.
        """
        last = self._components
        if last is not None and last[0].shape == names.shape and np.array_equal(last[0], names):
            return last[1], last[2]
        idx = self.index_of(names)
        keep = idx >= 0
        self._components = (names, keep, idx[keep])
        return keep, idx[keep]

    def _initial_orientations(self) -> np.ndarray | None:
        """Orientation of every cell in the DEF the session was read from (None without one)."""
        if "def" not in self.source:
            return None
        placed = read_def_placement(self.source["def"])
        # A string array (not object): each update compares it with the new DEF's, vectorised.
        orient = np.full(self.num_cells, "N", dtype=placed.orient.dtype)
        idx = self.index_of(placed.names)
        orient[idx[idx >= 0]] = placed.orient[idx >= 0]
        return orient

    def _reload(self, def_path: str | Path) -> None:
        """Re-read the design from ``def_path`` with the session's LEFs, keeping the model."""
        if "lefs" not in self.source:
            raise InputError("cell orientations changed and this session has no LEFs to re-read the design", def_path)
        lefs = self.source["lefs"].split("\n")
        design = read_def_design(
            str(def_path), lefs, name=self.design.name, include_io_pins="include_io_pins" in self.source
        )
        fresh = CongestionSession(design, self.predictor, source={**self.source, "def": str(def_path)})
        with self._lock:
            lock = self._lock
            self.__dict__.update(fresh.__dict__)
            self._lock = lock

    # ----------------------------------------------------------------------------- estimate

    def estimate(
        self, positions: Any = None, y: Any = None, *, units: str = "um", reuse: bool = False
    ) -> CongestionEstimate:
        """Run the model on new positions (or the current ones) and return per-cell and per-gcell congestion.

        Args:
            positions: lower-left corners of every cell in session order: an ``(N, 2)`` array,
                or the ``x`` array with ``y`` given separately; numpy or torch (any device);
                ``None`` keeps the current positions.
            y: the ``y`` array when ``positions`` is the ``x`` array.
            units: ``"um"`` (microns, default) or ``"dbu"`` (the DEF's database units,
                divided by ``design.dbu_per_micron``).
            reuse: when true and no cell moved more than half a gcell (along either axis) since
                the last estimate that ran the model, return that estimate again (``reused``
                set) without running the model. Movement is measured from that estimate, not
                from the last call, so small steps cannot accumulate unnoticed.

        Raises:
            InputError: wrong shape or length, non-finite values, unknown ``units``.
        """
        if positions is not None:
            new_x, new_y = self._coerce(positions, y, units)
        elif y is not None:
            raise InputError("y given without x")
        with self._lock:
            if positions is not None:
                self._x, self._y = new_x, new_y
            x, y_ = self._x, self._y
            if reuse and self._last is not None and self._moved_less_than_half_gcell(x, y_):
                last = self._last
                return dataclasses.replace(last, reused=True, seconds=0.0)
            start = time.perf_counter()
            spans = self.design.gcell_spans(x, y_)
            maps = None
            if self._nets is not None or self.predictor.gcell_head is not None:
                # One computation of the free maps for the features, the net nodes and the gcell head.
                maps = position_maps(self.design, x, y_, context=self._maps, spans=spans)
            if self._nets is not None:
                self._move_net_nodes(x, y_, maps)
                self._move_placement(x, y_)
            features = self._features(x, y_, spans, maps)
            graph = self._graph if self._graph is not None else self._graph_at(x, y_)
            scores = np.asarray(self.predictor.predict(features, graph), dtype=np.float32).reshape(-1)
            if not np.all(np.isfinite(scores)):
                bad = int(np.count_nonzero(~np.isfinite(scores)))
                raise InputError(
                    f"the model gave non-finite scores for {bad} of {len(scores)} cells at these positions"
                )
            gmap, covered = gcell_map_of_cells(self.design, scores, self.predictor.label_reduce, spans)
            if self.predictor.gcell_head is not None:
                gmap = self.predictor.gcell_head.apply(maps, gmap, covered)
            result = CongestionEstimate(
                cell_scores=scores,
                gcell_map=gmap,
                grid=self.design.grid,
                node_names=self.design.node_names,
                covered=covered,
                reused=False,
                seconds=time.perf_counter() - start,
                layout=self._layout,
            )
            self._last, self._last_x, self._last_y = result, x.copy(), y_.copy()
            return result

    @property
    def _moving_graph(self) -> bool:
        """Whether the model's whole graph is rebuilt per estimate: the netlist joined with the
        placement neighbours of a homogeneous model (a cell-net graph stays resident and has its
        net features and placement relation replaced in it)."""
        return bool(self.predictor.placement_neighbours) and not self.predictor.needs_net_nodes

    def _graph_at(self, x: np.ndarray, y: np.ndarray):
        """The netlist adjacency joined with the placement neighbours at these positions."""
        return self.predictor.design_graph(self.design, *self._adjacency, positions=(x, y))

    def features(self, positions: Any = None, y: Any = None, *, units: str = "um") -> np.ndarray:
        """The raw ``(N, F)`` feature matrix the model would see for these positions (for debugging)."""
        if positions is None:
            return self._features(self._x, self._y)
        return self._features(*self._coerce(positions, y, units))

    def _features(
        self, x: np.ndarray, y: np.ndarray, spans: np.ndarray | None = None, maps: np.ndarray | None = None
    ) -> np.ndarray:
        full = self._template.copy()
        if self._position_dst:
            extra = {} if maps is None else {"maps": maps}  # the maps the net features were computed from
            pos = self._position_features(self.design, x, y, context=self._maps, spans=spans, **extra)
            full[:, self._position_dst] = np.asarray(pos.values, dtype=np.float32)[:, self._position_src]
        return full

    def _move_net_nodes(self, x: np.ndarray, y: np.ndarray, maps: np.ndarray) -> None:
        """Recompute the net nodes' features at ``(x, y)`` (ingest's values) into the resident graph."""
        feats = net_features(self.design, x, y, context=self._nets, maps=maps)
        self._graph.net_x.copy_(torch.from_numpy(net_inputs(feats)))

    def _move_placement(self, x: np.ndarray, y: np.ndarray) -> None:
        """The cell-net graph's placement relation at ``(x, y)`` (models trained with one)."""
        if self.predictor.placement_neighbours:
            self._graph.placement = placement_adjacency(
                self.design,
                self.predictor.placement_neighbours,
                (x, y),
                self.predictor.device,
                self.predictor.normalization,
            )

    def net_features(self, positions: Any = None, y: Any = None, *, units: str = "um") -> np.ndarray | None:
        """The raw ``(M, F')`` net-node features at these positions (cell-net models; else None)."""
        if self._nets is None:
            return None
        x_, y_ = (self._x, self._y) if positions is None else self._coerce(positions, y, units)
        return net_features(self.design, x_, y_, context=self._nets, map_context=self._maps)

    def _moved_less_than_half_gcell(self, x: np.ndarray, y: np.ndarray) -> bool:
        assert self._last_x is not None and self._last_y is not None
        return bool(
            np.abs(x - self._last_x).max(initial=0.0) < self._half_gcell[0]
            and np.abs(y - self._last_y).max(initial=0.0) < self._half_gcell[1]
        )

    def _coerce(self, positions: Any, y: Any, units: str) -> tuple[np.ndarray, np.ndarray]:
        """Positions in any accepted form -> two float64 arrays of length N, microns."""
        if units not in UNITS:
            raise InputError(f"units must be one of {', '.join(UNITS)}, got {units!r}")
        n = self.num_cells
        pos = _to_numpy(positions)
        if y is None:
            if pos.ndim != 2 or pos.shape != (n, 2):
                raise InputError(f"positions must have shape ({n}, 2) for this design's {n} cells, got {pos.shape}")
            x_arr, y_arr = pos[:, 0], pos[:, 1]
        else:
            x_arr, y_arr = pos, _to_numpy(y)
            for label, arr in (("x", x_arr), ("y", y_arr)):
                if arr.shape != (n,):
                    raise InputError(f"{label} must have shape ({n},) for this design's {n} cells, got {arr.shape}")
        try:
            x_arr = np.array(x_arr, dtype=np.float64)
            y_arr = np.array(y_arr, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError("positions must be numbers") from None
        if not (np.all(np.isfinite(x_arr)) and np.all(np.isfinite(y_arr))):
            raise InputError("positions contain NaN or infinite values")
        if units == "dbu":
            x_arr /= self.design.dbu_per_micron
            y_arr /= self.design.dbu_per_micron
        self._check_near_die(x_arr, y_arr)
        return x_arr, y_arr

    def _check_near_die(self, x: np.ndarray, y: np.ndarray, rows: np.ndarray | None = None) -> None:
        """Refuse positions more than :data:`DIE_MARGIN` die sizes outside the die (microns);
        ``rows`` are the session indices of ``x`` and ``y`` when they are not every cell's."""
        x0, y0, x1, y1 = self.design.die
        mx, my = DIE_MARGIN * (x1 - x0), DIE_MARGIN * (y1 - y0)
        outside = (x < x0 - mx) | (x > x1 + mx) | (y < y0 - my) | (y > y1 + my)
        if np.any(outside):
            first = int(np.argmax(outside))
            cell = first if rows is None else int(rows[first])
            raise InputError(
                f"{int(outside.sum())} position(s) lie far outside the die ({x0:g} {y0:g} {x1:g} {y1:g} um), "
                f"e.g. cell {self.design.node_names[cell]} at ({x[first]:g}, {y[first]:g}): wrong units?"
            )


def _to_numpy(value: Any) -> np.ndarray:
    """numpy view of an array-like or a torch tensor (detached, moved to the CPU)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as err:
        raise InputError(f"positions are not an array: {err}") from None


def _load_predictor(checkpoint: str | Path, device: str) -> Predictor:
    return load_predictor(str(checkpoint), device=device)
