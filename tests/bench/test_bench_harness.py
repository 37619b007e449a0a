"""The benchmark harness: configuration grid, child processes, failure records, reports."""

from __future__ import annotations

import json
import statistics
import struct
from pathlib import Path

import numpy as np
import pytest

from gsr_eda.bench import BenchConfig, GraphSpec, GridSpec, RunLimits, run_config, run_train_benchmark
from gsr_eda.bench.memory import PeakRssMeter
from gsr_eda.bench.report import check_targets, compare, rerender_report

TINY = Path(__file__).resolve().parent
TINY_BUILDERS = {
    "model_builder": "tiny_bench_models:build_model",
    "adjacency_builder": "tiny_bench_models:sparse_mean",
}
SMALL_GRAPH = GraphSpec(kind="random", num_nodes=300, avg_degree=6, num_features=8, seed=1)


@pytest.fixture
def tiny_models_importable(monkeypatch):
    """Child processes import the stand-in models from this folder."""
    monkeypatch.setenv("PYTHONPATH", str(TINY))


def tiny_config(model: str, **overrides) -> BenchConfig:
    settings = dict(layers=2, hidden=16, steps=2, warmup=1, threads=1, **TINY_BUILDERS)
    settings.update(overrides)
    return BenchConfig(model=model, **settings)


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", header[16:24])


def test_grid_is_depth_major_and_k_applies_to_gsr_only():
    grid = GridSpec(["gsr", "revgnn", "gcn"], [64, 16], [16, 4], hidden=128, settings={"steps": 3})
    labels = [config.label for config in grid.configs()]
    assert labels == [
        "gsr L16 k4",
        "gsr L16 k16",
        "revgnn L16",
        "gcn L16",
        "gsr L64 k4",
        "gsr L64 k16",
        "revgnn L64",
        "gcn L64",
    ]
    assert all(config.steps == 3 and config.hidden == 128 for config in grid.configs())
    config = grid.configs()[0]
    assert BenchConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_peak_rss_meter_sees_a_transient_allocation():
    meter = PeakRssMeter()
    meter.start()
    block = np.ones(200 * 2**20 // 8)  # 200 MiB, touched
    del block
    peak = meter.stop()
    assert 190 * 2**20 <= peak < 400 * 2**20, meter.method


def test_two_configuration_grid_writes_json_markdown_and_png(tiny_models_importable, tmp_path):
    grid = GridSpec(
        ["gsr", "revgnn"],
        [2],
        [4],
        hidden=16,
        settings=dict(steps=2, warmup=1, epochs=4, threads=1, profile=True, **TINY_BUILDERS),
    )
    results = run_train_benchmark(
        SMALL_GRAPH, grid, RunLimits(timeout_s=240), tmp_path / "out", argv=["gsr-eda", "bench", "train", "--test"]
    )

    document = json.loads((tmp_path / "out" / "results.json").read_text())
    assert document["schema"] == "gsr-eda-bench-train/1"
    machine = document["machine"]
    for key in ("cpu_model", "logical_cores", "memory_total_bytes", "versions", "command", "date_utc"):
        assert machine[key], key
    assert machine["command"] == "gsr-eda bench train --test"
    assert machine["versions"]["torch"]
    assert [r["label"] for r in document["records"]] == ["gsr L2 k4", "revgnn L2"]
    for record in document["records"]:
        assert record["status"] == "ok", record.get("log")
        figures = record["figures"]
        assert 0 < figures["forward_s"] and 0 < figures["backward_s"] and 0 < figures["optimizer_s"]
        assert figures["step_s"] == pytest.approx(statistics.median(figures["step_s_all"]))
        assert figures["peak_rss_bytes"] >= 0 and "VmHWM" in figures["memory_method"]
        assert -1.0 <= figures["val_pearson"] <= 1.0 and figures["epochs_trained"] == 4
    gsr_row = document["summary"][0]
    revgnn_time = document["records"][1]["figures"]["step_s"]
    assert gsr_row["speedup_vs_revgnn"] == pytest.approx(revgnn_time / gsr_row["step_s"])
    assert document["records"][0]["figures"]["profile"]["kernels"], "--profile adds a kernel breakdown for gsr"
    assert "profile" not in document["records"][1]["figures"]

    report = (tmp_path / "out" / "report.md").read_text()
    assert "| gsr L2 k4 | ok |" in report and "| revgnn L2 | ok |" in report
    assert "## Targets" in report and "MISSED" in report  # a 2-layer toy does not meet 20x
    assert "Where the time goes" in report
    for name in ("time_vs_depth.png", "memory_vs_depth.png", "speedup_vs_k.png"):
        width, height = png_size(tmp_path / "out" / name)
        assert width > 100 and height > 100
    assert sorted(Path(f).name for f in results["files"]) == sorted(
        ["results.json", "report.md", "time_vs_depth.png", "memory_vs_depth.png", "speedup_vs_k.png"]
    )
    assert not list((tmp_path / "out").glob("*.part*")), "no half-written files are left behind"

    (tmp_path / "out" / "report.md").unlink()
    rerender_report(tmp_path / "out")
    assert (tmp_path / "out" / "report.md").read_text() == report


def test_a_configuration_that_raises_is_recorded_with_its_message(tiny_models_importable):
    record = run_config(SMALL_GRAPH, tiny_config("crash"), RunLimits(timeout_s=240))
    assert record["status"] == "error"
    assert record["message"] == "ValueError: this model always fails to build"
    assert "Traceback" in record["log"]


def test_a_configuration_past_its_time_limit_is_killed_and_recorded(tiny_models_importable):
    record = run_config(SMALL_GRAPH, tiny_config("sleepy"), RunLimits(timeout_s=4))
    assert record["status"] == "timeout"
    assert "4 s" in record["message"]
    assert record["wall_s"] < 30


def test_a_configuration_past_its_memory_limit_is_killed_as_oom(tiny_models_importable):
    import psutil

    limit = psutil.Process().memory_info().rss + 600 * 2**20  # the child's torch import fits, the hog not
    record = run_config(SMALL_GRAPH, tiny_config("hog"), RunLimits(timeout_s=240, memory_limit_bytes=limit))
    assert record["status"] == "oom"
    assert "memory limit" in record["message"]


def test_hopeless_non_reversible_run_is_not_started():
    config = BenchConfig(model="gcn", layers=1000, hidden=4096)
    record = run_config(SMALL_GRAPH, config, RunLimits(memory_limit_bytes=2**30), num_nodes=10**6)
    assert record["status"] == "oom" and record["message"].startswith("not run")


def _record(model, layers, step_s, peak, k=None, status="ok"):
    config = BenchConfig(model=model, layers=layers, k=k).to_dict()
    figures = (
        {
            "step_s": step_s,
            "peak_rss_bytes": peak,
            "forward_s": step_s / 2,
            "backward_s": step_s / 2,
            "optimizer_s": 0.0,
        }
        if status == "ok"
        else {}
    )
    return {
        "label": BenchConfig.from_dict(config).label,
        "config": config,
        "status": status,
        "message": "" if status == "ok" else "killed",
        "figures": figures,
    }


def test_speedups_reductions_and_target_verdicts():
    records = [
        _record("gsr", 16, 0.5, 100e6, k=8),
        _record("revgnn", 16, 6.0, 1000e6),
        _record("gsr", 64, 1.5, 110e6, k=8),
        _record("revgnn", 64, 33.0, 4000e6),
        _record("gcn", 64, 9.0, 0, status="oom"),
    ]
    rows = compare(records)
    by_label = {row["label"]: row for row in rows}
    assert by_label["gsr L64 k8"]["speedup_vs_revgnn"] == pytest.approx(22.0)
    assert by_label["gsr L64 k8"]["memory_reduction_vs_revgnn"] == pytest.approx(1 - 110 / 4000)
    assert by_label["gsr L16 k8"]["speedup_vs_revgnn"] == pytest.approx(12.0)
    assert by_label["gcn L64"]["speedup_vs_revgnn"] is None and by_label["gcn L64"]["status"] == "oom"

    checks = {(c["target"], c["subject"]): c for c in check_targets(rows, "cpu")}
    speed64 = checks[("speedup vs revgnn", "gsr L64 k8")]
    assert speed64["met"] and speed64["reference"]
    assert not checks[("speedup vs revgnn", "gsr L16 k8")]["met"]  # 12x < 20x
    assert checks[("peak memory reduction vs revgnn", "gsr L16 k8")]["met"]  # 90% lower
    flat = checks[("gsr peak memory flat in depth", "gsr k8: L16 -> L64")]
    assert flat["value"] == pytest.approx(1.1) and flat["met"]
    records[2]["figures"]["peak_rss_bytes"] = 300e6  # 3x growth from 16 to 64 layers
    flat = [c for c in check_targets(compare(records), "cpu") if "flat" in c["target"]][0]
    assert not flat["met"]
