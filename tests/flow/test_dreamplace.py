"""DREAMPlace adapter against an object shaped like DREAMPlace's PlaceDB."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from gsr_eda.errors import InputError

SCALE = 1.0 / 200.0  # DREAMPlace's default: 1 / site width (0.2 um = 200 DBU)
DBU = 1000.0


@pytest.fixture(scope="module")
def session(tiny_design, tiny_checkpoint):
    from gsr_eda.flow import CongestionSession

    return CongestionSession.from_def(tiny_design.def_path, tiny_design.lefs, tiny_checkpoint)


def fake_placedb(names_um_xy, *, fillers=4, terminals=("t0",), bins=(8, 8)):
    """PlaceDB-like: movable, fixed ('terminals'), IO ('terminal NIs'), then fillers."""
    names = [n for n, _, _ in names_um_xy] + list(terminals) + ["io0"]
    movable = len(names_um_xy)
    physical = len(names)
    xs = [x for _, x, _ in names_um_xy] + [1.0] * (len(terminals) + 1)
    ys = [y for _, _, y in names_um_xy] + [1.0] * (len(terminals) + 1)
    die = 40.0 * DBU * SCALE
    db = SimpleNamespace(
        node_names=np.array(names, dtype=np.bytes_),  # DREAMPlace keeps names as bytes
        num_physical_nodes=physical,
        num_terminals=len(terminals),
        num_terminal_NIs=1,
        num_filler_nodes=fillers,
        num_movable_nodes=movable,
        xl=0.0,
        yl=0.0,
        xh=die,
        yh=die,
        num_bins_x=bins[0],
        num_bins_y=bins[1],
        routing_grid_xl=0.0,
        routing_grid_yl=0.0,
        routing_grid_xh=die,
        routing_grid_yh=die,
        num_routing_grids_x=bins[0],
        num_routing_grids_y=bins[1],
    )
    n = physical + fillers
    pos = np.zeros(2 * n)
    pos[:physical] = np.array(xs) * DBU * SCALE
    pos[n : n + physical] = np.array(ys) * DBU * SCALE
    pos[physical:n] = 7.0  # fillers: anywhere, must be ignored
    return db, pos


def test_order_units_and_fillers(session):
    from gsr_eda.flow.dreamplace import DreamPlaceCongestion

    x0, y0 = session.positions
    # DREAMPlace's own order: reversed, so mapping by name is required.
    entries = [(str(n), float(x) + 0.4, float(y)) for n, x, y in zip(session.node_names, x0, y0)][::-1]
    db, pos = fake_placedb(entries)
    adapter = DreamPlaceCongestion(session, db, scale_factor=SCALE)
    x, y = adapter.positions_um(pos)
    np.testing.assert_allclose(x, x0 + 0.4)
    np.testing.assert_allclose(y, y0)
    util = adapter.utilization_map(pos)
    assert util.shape == (8, 8)
    # Area-weighted mean resampling preserves the integral over the die.
    est = session.estimate(x, y)
    g = session.design.grid
    gcell_integral = (est.gcell_map * np.outer(np.diff(g.x_edges), np.diff(g.y_edges))).sum()
    assert (util * 5.0 * 5.0).sum() == pytest.approx(gcell_integral, rel=1e-5)
    # Filler positions do not matter.
    pos2 = pos.copy()
    n = db.num_physical_nodes + db.num_filler_nodes
    pos2[db.num_physical_nodes : n] = 123.0
    np.testing.assert_array_equal(adapter.utilization_map(pos2), util)


def test_torch_call_returns_tensor_like_pos(session):
    import torch

    from gsr_eda.flow.dreamplace import DreamPlaceCongestion

    x0, y0 = session.positions
    db, pos = fake_placedb([(str(n), float(x), float(y)) for n, x, y in zip(session.node_names, x0, y0)])
    adapter = DreamPlaceCongestion(session, db, scale_factor=SCALE, label_to_utilization="overflow")
    out = adapter(torch.tensor(pos, dtype=torch.float64))
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64 and tuple(out.shape) == (8, 8)


def test_shift_factor(session):
    from gsr_eda.flow.dreamplace import DreamPlaceCongestion

    x0, y0 = session.positions
    shift = (1000.0, 2000.0)  # DBU
    entries = [(str(n), float(x), float(y)) for n, x, y in zip(session.node_names, x0, y0)]
    db, pos = fake_placedb(entries)
    n = db.num_physical_nodes + db.num_filler_nodes
    pos[:n] -= shift[0] * SCALE
    pos[n:] -= shift[1] * SCALE
    adapter = DreamPlaceCongestion(session, db, scale_factor=SCALE, shift_factor=shift)
    x, y = adapter.positions_um(pos)
    np.testing.assert_allclose(x, x0)
    np.testing.assert_allclose(y, y0)


def test_wrong_design_and_wrong_length(session):
    from gsr_eda.flow.dreamplace import DreamPlaceCongestion

    db, pos = fake_placedb([("other", 1.0, 1.0)])
    with pytest.raises(InputError, match="same design"):
        DreamPlaceCongestion(session, db, scale_factor=SCALE)
    x0, y0 = session.positions
    db, pos = fake_placedb([(str(n), float(x), float(y)) for n, x, y in zip(session.node_names, x0, y0)])
    adapter = DreamPlaceCongestion(session, db, scale_factor=SCALE)
    with pytest.raises(InputError, match="2 \\* num_nodes"):
        adapter.positions_um(pos[:-1])
    with pytest.raises(InputError, match="label_to_utilization"):
        DreamPlaceCongestion(session, db, scale_factor=SCALE, label_to_utilization="nope")
