"""The gcell head (``gsr-eda train --gcell-head``): its fit, its units, its checkpoint round trip,
and that predict, evaluate and the flow session all report its map."""

from __future__ import annotations

import numpy as np
import pytest

from gsr_eda.graph.features import POSITION_MAPS
from gsr_eda.predict import load_predictor, predict_design
from gsr_eda.predict.checkpoint import load_checkpoint
from gsr_eda.predict.core import gcell_map_of_cells
from gsr_eda.predict.gcell_head import HEAD_INPUTS, GcellHead, head_inputs
from gsr_eda.store import GraphStore
from gsr_eda.train import TrainConfig, train

TINY = dict(model="gsr", hidden=16, layers=2, groups=2, k=4)


def _maps_and_model(seed: int, shape=(12, 9)):
    rng = np.random.default_rng(seed)
    maps = rng.random((len(POSITION_MAPS), *shape))
    model_map = rng.random(shape).astype(np.float32)
    covered = rng.random(shape) < 0.8
    return maps, model_map, covered


def test_the_fit_recovers_a_linear_map_of_the_standardised_inputs() -> None:
    weights = np.array([0.6, -0.3, 0.1, 0.4])
    maps, model_map, covered = _maps_and_model(0)
    x = head_inputs(maps, model_map, covered)
    head = GcellHead.fit([(x, 5.0 + 2.0 * (x @ weights))])  # any scale and offset: labels are standardised
    # Least squares on z-scored labels: the weights up to the labels' common scale, no offset.
    np.testing.assert_allclose(np.asarray(head.weights) / head.weights[0], weights / weights[0], rtol=1e-6)
    assert abs(head.bias) < 1e-9


def test_the_map_is_in_the_model_maps_units_and_zero_where_not_covered() -> None:
    maps, model_map, covered = _maps_and_model(7)
    only_the_model = GcellHead((0.0, 0.0, 0.0, 1.0), 0.0)
    out = only_the_model.apply(maps, model_map, covered)
    np.testing.assert_allclose(out[covered], model_map[covered], rtol=1e-5, atol=1e-6)
    assert (out[~covered] == 0).all()
    head = GcellHead((0.5, -0.2, 0.1, 0.3), 0.05)
    assert GcellHead.from_state(head.to_state()) == head
    with pytest.raises(ValueError, match="gcell head inputs"):
        GcellHead.from_state(head.to_state() | {"inputs": ["rudy"]})


@pytest.fixture(scope="module")
def four_design_store(tmp_path_factory):
    from tests.train.conftest import make_store

    return make_store(tmp_path_factory.mktemp("head_store4") / "four.h5", 4, num_cells=200)


@pytest.fixture(scope="module")
def one_design_store(tmp_path_factory):
    from tests.train.conftest import make_store

    return make_store(tmp_path_factory.mktemp("head_store1") / "one.h5", 1)


def test_training_with_a_gcell_head_puts_it_where_predict_and_the_session_read_it(four_design_store, tmp_path) -> None:
    out = tmp_path / "run"
    config = TrainConfig(store=str(four_design_store), epochs=3, val_designs=["design1"], gcell_head=True, **TINY)
    train(config, out, log=lambda _m: None, show_progress=False)
    for name in ("best.pt", "last.pt"):
        assert load_checkpoint(out / name)["gcell_head"]["inputs"] == list(HEAD_INPUTS)
    predictor = load_predictor(out / "best.pt")
    assert predictor.gcell_head is not None and predictor.gcell_map_source == "gcell head"
    with GraphStore(four_design_store) as store:
        record = store.read("design0")
    pred = predict_design(predictor, record.design, record.indptr, record.indices, record.features)
    plain, covered = gcell_map_of_cells(record.design, pred.cells, predictor.label_reduce)
    np.testing.assert_array_equal(pred.covered, covered)
    assert not np.allclose(pred.gcell_map[covered], plain[covered])
    np.testing.assert_allclose(
        pred.gcell_map, predictor.gcell_head.apply_to_design(record.design, plain, covered), rtol=1e-6
    )


def test_without_validation_designs_no_head_is_fitted(one_design_store, tmp_path) -> None:
    messages = []
    config = TrainConfig(store=str(one_design_store), epochs=2, gcell_head=True, **TINY)
    train(config, tmp_path / "run", log=messages.append, show_progress=False)
    assert "gcell_head" not in load_checkpoint(tmp_path / "run" / "best.pt")
    assert any("no gcell head fitted" in m for m in messages)
