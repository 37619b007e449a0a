"""CongestionSession: equals a from-scratch prediction, reacts to moves, reuse, validation."""

from __future__ import annotations

import numpy as np
import pytest

from gsr_eda.errors import InputError


@pytest.fixture(scope="module")
def session(tiny_design, tiny_checkpoint):
    from gsr_eda.flow import CongestionSession

    return CongestionSession.from_def(tiny_design.def_path, tiny_design.lefs, tiny_checkpoint)


def _reference(session, x, y):
    """Prediction the long way: full node features and a fresh graph, as ingest + predict do."""
    from gsr_eda.design import gcell_map_from_cells
    from gsr_eda.graph import build_adjacency, node_features

    pred = session.predictor
    design = session.design
    feats = node_features(design, x, y)
    order = [feats.names.index(name) for name in pred.feature_names]
    adj = pred.design_graph(design, *build_adjacency(design, pred.net_model, pred.net_cap), positions=(x, y))
    scores = pred.predict(feats.values[:, order], adj)
    gmap = gcell_map_from_cells(scores, design.gcell_spans(x, y), design.grid.shape, pred.label_reduce)
    return scores, gmap


def test_estimate_matches_full_prediction_at_new_positions(session):
    rng = np.random.default_rng(1)
    x0, y0 = session.positions
    x = np.clip(x0 + rng.uniform(-3, 3, x0.size), 0, 38)
    y = np.clip(y0 + rng.uniform(-3, 3, y0.size), 0, 38)
    est = session.estimate(x, y)
    ref_scores, ref_map = _reference(session, x, y)
    np.testing.assert_allclose(est.cell_scores, ref_scores, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(est.gcell_map, ref_map, rtol=1e-5, atol=1e-5)
    assert est.gcell_map.shape == session.design.grid.shape == (10, 10)
    assert not est.reused
    session.estimate(x0, y0)


def test_placement_neighbours_follow_the_cells(session):
    """The default model joins each cell to its nearest cells: the reference above rebuilds those
    edges at the new positions, and a graph frozen at the initial ones predicts otherwise."""
    assert session.predictor.placement_neighbours == 8
    rng = np.random.default_rng(2)
    x0, y0 = session.positions
    x, y = rng.permutation(x0), rng.permutation(y0)  # a different placement of the same cells
    features = session.features(x, y)
    frozen = session.predictor.design_graph(session.design, *session._adjacency)
    moved = session.predictor.design_graph(session.design, *session._adjacency, positions=(x, y))
    est = session.estimate(x, y)
    np.testing.assert_allclose(est.cell_scores, session.predictor.predict(features, moved), rtol=1e-5, atol=1e-5)
    assert not np.allclose(est.cell_scores, session.predictor.predict(features, frozen), atol=1e-5)
    session.estimate(x0, y0)


def test_moving_cells_changes_the_map(session):
    x0, y0 = session.positions
    before = session.estimate(x0, y0)
    # Pile every cell into the top-right corner.
    after = session.estimate(np.full_like(x0, 34.0), np.full_like(y0, 34.0))
    assert not np.allclose(before.gcell_map, after.gcell_map)
    assert np.count_nonzero(after.gcell_map) < np.count_nonzero(before.gcell_map)
    assert after.gcell_map[-2:, -2:].any()
    session.estimate(x0, y0)  # restore for the other tests


def test_reuse_within_half_a_gcell(session):
    x0, y0 = session.positions
    first = session.estimate(x0, y0, reuse=True)
    small = session.estimate(x0 + 1.9, y0, reuse=True)  # gcells are 4 um: 1.9 < 2
    assert small.reused and small.seconds == 0.0
    np.testing.assert_array_equal(small.cell_scores, first.cell_scores)
    # Drift is measured from the last computed estimate: a second 1.9 um step is 3.8 um.
    drifted = session.estimate(x0 + 3.8, y0, reuse=True)
    assert not drifted.reused
    not_asked = session.estimate(x0 + 3.8, y0)
    assert not not_asked.reused
    session.estimate(x0, y0)


def test_accepts_n_by_2_torch_and_dbu(session):
    import torch

    x0, y0 = session.positions
    a = session.estimate(np.column_stack([x0, y0])).cell_scores
    # float64: float32 rounding can move a box edge across a gcell boundary.
    b = session.estimate(torch.tensor(np.column_stack([x0, y0]), dtype=torch.float64)).cell_scores
    c = session.estimate(x0 * 1000.0, y0 * 1000.0, units="dbu").cell_scores
    np.testing.assert_allclose(a, b, atol=1e-4)
    np.testing.assert_allclose(a, c, atol=1e-6)


@pytest.mark.parametrize(
    "args, match",
    [
        ((np.zeros((3, 2)),), r"shape \(150, 2\)"),
        ((np.zeros(150), np.zeros(149)), r"y must have shape \(150,\)"),
        ((np.full(150, np.nan), np.zeros(150)), "NaN"),
    ],
)
def test_bad_positions_are_input_errors(session, args, match):
    with pytest.raises(InputError, match=match):
        session.estimate(*args)


def test_unknown_units(session):
    x0, y0 = session.positions
    with pytest.raises(InputError, match="units"):
        session.estimate(x0, y0, units="mm")


def test_update_from_def_reads_new_positions(session, tiny_design, tmp_path):
    from tiny_flow_design import write_def

    masters, nets = tiny_design.masters, tiny_design.nets
    session.update_from_def(tiny_design.def_path)
    x = tiny_design.x.copy()
    x[5] += 8.0
    moved = tmp_path / "moved.def"
    write_def(moved, tiny_design.names, masters, x, tiny_design.y, nets)
    result = session.update_from_def(moved)
    assert result == {"matched": 150, "moved_um": pytest.approx(8.0), "reloaded": False}
    assert session.positions[0][session.index_of(["u5"])[0]] == pytest.approx(x[5])
    # A flipped cell changes pin offsets: the session re-reads the whole design.
    orients = ["N"] * 150
    orients[7] = "FS"
    write_def(moved, tiny_design.names, masters, x, tiny_design.y, nets, orients)
    assert session.update_from_def(moved)["reloaded"] is True
    assert session.estimate().cell_scores.shape == (150,)
    session.update_from_def(tiny_design.def_path)


def test_update_from_def_follows_components_in_a_new_order(session, tiny_design, tmp_path):
    """The session remembers where the last DEF's components go; a DEF in another order must not reuse that."""
    from tiny_flow_design import write_def

    masters, nets = tiny_design.masters, tiny_design.nets
    session.update_from_def(tiny_design.def_path)
    x = tiny_design.x + np.arange(150) * 0.01
    flipped = tmp_path / "reversed.def"
    order = np.arange(150)[::-1]
    write_def(
        flipped,
        [tiny_design.names[i] for i in order],
        [masters[i] for i in order],
        x[order],
        tiny_design.y[order],
        nets,
    )
    assert session.update_from_def(flipped)["matched"] == 150
    np.testing.assert_allclose(session.positions[0][session.index_of(tiny_design.names)], x)
    session.update_from_def(tiny_design.def_path)
    np.testing.assert_allclose(session.positions[0][session.index_of(tiny_design.names)], tiny_design.x)


def test_hotspots_and_files(session, tmp_path):
    est = session.estimate()
    threshold = float(np.median(est.cell_scores))
    hot = est.hotspots(threshold)
    assert len(hot) == est.summary(threshold)["hotspot_cells"]
    assert np.all(np.diff(est.cell_scores[hot]) <= 0)
    cells = est.write_cells(tmp_path / "r.cells.tsv").read_text().splitlines()
    assert cells[0].startswith("#") and len(cells) == 151
    name, score = cells[1].split("\t")
    assert name == str(session.node_names[0]) and float(score) == pytest.approx(est.cell_scores[0], rel=1e-5)
    rows = est.write_gcells(tmp_path / "r.gcells.csv").read_text().splitlines()
    assert rows[0] == "gx,gy,x0,y0,x1,y1,congestion" and len(rows) == 101


def test_estimate_equals_predict_cli(session, tiny_design, tiny_checkpoint, tmp_path):
    """The session and a fresh `gsr-eda predict` process agree on the DEF's own positions."""
    import csv

    from typer.testing import CliRunner

    from gsr_eda.cli import app

    session.update_from_def(tiny_design.def_path)
    out = tmp_path / "p.csv"
    result = CliRunner().invoke(
        app,
        [
            "predict",
            "-c",
            str(tiny_checkpoint),
            "--def",
            str(tiny_design.def_path),
            "--lef",
            str(tiny_design.lefs[0]),
            "--lef",
            str(tiny_design.lefs[1]),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    with out.open() as handle:
        rows = [row for row in csv.reader(handle) if row and not row[0].startswith("#")]
    by_name = {row[0]: float(row[1]) for row in rows[1:]}
    est = session.estimate()
    mine = {str(n): float(v) for n, v in zip(session.node_names, est.cell_scores)}
    assert by_name.keys() == mine.keys()
    for name, value in mine.items():
        assert by_name[name] == pytest.approx(value, rel=1e-4, abs=1e-4)


@pytest.mark.parametrize("net_model", ["checkpoint", "star"])
def test_from_store_equals_from_def(session, tiny_design, tiny_checkpoint, tmp_path, monkeypatch, net_model):
    """A store entry written by the store API gives the same estimate as reading the DEF.

    With the checkpoint's net model the stored graph is used as is (building one would fail
    here); with another net model the session builds the checkpoint's graph from the design.
    """
    import gsr_eda.flow.session
    from gsr_eda.flow import CongestionSession
    from gsr_eda.ingest import read_def_design
    from gsr_eda.ingest.build import build_record
    from gsr_eda.store.writer import write_designs

    pred = session.predictor
    model, cap = (pred.net_model, pred.net_cap) if net_model == "checkpoint" else ("star", 8)
    assert net_model == "checkpoint" or model != pred.net_model  # the tiny model uses capped-clique
    store = tmp_path / "tiny.h5"
    design = read_def_design(tiny_design.def_path, tiny_design.lefs)
    write_designs(store, [build_record(design, net_model=model, cap=cap)])

    if net_model == "checkpoint":

        def refuse(*_args, **_kwargs):
            raise AssertionError("from_store rebuilt a graph the store already holds")

        monkeypatch.setattr(gsr_eda.flow.session, "build_adjacency", refuse)
    stored = CongestionSession.from_store(store, "tiny", tiny_checkpoint)
    monkeypatch.undo()

    assert list(stored.node_names) == list(session.node_names)
    np.testing.assert_array_equal(stored.features(), session.features())
    x0, y0 = session.positions
    rng = np.random.default_rng(7)
    x = np.clip(x0 + rng.uniform(-2, 2, x0.size), 0, 38)
    y = np.clip(y0 + rng.uniform(-2, 2, y0.size), 0, 38)
    for positions in ((x0, y0), (x, y)):
        a, b = stored.estimate(*positions), session.estimate(*positions)
        np.testing.assert_allclose(a.cell_scores, b.cell_scores, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(a.gcell_map, b.gcell_map, rtol=1e-6, atol=1e-6)
    assert stored.source["store"] == str(store) and stored.source["name"] == "tiny"
    session.estimate(x0, y0)


def test_a_gcell_head_shapes_the_estimated_map(tiny_design, tiny_checkpoint, tmp_path):
    from gsr_eda.flow import CongestionSession
    from gsr_eda.graph.features import position_maps
    from gsr_eda.predict.checkpoint import load_checkpoint, save_checkpoint
    from gsr_eda.predict.gcell_head import GcellHead

    head = GcellHead((0.5, -0.2, 0.3, 0.4), 0.1)
    with_head = tmp_path / "with_head.pt"
    save_checkpoint(with_head, load_checkpoint(tiny_checkpoint) | {"gcell_head": head.to_state()})
    plain = CongestionSession.from_def(tiny_design.def_path, tiny_design.lefs, tiny_checkpoint)
    headed = CongestionSession.from_def(tiny_design.def_path, tiny_design.lefs, with_head)
    x, y = plain.positions
    before, after = plain.estimate(x, y), headed.estimate(x, y)
    np.testing.assert_allclose(after.cell_scores, before.cell_scores, rtol=1e-6)
    expected = head.apply(position_maps(plain.design, x, y), before.gcell_map, before.covered)
    np.testing.assert_allclose(after.gcell_map, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(after.gcell_map, before.gcell_map)
