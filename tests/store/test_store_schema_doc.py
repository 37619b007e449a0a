"""docs/store-schema.md documents everything the writer stores, and every feature."""

from __future__ import annotations

from pathlib import Path

import h5py

from gsr_eda.graph import FEATURES
from gsr_eda.store import SCHEMA_VERSION, write_designs

DOC = Path(__file__).resolve().parents[2] / "docs" / "store-schema.md"


def test_doc_names_version_and_every_feature_with_its_unit():
    text = DOC.read_text()
    assert f"# Graph store schema, version {SCHEMA_VERSION}" in text
    for name, (unit, _description) in FEATURES.items():
        assert f"| `{name}` | {unit} |" in text, name


def test_doc_lists_every_stored_dataset_and_attribute(tmp_path, make_record):
    path = tmp_path / "s.h5"
    write_designs(path, [make_record()])
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
