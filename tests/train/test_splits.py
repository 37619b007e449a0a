"""Design and node splits: sizes, disjointness, reproducibility, stored masks."""

from __future__ import annotations

import numpy as np
import pytest

from gsr_eda.train.splits import TEST, TRAIN, VAL, SplitPlan, plan_split


def test_three_or_more_designs_split_by_design():
    designs = {f"d{i}": (100, None) for i in range(10)}
    plan = plan_split(designs, seed=3)
    assert plan.mode == "design"
    parts = [set(plan.train_designs), set(plan.val_designs), set(plan.test_designs)]
    assert all(parts) and set.union(*parts) == set(designs)
    assert sum(len(p) for p in parts) == 10
    assert plan.mask("d0", TRAIN) is None
    assert plan_split(designs, seed=3).test_designs == plan.test_designs
    assert "split by design" in plan.describe()


def test_few_designs_split_by_seeded_node_masks():
    plan = plan_split({"a": (1000, None), "b": (500, None)}, seed=1)
    assert plan.mode == "node" and plan.source == "seeded"
    mask = plan.node_masks["a"]
    assert mask.shape == (1000,)
    assert (mask == TEST).sum() == 150 and (mask == VAL).sum() == 150
    assert not np.array_equal(plan.node_masks["a"][:500], plan.node_masks["b"])
    again = plan_split({"a": (1000, None), "b": (500, None)}, seed=1)
    np.testing.assert_array_equal(again.node_masks["a"], mask)
    assert "seeded masks (seed 1)" in plan.describe()


def test_stored_masks_are_used_when_every_design_has_them():
    stored = np.array([0, 0, 1, 2, 0], dtype=np.int8)
    plan = plan_split({"a": (5, stored)}, seed=0)
    assert plan.source == "stored"
    np.testing.assert_array_equal(plan.mask("a", VAL), stored == VAL)


def test_state_round_trip():
    plan = plan_split({"a": (50, None)}, seed=9)
    back = SplitPlan.from_state(plan.to_state())
    assert back.mode == plan.mode and back.seed == 9
    np.testing.assert_array_equal(back.node_masks["a"], plan.node_masks["a"])


def test_bad_requests():
    with pytest.raises(ValueError, match="at least 3"):
        plan_split({"a": (5, None)}, seed=0, mode="design")
    with pytest.raises(ValueError, match="no labelled"):
        plan_split({}, seed=0)


def test_named_designs_are_held_out_even_with_two_designs():
    plan = plan_split({"a": (10, None), "b": (20, None)}, seed=0, val_designs=["b"])
    assert (plan.mode, plan.source) == ("design", "named")
    assert plan.train_designs == ["a"] and plan.val_designs == ["b"] and plan.test_designs == []
    assert "named by the user" in plan.describe()


def test_named_test_design_draws_validation_from_the_rest():
    designs = {f"d{i}": (10, None) for i in range(5)}
    plan = plan_split(designs, seed=4, test_designs=["d2"])
    assert plan.test_designs == ["d2"] and len(plan.val_designs) == 1 and "d2" not in plan.val_designs
    assert set(plan.train_designs) == set(designs) - {"d2", *plan.val_designs}
    assert plan_split(designs, seed=4, test_designs=["d2"]).val_designs == plan.val_designs


@pytest.mark.parametrize(
    ("val", "test", "message"),
    [(["zz"], [], "not among"), (["a"], ["a"], "both"), (["a", "b"], [], "no design to train"), ([], ["a"], "too few")],
)
def test_named_split_refuses_what_cannot_work(val, test, message):
    with pytest.raises(ValueError, match=message):
        plan_split({"a": (10, None), "b": (10, None)}, seed=0, val_designs=val, test_designs=test)


def test_named_split_is_not_a_node_split():
    with pytest.raises(ValueError, match="node split"):
        plan_split({"a": (10, None), "b": (10, None), "c": (5, None)}, seed=0, mode="node", val_designs=["a"])
