"""Ingest jobs: manifest parsing and the cheap option checks made before any heavy work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gsr_eda.errors import InputError
from gsr_eda.ingest.jobs import IngestJob, read_manifest


def write(tmp_path: Path, payload: object) -> Path:
    path = tmp_path / "m.json"
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    return path


def test_manifest_paths_are_relative_to_the_manifest(tmp_path):
    path = write(
        tmp_path,
        {
            "designs": [
                {"kind": "def", "def": "d/a.def", "lef": "t.lef", "net_model": "star", "net_cap": "4"},
                {"kind": "circuitnet", "root": "/abs/cn", "base": "zr", "placement": "p.npy", "labels": "lab"},
            ]
        },
    )
    first, second = read_manifest(path)
    assert first.def_path == tmp_path / "d/a.def" and first.lef_paths == [tmp_path / "t.lef"]
    assert first.net_model == "star" and first.net_cap == 4
    assert (
        second.root == Path("/abs/cn") and second.placement == tmp_path / "p.npy" and second.labels == tmp_path / "lab"
    )


def test_manifest_label_options_pass_through_with_file_options_relative(tmp_path):
    path = write(
        tmp_path,
        [
            {
                "kind": "def",
                "def": "p.def.gz",
                "lef": ["c.lef"],
                "labels": "r.def.gz",
                "label_kind": "routed-def",
                "label_options": {"measure": "overflow", "failed_nets": "fail.out"},
            }
        ],
    )
    (job,) = read_manifest(path)
    assert job.label_options == {"measure": "overflow", "failed_nets": str(tmp_path / "fail.out")}


@pytest.mark.parametrize(
    "payload, message",
    [
        ("{not json", "not a readable JSON manifest"),
        (
            [
                {
                    "kind": "def",
                    "def": "a",
                    "lef": ["b"],
                    "labels": "r",
                    "label_kind": "routed-def",
                    "label_options": {"measure": 1},
                }
            ],
            "design #1: label options must map names to text",
        ),
        (
            [{"kind": "def", "def": "a", "lef": ["b"], "label_options": {"measure": "overflow"}}],
            "design #1: label options need --labels",
        ),
        ([], "non-empty list"),
        ({"designs": "x"}, "non-empty list"),
        ([3], "design #1: each entry must be a JSON object"),
        ([{"def": "a.def", "lef": ["a.lef"]}], 'design #1: missing "kind"'),
        ([{"kind": "def", "def": "a.def"}], "design #1: a DEF design needs a DEF file and at least one LEF"),
        ([{"kind": "def", "def": "a", "lef": ["b"]}, {"kind": "gds"}], "design #2: unknown ingest kind 'gds'"),
        ([{"kind": "def", "def": "a", "lef": ["b"], "net_cap": "many"}], "design #1: invalid literal"),
        ([{"kind": "circuitnet", "root": "r", "base": "b"}], "design #1: a CircuitNet design needs"),
    ],
)
def test_bad_manifests(tmp_path, payload, message):
    path = write(tmp_path, payload)
    with pytest.raises(InputError, match=message) as err:
        read_manifest(path)
    assert str(path) in str(err.value)


def test_missing_manifest(tmp_path):
    with pytest.raises(InputError, match="no such manifest file"):
        read_manifest(tmp_path / "none.json")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"net_model": "hyper"}, "unknown net model 'hyper'"),
        ({"net_cap": 1}, "--net-cap must be at least 2"),
        ({"label_reduce": "median"}, "unknown label reduction 'median'"),
        ({"labels": Path("l.csv")}, "--labels needs --label-kind"),
        ({"labels": Path("l.csv"), "label_kind": "circuitnet"}, "unknown label kind 'circuitnet' for a DEF design"),
    ],
)
def test_job_option_checks(changes, message):
    job = IngestJob(kind="def", def_path=Path("a.def"), lef_paths=[Path("a.lef")], **changes)
    with pytest.raises(InputError, match=message):
        job.check()
