"""docs/store-schema.md documents everything the writer stores, and every feature."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import h5py

from gsr_eda.graph import FEATURES, NET_FEATURES, build_adjacency, build_net_nodes
from gsr_eda.store import SCHEMA_VERSION, write_designs

DOC = Path(__file__).resolve().parents[2] / "docs" / "store-schema.md"


def test_doc_names_version_and_every_feature_with_its_unit():
    text = DOC.read_text()
    assert f"# Graph store schema, version {SCHEMA_VERSION}" in text
    for name, (unit, _description) in {**FEATURES, **NET_FEATURES}.items():
        assert f"| `{name}` | {unit} |" in text, name


def test_doc_lists_every_stored_dataset_and_attribute(tmp_path, make_record):
    path = tmp_path / "s.h5"
    hetero = make_record("hetero")
    hetero = dataclasses.replace(
        hetero,
        indptr=(adj := build_adjacency(hetero.design, "cell-net", 8))[0],
        indices=adj[1],
        net_model="cell-net",
        net_cap=8,
        net_nodes=build_net_nodes(hetero.design),
    )
    write_designs(path, [make_record(), hetero])
    text = DOC.read_text()
    found: list[str] = []

    def visit(name: str, obj) -> None:
        if isinstance(obj, h5py.Dataset):
            found.append(name.rsplit("/", 1)[-1])
        found.extend(obj.attrs.keys())

    with h5py.File(path) as f:
        found.extend(f.attrs.keys())
        f.visititems(visit)
    assert len(found) > 30
    missing = sorted({key for key in found if f"`{key}`" not in text})
    assert not missing, f"undocumented in {DOC.name}: {missing}"
