"""Checkpoint refusal cases: corrupt, foreign, future version, features that do not fit."""

from __future__ import annotations

import pytest
import torch

from gsr_eda.errors import InputError
from gsr_eda.predict.checkpoint import (
    FORMAT_VERSION,
    check_feature_schema,
    load_checkpoint,
    save_checkpoint,
)
from gsr_eda.predict.predictor import load_predictor


@pytest.fixture()
def valid(tmp_path):
    import numpy as np

    from gsr_eda.models import build_model
    from gsr_eda.predict.normalization import Standardizer

    model = build_model("gcn", 3, hidden=8, layers=1)
    std = Standardizer.fit([np.random.default_rng(0).normal(size=(10, 3))], [np.arange(10.0)])
    payload = {
        "model": {"name": "gcn", "in_channels": 3, "hidden": 8, "layers": 1, "groups": 2, "k": 8, "dropout": 0.0},
        "graph": {"net_model": "capped-clique", "net_cap": 8, "normalization": "mean"},
        "label": {"name": "proxy", "reduce": "max", "is_proxy": True},
        "feature_names": ["a", "b", "c"],
        "standardizer": std.to_state(),
        "model_state": model.state_dict(),
    }
    path = tmp_path / "model.pt"
    save_checkpoint(path, payload)
    return path, payload


def test_valid_checkpoint_loads_safely(valid):
    path, _ = valid
    ckpt = load_checkpoint(path)
    assert ckpt["format_version"] == FORMAT_VERSION
    predictor = load_predictor(path)
    assert predictor.feature_names == ["a", "b", "c"] and predictor.net_cap == 8
    assert predictor.placement_neighbours == 0  # written before the option: the netlist alone
    assert not list(path.parent.glob(".*.tmp"))  # the atomic write left no temp file


def test_also_to_writes_the_same_checkpoint_twice(valid, tmp_path):
    """best.pt beside last.pt: one serialisation, two atomic files with the same bytes."""
    _, payload = valid
    last, best = tmp_path / "run" / "last.pt", tmp_path / "run" / "best.pt"
    save_checkpoint(last, payload, also_to=[best])
    assert last.read_bytes() == best.read_bytes()
    assert load_checkpoint(best)["feature_names"] == ["a", "b", "c"]
    assert not list(last.parent.glob(".*.tmp"))


def test_corrupt_file_is_refused(valid, tmp_path):
    path, _ = valid
    data = path.read_bytes()
    bad = tmp_path / "truncated.pt"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="not a readable gsr-eda checkpoint") as err:
        load_checkpoint(bad)
    assert err.value.path == bad
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(InputError, match="corrupt"):
        load_checkpoint(text)


def test_foreign_and_future_checkpoints_are_refused(valid, tmp_path):
    _, payload = valid
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(InputError, match="not a gsr-eda checkpoint"):
        load_checkpoint(foreign)
    future = tmp_path / "future.pt"
    torch.save({**payload, "format": "gsr-eda-checkpoint", "format_version": FORMAT_VERSION + 1}, future)
    with pytest.raises(InputError, match="newer gsr-eda"):
        load_checkpoint(future)


def test_code_in_a_checkpoint_is_never_run(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"format": "gsr-eda-checkpoint", "format_version": 1, "x": Evil()}, path)
    with pytest.raises(InputError, match="not a readable"):
        load_checkpoint(path)


def test_wrong_features_are_refused_with_the_difference(valid):
    path, payload = valid
    check_feature_schema(payload, ["a", "b", "c"], what="the store", path=path)
    with pytest.raises(InputError, match="missing c; unexpected d"):
        check_feature_schema(payload, ["a", "b", "d"], what="the store", path=path)
    with pytest.raises(InputError, match="different order"):
        check_feature_schema(payload, ["c", "b", "a"], what="the store", path=path)


def test_missing_run_folder_checkpoint(tmp_path):
    with pytest.raises(InputError, match="no best.pt or last.pt"):
        load_checkpoint(tmp_path)
    with pytest.raises(InputError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")


def test_cellnet_checkpoint_from_before_net_hidden_has_nets_as_wide_as_cells():
    """Checkpoints written before --net-hidden existed have no such key: their net state is --hidden wide."""
    from gsr_eda.models import build_model
    from gsr_eda.predict.checkpoint import model_from_checkpoint

    config = {"name": "gsr-cellnet", "in_channels": 3, "hidden": 8, "layers": 1, "groups": 2, "k": 2, "dropout": 0.0}
    wide = build_model("gsr-cellnet", 3, hidden=8, layers=1, k=2, net_hidden=8)
    old = {"model": config, "model_state": wide.state_dict()}
    assert model_from_checkpoint(old, "old.pt").body.stack.net_channels == 8
    narrow = build_model("gsr-cellnet", 3, hidden=8, layers=1, k=2, net_hidden=4)
    new = {"model": config | {"net_hidden": 4}, "model_state": narrow.state_dict()}
    assert model_from_checkpoint(new, "new.pt").body.stack.net_channels == 4
    with pytest.raises(InputError, match="do not fit"):
        model_from_checkpoint({"model": config, "model_state": narrow.state_dict()}, "mixed.pt")


def test_cellnet_checkpoint_records_its_placement_relation():
    """Checkpoints written before the relation have no key: the model has none."""
    from gsr_eda.models import build_model
    from gsr_eda.predict.checkpoint import model_from_checkpoint

    config = {"name": "gsr-cellnet", "in_channels": 3, "hidden": 8, "layers": 1, "groups": 2, "k": 2, "dropout": 0.0}
    config["net_hidden"] = 4
    plain = build_model("gsr-cellnet", 3, hidden=8, layers=1, k=2, net_hidden=4)
    old = {"model": config, "model_state": plain.state_dict()}
    assert model_from_checkpoint(old, "old.pt").body.stack.placement_groups == 0
    near = build_model("gsr-cellnet", 3, hidden=8, layers=1, k=2, net_hidden=4, placement_groups=1)
    new = {"model": config | {"placement_groups": 1}, "model_state": near.state_dict()}
    assert model_from_checkpoint(new, "new.pt").body.stack.placement_groups == 1
    with pytest.raises(InputError, match="do not fit"):
        model_from_checkpoint({"model": config, "model_state": near.state_dict()}, "mixed.pt")
