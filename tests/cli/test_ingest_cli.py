"""``gsr-eda ingest`` end to end on real designs, and its bad-input exits through the real entry point."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from gsr_eda.store import GraphStore

GSR_EDA = Path(sys.executable).with_name("gsr-eda")


def run_cli(*args: object) -> subprocess.CompletedProcess:
    """The installed console script, so exit codes and stderr are exactly what a user sees."""
    return subprocess.run([str(GSR_EDA), *map(str, args)], capture_output=True, text=True, timeout=120)


def asap7_args(shared_data: Path) -> list[object]:
    d = shared_data / "openroad" / "asap7"
    return [
        "--def",
        d / "aes_place.def",
        "--lef",
        d / "asap7_tech_1x_201209.lef",
        "--lef",
        d / "asap7sc7p5t_28_R_1x_220121a.lef",
    ]


def sky130_args(shared_data: Path) -> list[object]:
    d = shared_data / "openroad" / "sky130hd"
    return [
        "--def",
        d / "insert_decap_gcd.def",
        "--lef",
        d / "sky130hd.tlef",
        "--lef",
        d / "sky130_fd_sc_hd_merged.lef",
    ]


def test_ingest_aes_place_then_info(shared_data, tmp_path):
    store = tmp_path / "aes.h5"
    result = run_cli("ingest", "design", *asap7_args(shared_data), "--store", store, "--net-model", "star", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    (entry,) = summary["designs"]
    assert entry["name"] == "aes_cipher_top" and entry["net_model"] == "star"
    assert entry["label"]["is_proxy"] is True and entry["label"]["source"] == "proxy"
    # Fill/tap cells without nets are dropped: fewer nodes than the 22,107 components.
    assert 15_000 < entry["nodes"] < 22_107 and entry["nets"] == 21_542 and entry["edges"] > entry["nodes"]

    listed = run_cli("info", store, "--json")
    assert listed.returncode == 0, listed.stderr
    info = json.loads(listed.stdout)
    assert info["schema_version"] == 1
    (design,) = info["designs"]
    for key in ("nodes", "edges", "nets", "features", "label", "grid_shape"):
        assert design[key] == entry[key], key
    assert design["die_um"] == pytest.approx([0, 0, 78.835, 78.835])
    assert design["metadata"]["sources"]["def"].endswith("aes_place.def")

    with GraphStore(store) as graph_store:
        record = graph_store.read("aes_cipher_top")
    assert record.features.shape == (entry["nodes"], len(entry["features"]))
    assert record.cell_labels.max() == pytest.approx(record.gcell_labels.max())
    assert "proxy" not in " ".join(record.feature_names)  # the proxy label is never an input feature


def test_ingest_cell_net_stores_net_nodes_and_info_shows_them(shared_data, tmp_path):
    store = tmp_path / "gcd.h5"
    result = run_cli("ingest", "design", *sky130_args(shared_data), "--store", store, "--net-model", "cell-net")
    assert result.returncode == 0, result.stderr
    assert "(cell-net cap 8)" in result.stdout and "net nodes with" in result.stdout
    info = json.loads(run_cli("info", store, "--json").stdout)
    assert info["schema_version"] == 2
    (design,) = info["designs"]
    assert design["net_model"] == "cell-net" and 0 < design["net_nodes"] <= design["nets"]
    assert design["metadata"]["net_feature_units"]["hpwl"] == "gcell pitches"
    with GraphStore(store) as graph_store:
        record = graph_store.read(design["name"])
    assert record.net_nodes.num_nets == design["net_nodes"]
    assert record.net_nodes.num_pin_edges == design["net_pin_edges"]


def test_ingest_circuitnet_reports_dropped_nodes(shared_data, tmp_path):
    root = shared_data / "circuitnet"
    placement = root / "instance_placement_gcell" / "9276-zero-riscy-b-1-c2-u0.85-m1-p1-f1.npy"
    store = tmp_path / "cn.h5"
    result = run_cli(
        "ingest",
        "circuitnet",
        "--root",
        root,
        "--design",
        "zero-riscy-b-1-c2",
        "--placement",
        placement,
        "--store",
        store,
        "--net-model",
        "clique",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    (entry,) = json.loads(result.stdout)["designs"]
    report = entry["report"]
    assert entry["name"] == placement.stem and entry["nodes"] == report["kept"]
    assert report["dropped_netlist_only"] > 0 and report["dropped_placement_only"] > 0
    assert report["kept"] + report["dropped_netlist_only"] == 20_954  # nodes of the netlist
    with GraphStore(store) as graph_store:
        record = graph_store.read(placement.stem)
        assert graph_store.summary(placement.stem)["metadata"]["report"] == report
    assert record.net_model == "clique" and record.label_is_proxy


def test_existing_design_needs_overwrite(shared_data, tmp_path):
    store = tmp_path / "g.h5"
    assert run_cli("ingest", "design", *sky130_args(shared_data), "--store", store).returncode == 0
    before = store.read_bytes()
    again = run_cli("ingest", "design", *sky130_args(shared_data), "--store", store, "--net-model", "star")
    assert again.returncode == 3
    assert again.stderr.strip().splitlines() == [
        f"gsr-eda: error: {store}: design(s) already in the store: gcd (use --overwrite to replace)"
    ]
    assert store.read_bytes() == before
    replaced = run_cli(
        "ingest", "design", *sky130_args(shared_data), "--store", store, "--net-model", "star", "--overwrite"
    )
    assert replaced.returncode == 0, replaced.stderr
    with GraphStore(store) as graph_store:
        assert graph_store.designs == ["gcd"] and graph_store.read("gcd").net_model == "star"


def test_proxy_label_options_choose_the_stored_label(shared_data, tmp_path):
    store = tmp_path / "g.h5"
    default = run_cli("ingest", "design", *sky130_args(shared_data), "--store", store, "--name", "util")
    assert default.returncode == 0, default.stderr
    star = run_cli(
        "ingest",
        "design",
        *sky130_args(shared_data),
        "--store",
        store,
        "--name",
        "over",
        "--proxy-measure",
        "overflow",
        "--proxy-decomposition",
        "star",
    )
    assert star.returncode == 0, star.stderr
    with GraphStore(store) as graph_store:
        util, over = graph_store.read("util"), graph_store.read("over")
    assert util.label_is_proxy and util.label_name == "proxy_chain_lshape_utilisation"
    assert over.label_is_proxy and over.label_name == "proxy_star_lshape_overflow"
    assert over.metadata["ingest_options"]["proxy_measure"] == "overflow"
    assert util.gcell_labels.max() > 0 and not np.array_equal(util.gcell_labels, over.gcell_labels)


@pytest.fixture(scope="module")
def sky130_store(shared_data, tmp_path_factory) -> Path:
    """A store holding the sky130 gcd design as "first", built once for the bad-input cases."""
    store = tmp_path_factory.mktemp("sky130") / "g.h5"
    result = run_cli("ingest", "design", *sky130_args(shared_data), "--store", store, "--name", "first")
    assert result.returncode == 0, result.stderr
    return store


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda args, tmp: [tmp / "missing.lef" if str(a).endswith("merged.lef") else a for a in args],
            "missing.lef: LEF file not found",
        ),
        (lambda args, tmp: args + ["--labels", tmp / "labels.npy"], "--labels needs --label-kind"),
        (lambda args, tmp: args + ["--net-model", "hyperedge"], "unknown net model 'hyperedge'"),
        (lambda args, tmp: args + ["--proxy-measure", "rudy"], "proxy label: measure must be one of"),
        (lambda args, tmp: args + ["--labels", tmp / "labels.npy", "--label-kind", "array"], "labels.npy"),
    ],
)
def test_bad_input_is_one_line_exit_3_and_store_intact(shared_data, sky130_store, tmp_path, edit, message):
    store = tmp_path / "g.h5"
    store.write_bytes(sky130_store.read_bytes())
    before = store.read_bytes()
    np.save(tmp_path / "labels.npy", np.zeros((3, 3)))  # wrong shape for the 12 x 12 grid
    result = run_cli("ingest", "design", *edit(sky130_args(shared_data), tmp_path), "--store", store)
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gsr-eda: error: ") and message in lines[0], lines
    assert store.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_store_that_is_not_a_store_is_not_overwritten(shared_data, tmp_path):
    store = tmp_path / "notes.h5"
    store.write_text("my notes\n")
    result = run_cli("ingest", "design", *sky130_args(shared_data), "--store", store)
    assert result.returncode == 3 and "not a readable HDF5 file" in result.stderr
    assert store.read_text() == "my notes\n"


def test_manifest_in_parallel_and_all_or_nothing(shared_data, tmp_path):
    sky = shared_data / "openroad" / "sky130hd"
    lefs = [str(sky / "sky130hd.tlef"), str(sky / "sky130_fd_sc_hd_merged.lef")]
    entries = [
        {"kind": "def", "def": str(sky / "insert_decap_gcd.def"), "lef": lefs, "name": "gcd_star", "net_model": "star"},
        {
            "kind": "def",
            "def": str(sky / "insert_decap_gcd.def"),
            "lef": lefs,
            "name": "gcd_clique",
            "net_model": "clique",
        },
    ]
    manifest = tmp_path / "designs.json"
    manifest.write_text(json.dumps({"designs": entries}))
    store = tmp_path / "m.h5"
    result = run_cli("ingest", "manifest", manifest, "--store", store, "--jobs", "2", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert [d["name"] for d in summary["designs"]] == ["gcd_star", "gcd_clique"] and summary["workers"] == 2
    star, clique = summary["designs"]
    assert star["nodes"] == clique["nodes"] and star["edges"] < clique["edges"]

    before = store.read_bytes()
    broken = [dict(entries[0], name="ok"), dict(entries[1], name="bad", **{"def": "nowhere.def"})]
    manifest.write_text(json.dumps(broken))
    failed = run_cli("ingest", "manifest", manifest, "--store", store, "--jobs", "2")
    assert failed.returncode == 3 and "nowhere.def" in failed.stderr, failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1
    assert store.read_bytes() == before


def test_manifest_unknown_key_refused(tmp_path):
    manifest = tmp_path / "m.json"
    manifest.write_text(json.dumps([{"kind": "def", "def": "a.def", "lef": ["a.lef"], "netmodel": "star"}]))
    result = run_cli("ingest", "manifest", manifest, "--store", tmp_path / "s.h5")
    assert result.returncode == 3
    assert result.stderr.strip() == f"gsr-eda: error: {manifest}: design #1: unknown key 'netmodel'"


def write_stand_in_lef(def_path: Path, out: Path) -> Path:
    """A LEF for the Nangate45 gcd DEF, whose real LEF is not shipped: every master the DEF uses,
    with the pins its nets name, plus ten routing layers. Cell sizes are made up; the grid and
    the router labels (what this checks) come from the DEF's tracks and OpenROAD's files."""
    text = def_path.read_text()
    components = text[text.index("\nCOMPONENTS") : text.index("END COMPONENTS")]
    master = dict(re.findall(r"^- (\S+) (\S+)", components, re.M))
    nets = text[text.index("\nNETS") : text.index("END NETS")]
    pins: dict[str, set[str]] = defaultdict(set)
    for inst, pin in re.findall(r"\( (\S+) (\S+) \)", nets):
        if inst != "PIN":
            pins[master[inst]].add(pin)
    site = "FreePDK45_38x28_10R_NP_162NW_34O"
    lines = ["VERSION 5.8 ;", "UNITS", "  DATABASE MICRONS 2000 ;", "END UNITS"]
    for i, pitch in enumerate([0.14, 0.19, 0.14, 0.28, 0.28, 0.28, 0.8, 0.8, 1.6, 1.6], 1):
        direction = "HORIZONTAL" if i % 2 else "VERTICAL"
        lines += [
            f"LAYER metal{i}",
            "  TYPE ROUTING ;",
            f"  DIRECTION {direction} ;",
            f"  PITCH {pitch} ;",
            "  WIDTH 0.07 ;",
            f"END metal{i}",
        ]
    lines += [f"SITE {site}", "  CLASS CORE ;", "  SIZE 0.19 BY 1.4 ;", f"END {site}"]
    for name in sorted(set(master.values())):
        lines += [
            f"MACRO {name}",
            "  CLASS CORE ;",
            "  ORIGIN 0 0 ;",
            f"  SIZE {0.19 * (2 + len(pins[name])):.2f} BY 1.4 ;",
        ]
        for pin in sorted(pins[name]):
            lines += [
                f"  PIN {pin}",
                "    DIRECTION INOUT ;",
                "    PORT",
                "      LAYER metal1 ;",
                "        RECT 0.05 0.05 0.1 0.1 ;",
                "    END",
                f"  END {pin}",
            ]
        lines.append(f"END {name}")
    out.write_text("\n".join(lines + ["END LIBRARY", ""]))
    return out


def test_ingest_openroad_router_labels(shared_data, tmp_path):
    grt = shared_data / "openroad" / "grt_reports"
    lef = write_stand_in_lef(grt / "gcd.def", tmp_path / "nangate45_stand_in.lef")
    store = tmp_path / "grt.h5"
    for name, labels, kind in [
        ("report", "congestion7.rptok", "openroad-report"),
        ("guides", "gcd.guideok", "openroad-guides"),
    ]:
        result = run_cli(
            "ingest",
            "design",
            "--def",
            grt / "gcd.def",
            "--lef",
            lef,
            "--store",
            store,
            "--name",
            name,
            "--labels",
            grt / labels,
            "--label-kind",
            kind,
            "--json",
        )
        assert result.returncode == 0, result.stderr
        (entry,) = json.loads(result.stdout)["designs"]
        assert entry["label"]["is_proxy"] is False and entry["label"]["source"].endswith(labels)
        assert entry["grid_shape"] == [35, 35]  # 2.85 um gcells = 15 metal1 tracks, as in the report
    with GraphStore(store) as graph_store:
        assert graph_store.designs == ["guides", "report"]
        report = graph_store.read("report")
        guides = graph_store.read("guides")
    # The report is sparse: exactly its distinct over-capacity gcells are non-zero.
    boxes = {line.strip() for line in (grt / "congestion7.rptok").read_text().splitlines() if "bbox" in line}
    hot = np.count_nonzero(report.gcell_labels)
    assert hot == len(boxes) and np.count_nonzero(report.cell_labels) > 0
    # Guides give a dense usage map: most gcells that hold cells are used by some net.
    assert (
        np.count_nonzero(guides.gcell_labels) > hot
        and np.count_nonzero(guides.cell_labels) > len(guides.cell_labels) // 2
    )


def test_unplaced_io_pin_is_reported_and_stored(shared_data, tmp_path):
    # insert_decap_gcd.def with the placement of IO pin clk removed (as before pin placement).
    d = shared_data / "openroad" / "sky130hd"
    text = (d / "insert_decap_gcd.def").read_text()
    placed_clk = "        + LAYER met3 ( -400 -150 ) ( 400 150 )\n        + PLACED ( 400 71060 ) N ;"
    assert text.count(placed_clk) == 1
    (tmp_path / "gcd.def").write_text(text.replace(placed_clk, "        + LAYER met3 ( -400 -150 ) ( 400 150 ) ;"))
    store = tmp_path / "g.h5"
    args = ["--def", tmp_path / "gcd.def", "--lef", d / "sky130hd.tlef", "--lef", d / "sky130_fd_sc_hd_merged.lef"]
    result = run_cli("ingest", "design", *args, "--store", store, "--include-io-pins", "--json")
    assert result.returncode == 0, result.stderr
    (entry,) = json.loads(result.stdout)["designs"]
    message = "1 IO pins without PLACED/FIXED left out of their nets: clk"
    assert entry["report"] == {"unplaced_io_pins": message}
    with GraphStore(store) as graph_store:
        record = graph_store.read(entry["name"])
    assert "clk" not in set(record.design.node_names) and int(record.design.is_io.sum()) == 53
    assert json.loads(run_cli("info", store, "--json").stdout)["designs"][0]["metadata"]["report"] == entry["report"]
