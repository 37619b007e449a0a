"""``gsr-eda bench kernels``: the JSON document and the error paths (tiny synthetic graph)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gsr_eda.bench.kernels import synthetic_circuit_graph
from gsr_eda.cli import app

KERNELS = {"row_topk", "cbsr_aggregate", "sampled_backward", "cbsr_aggregate_weighted", "weighted_backward"}


def test_json_reports_every_kernel_against_torch() -> None:
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "kernels",
            "--graph",
            "synthetic",
            "--synthetic-nodes",
            "2000",
            "--hidden",
            "32",
            "--k",
            "4",
            "--repeats",
            "1",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["device"] == "cpu" and doc["memory_bandwidth_gbs"] > 0
    (entry,) = doc["graphs"]
    assert entry["graph"] == "synthetic" and entry["nodes"] == 2000
    assert set(entry["kernels"]) == KERNELS
    for row in entry["kernels"].values():
        assert row["ours_s"] > 0 and row["torch_s"] > 0
        assert row["ratio"] == pytest.approx(row["torch_s"] / row["ours_s"])
        assert row["graph"] == "synthetic" and row["device"] == "cpu"


def test_synthetic_graph_has_hubs_and_degree_one_rows() -> None:
    graph = synthetic_circuit_graph(5000)
    degree = graph.indptr[1:] - graph.indptr[:-1]
    assert degree.max() >= 4000 and (degree == 1).sum() > 100


@pytest.mark.parametrize(
    "args,message",
    [
        (["--graph", "mars"], "unknown graph"),
        (["--device", "tpu"], "unknown device"),
        (["--hidden", "30", "--groups", "4"], "must divide"),
    ],
)
def test_bad_options(args: list[str], message: str) -> None:
    from gsr_eda.errors import InputError

    result = CliRunner().invoke(app, ["bench", "kernels", *args])
    assert isinstance(result.exception, InputError)
    assert message in str(result.exception)
