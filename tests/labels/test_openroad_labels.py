"""OpenROAD label readers on the real grt_reports samples, plus every malformed-input case."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from gsr_eda.design import GcellGrid, RoutingCapacity
from gsr_eda.errors import InputError
from gsr_eda.labels import (
    read_openroad_congestion_report,
    read_openroad_heatmap_csv,
    read_openroad_route_guides,
    route_guide_usage,
)

GCELL_UM = 2.85  # gcd's global-routing gcells (5700 DBU at 2000 DBU per micron)


@pytest.fixture(scope="module")
def grt(shared_data: Path) -> Path:
    return shared_data / "openroad" / "grt_reports"


@pytest.fixture(scope="module")
def floorplan(grt: Path):
    from gsr_eda.ingest.def_design import read_def_floorplan

    return read_def_floorplan(grt / "gcd.def")


def test_gcd_floorplan_grid_is_the_routers_grid(floorplan):
    assert floorplan.dbu_per_micron == 2000
    assert floorplan.grid.shape == (35, 35)
    np.testing.assert_allclose(np.diff(floorplan.grid.x_edges)[:-1], GCELL_UM)


def test_congestion_report_violations_land_in_their_gcells(grt, floorplan):
    label = read_openroad_congestion_report(grt / "congestion7.rptok", floorplan.grid, 2000)
    assert label.values.shape == (35, 35) and label.values.dtype == np.float32
    assert not label.is_proxy and label.name == "openroad_congestion"
    # By hand: bbox (48.45, 42.75)-(51.30, 45.60) is gcell (17, 15), reported Horizontal
    # (capacity 2, usage 4) and Vertical (capacity 1, usage 2): (4 - 2) / 2 + (2 - 1) / 1.
    assert label.values[17, 15] == pytest.approx(1.0 + 1.0)
    # (45.60, 39.90)-(48.45, 42.75) touches (17, 15) at a corner only: gcell (16, 14), Vertical 3 on 1.
    assert label.values[16, 14] == pytest.approx(2.0)
    # (25.65, 48.45)-(28.50, 51.30): gcell (9, 17), horizontal 3 on 2 -> 0.5.
    assert label.values[9, 17] == pytest.approx(0.5)
    # Independent reference: one block per violation, gcell from the box's lower-left corner.
    text = (grt / "congestion7.rptok").read_text()
    blocks = re.findall(
        r"violation type: (\w+) congestion.*?capacity:(\d+) usage:(\d+).*?bbox = \(([\d.]+), ([\d.]+)\)",
        text,
        flags=re.S,
    )
    assert len(blocks) == 738
    per_dir = np.zeros((2, 35, 35))
    for kind, cap, use, x0, y0 in blocks:
        d = 0 if kind == "Horizontal" else 1
        i, j = round(float(x0) / GCELL_UM), round(float(y0) / GCELL_UM)
        per_dir[d, i, j] = max(per_dir[d, i, j], (int(use) - int(cap)) / int(cap))
    np.testing.assert_allclose(label.values, per_dir.sum(0), rtol=1e-6)
    assert np.all(label.values >= 0) and np.count_nonzero(label.values) > 400


def test_route_guide_usage_counts_distinct_nets_per_gcell_and_layer(grt, floorplan):
    usage = route_guide_usage(grt / "gcd.guideok", floorplan.grid, 2000)
    assert set(usage) == {f"metal{i}" for i in range(1, 7)}
    reference: dict[str, set] = {}
    lines_per_layer: dict[str, int] = {}
    net = None
    for line in (grt / "gcd.guideok").read_text().splitlines():
        fields = line.split()
        if len(fields) == 1 and fields[0] not in ("(", ")"):
            net = fields[0]
        elif len(fields) == 5:
            x0, y0, x1, y1 = (int(v) // 5700 for v in fields[:4])
            layer = fields[4]
            lines_per_layer[layer] = lines_per_layer.get(layer, 0) + 1
            for i in range(x0, x1):
                for j in range(y0, y1):
                    reference.setdefault(layer, set()).add((net, min(i, 34), min(j, 34)))
    for layer, counts in usage.items():
        assert counts.dtype == np.int32 and counts.min() >= 0
        expected = np.zeros((35, 35), np.int32)
        for _, i, j in reference[layer]:
            expected[i, j] += 1
        np.testing.assert_array_equal(counts, expected, err_msg=layer)
        assert counts.sum() > 0
    assert lines_per_layer["metal1"] == usage["metal1"].sum()  # metal1 guides are one gcell each, never repeated


def test_route_guide_utilisation_uses_the_busier_direction(grt, floorplan):
    cap = floorplan.capacity
    label = read_openroad_route_guides(grt / "gcd.guideok", floorplan.grid, cap, 2000)
    usage = route_guide_usage(grt / "gcd.guideok", floorplan.grid, 2000)
    horizontal = sum(usage[f"metal{i}"] for i in (1, 3, 5)).astype(float)
    vertical = sum(usage[f"metal{i}"] for i in (2, 4, 6)).astype(float)
    np.testing.assert_allclose(
        label.values, np.maximum(horizontal / cap.horizontal, vertical / cap.vertical), rtol=1e-6
    )
    routed_only = read_openroad_route_guides(
        grt / "gcd.guideok", floorplan.grid, cap, 2000, routing_layers=[f"metal{i}" for i in range(2, 7)]
    )
    assert np.all(routed_only.values <= label.values + 1e-7) and routed_only.values.max() > 0
    swapped = {f"metal{i}": ("vertical" if i % 2 else "horizontal") for i in range(1, 7)}
    flipped = read_openroad_route_guides(grt / "gcd.guideok", floorplan.grid, cap, 2000, layer_directions=swapped)
    np.testing.assert_allclose(
        flipped.values, np.maximum(vertical / cap.horizontal, horizontal / cap.vertical), rtol=1e-6
    )


def test_route_guides_without_capacity_or_with_unknown_layer_direction(tmp_path, floorplan):
    guides = tmp_path / "g.guide"
    guides.write_text("n1\n(\n0 0 5700 5700 poly\n)\n")
    with pytest.raises(InputError, match="track capacity"):
        read_openroad_route_guides(guides, floorplan.grid, None, 2000)
    with pytest.raises(InputError, match="direction of layer 'poly'"):
        read_openroad_route_guides(guides, floorplan.grid, floorplan.capacity, 2000)
    with pytest.raises(InputError, match="horizontal or vertical"):
        read_openroad_route_guides(guides, floorplan.grid, floorplan.capacity, 2000, layer_directions={"poly": "up"})


GRID = GcellGrid.uniform(0, 0, 10, 10, 1, 1)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("n1\n0 0 1000 1000 m1\n)\n", "line 2: expected '\\('"),
        ("n1\n(\n0 0 1000 m1\n)\n", "line 3: expected 'x0 y0 x1 y1 layer'"),
        ("n1\n(\n0 0 1.5 1000 m1\n)\n", "integer DBU"),
        ("n1\n(\n0 0 1000 1000 m1\n", "truncated"),
        ("n1 extra\n(\n)\n", "line 1: expected a net name"),
        ("", "no route guides"),
        ("n1\n(\n0 0 20000 1000 m1\n)\n", "outside the design's gcell grid"),
    ],
)
def test_malformed_route_guides(tmp_path, text, problem):
    path = tmp_path / "bad.guide"
    path.write_text(text)
    with pytest.raises(InputError, match=problem) as err:
        route_guide_usage(path, GRID, 1000)
    assert err.value.path == path


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("violation type: Diagonal congestion\n", "line 1: unknown violation type"),
        ("violation type: Horizontal congestion\n\tcomment: capacity:x usage:3\n", "line 2: expected 'comment"),
        ("\tcomment: capacity:2 usage:3 congestion:1\n", "line 1: expected 'comment"),
        ("violation type: Vertical congestion\n\tbbox = (0, 0) - (1, 1) on Layer -\n", "line 2: expected 'bbox"),
        ("violation type: Vertical congestion\n\tcomment: capacity:2 usage:3 congestion:1\n", "truncated"),
        ("hello world\n", "line 1: not part of an OpenROAD congestion report"),
        (
            "violation type: Vertical congestion\n\tcomment: capacity:2 usage:3 congestion:1\n"
            "\tbbox = (20.0, 0.0) - (21.0, 1.0) on Layer -\n",
            "outside the design's gcell grid",
        ),
    ],
)
def test_malformed_congestion_reports(tmp_path, text, problem):
    path = tmp_path / "bad.rpt"
    path.write_text(text)
    with pytest.raises(InputError, match=problem):
        read_openroad_congestion_report(path, GRID, 1000)


def test_congestion_report_edge_cases(tmp_path):
    path = tmp_path / "r.rpt"
    path.write_text("")
    assert read_openroad_congestion_report(path, GRID, 1000).values.sum() == 0  # nothing over capacity
    path.write_text(
        "violation type: Vertical congestion\n\tcomment: capacity:0 usage:2 congestion:2\n"
        "\tbbox = (1.0, 2.0) - (2.0, 3.0) on Layer -\n"
        "violation type: Horizontal congestion\n\tcomment: capacity:4 usage:5 congestion:1\n"
        "\tbbox = (1.0, 2.0) - (2.0, 3.0) on Layer -\n"
    )
    values = read_openroad_congestion_report(path, GRID, 1000).values
    assert values[1, 2] == pytest.approx(2 + 0.25)  # capacity 0 counts the overflow in tracks
    assert np.count_nonzero(values) == 1
    with pytest.raises(InputError, match="file not found"):
        read_openroad_congestion_report(tmp_path / "missing.rpt", GRID, 1000)


def test_heatmap_csv_is_area_weighted_onto_the_grid(tmp_path):
    path = tmp_path / "heat.csv"
    path.write_text("x0,y0,x1,y1,value\n0,0,2,1,4\n2,0,2.5,1,1\n2.5,0,3,1,3\n5,5,5.5,5.5,8\n")
    label = read_openroad_heatmap_csv(path, GRID)
    assert label.values[0, 0] == label.values[1, 0] == pytest.approx(4)
    assert label.values[2, 0] == pytest.approx(2)  # halves of value 1 and 3
    assert label.values[5, 5] == pytest.approx(8)  # a quarter-covered gcell takes the row's value
    assert np.count_nonzero(label.values) == 4


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0,0,1,1\n", "line 1: expected 5 fields"),
        ("0,0,1,1,2\n0,0,1,x,2\n", "line 2: expected numbers"),
        ("0,0,1,1,nan\n", "non-finite"),
        ("x0,y0,x1,y1,value\n", "no heatmap rows"),
        ("50,50,51,51,1\n", "no heatmap row overlaps"),
    ],
)
def test_malformed_heatmaps(tmp_path, text, problem):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=problem):
        read_openroad_heatmap_csv(path, GRID)


def test_capacity_zero_gcells_report_usage_itself(tmp_path):
    path = tmp_path / "g.guide"
    path.write_text("a\n(\n0 0 1000 1000 m1\n0 0 1000 1000 m2\n)\nb\n(\n0 0 1000 2000 m2\n)\n")
    cap = RoutingCapacity(np.full((10, 10), 4.0), np.zeros((10, 10)))
    label = read_openroad_route_guides(path, GRID, cap, 1000)
    assert label.values[0, 0] == pytest.approx(2)  # 2 vertical nets, no vertical track
    assert label.values[0, 1] == pytest.approx(1)
