"""Flow-hook latency: in-process estimate, server round trip from Tcl, and a fresh predict process.

    .venv/bin/python benchmarks/bench_flow.py [--checkpoint CK] [--model gsr] [--layers 16]
        [--hidden 128] [--k 8] [--placement-neighbours 8] [--repeats 10] [--estimate-only]

On ../shared/data/openroad/asap7/aes_place.def (22,107 components). Without --checkpoint a
model of the requested depth is trained for one epoch on the design itself (proxy RUDY label):
latency does not depend on the weights. Prints one JSON document with medians in milliseconds.
Targets (2 CPU cores, 16 layers): estimate < 100 ms, Tcl round trip with a DEF re-read < 500 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "openroad" / "asap7"
DEF = DATA / "aes_place.def"
LEFS = [DATA / "asap7_tech_1x_201209.lef", DATA / "asap7sc7p5t_28_R_1x_220121a.lef"]
TCL = ROOT / "flows" / "openroad" / "gsr_eda.tcl"


def train_checkpoint(folder: Path, model: str, layers: int, hidden: int, k: int, placement_neighbours: int) -> Path:
    from gsr_eda.graph.gcell_maps import rudy_maps
    from gsr_eda.ingest import read_def_design
    from gsr_eda.ingest.build import build_record
    from gsr_eda.labels.label import GcellLabel
    from gsr_eda.store.writer import write_designs
    from gsr_eda.train import TrainConfig, train

    design = read_def_design(DEF, LEFS)
    rudy, _ = rudy_maps(design, design.x, design.y)
    label = GcellLabel(rudy.astype(np.float32), "rudy", "proxy", True, "benchmark proxy label")
    write_designs(folder / "aes.h5", [build_record(design, label=label)])
    cfg = TrainConfig(
        store=str(folder / "aes.h5"),
        model=model,
        layers=layers,
        hidden=hidden,
        k=k,
        placement_neighbours=placement_neighbours,
        epochs=1,
        split="node",
    )
    train(cfg, folder / "run", log=lambda _m: None, show_progress=False)
    return folder / "run" / "best.pt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--model", default="gsr")
    parser.add_argument("--layers", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=128, help="hidden channels of the trained model")
    parser.add_argument("--k", type=int, default=8, help="GS(k) of the trained model (gsr only)")
    parser.add_argument(
        "--placement-neighbours", type=int, default=8, help="of the trained model (rebuilt at every estimate)"
    )
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument(
        "--estimate-only", action="store_true", help="measure the in-process estimate only (for A/B runs of two builds)"
    )
    args = parser.parse_args()
    if not DEF.exists():
        sys.exit(f"benchmark data not found: {DEF}")
    work = Path(tempfile.mkdtemp(prefix="bench_flow_"))
    checkpoint = args.checkpoint or train_checkpoint(
        work, args.model, args.layers, args.hidden, args.k, args.placement_neighbours
    )

    import torch

    from gsr_eda.flow import CongestionSession

    t0 = time.perf_counter()
    session = CongestionSession.from_def(DEF, LEFS, checkpoint)
    setup_ms = (time.perf_counter() - t0) * 1e3
    rng = np.random.default_rng(0)
    x0, y0 = session.positions
    session.estimate(x0, y0)  # warm-up
    in_process = []
    for _ in range(args.repeats):
        x = x0 + rng.normal(0, 0.5, x0.size)
        y = y0 + rng.normal(0, 0.5, y0.size)
        t = time.perf_counter()
        session.estimate(x, y)
        in_process.append((time.perf_counter() - t) * 1e3)

    report = {
        "design": "aes_place",
        "cells": session.num_cells,
        "checkpoint": str(checkpoint),
        "model": session.predictor.config.get("name"),
        "layers": session.predictor.config.get("layers"),
        "threads": torch.get_num_threads(),
        "session_setup_ms": round(setup_ms, 1),
        "estimate_ms_median": round(statistics.median(in_process), 1),
        "estimate_ms_min": round(min(in_process), 1),
    }
    if args.estimate_only:
        print(json.dumps(report, indent=2))
        return

    # Server round trip from Tcl: update_positions from a re-written DEF, then estimate.
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gsr-eda")),
            "serve",
            "-c",
            str(checkpoint),
            "--port",
            "0",
            "--json",
            "--out-dir",
            str(work),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = json.loads(server.stdout.readline())["port"]
        lefs = " ".join(f"{{{p}}}" for p in LEFS)
        script = work / "bench.tcl"
        script.write_text(f"""source {{{TCL}}}
gsr_eda::connect -port {port}
gsr_eda::load_design aes {{{DEF}}} [list {lefs}]
gsr_eda::estimate aes {{{work / "warm"}}}
set times {{}}
for {{set i 0}} {{$i < {args.repeats}}} {{incr i}} {{
    set t [clock microseconds]
    gsr_eda::update_from_def aes {{{DEF}}}
    gsr_eda::estimate aes {{{work / "it"}}}
    lappend times [expr {{([clock microseconds] - $t) / 1000.0}}]
}}
puts $times
gsr_eda::shutdown
""")
        out = subprocess.run(["tclsh", str(script)], capture_output=True, text=True, timeout=900)
        if out.returncode:
            sys.exit(out.stderr)
        tcl = [float(v) for v in out.stdout.split()]
    finally:
        server.wait(timeout=60)

    # A fresh `gsr-eda predict` process per iteration: import, read DEF/LEF, load, predict.
    t = time.perf_counter()
    lef_args = [a for p in LEFS for a in ("--lef", str(p))]
    subprocess.run(
        [
            str(Path(sys.executable).with_name("gsr-eda")),
            "predict",
            "-c",
            str(checkpoint),
            "--def",
            str(DEF),
            *lef_args,
            "--out",
            str(work / "p.csv"),
        ],
        check=True,
        capture_output=True,
    )
    predict_ms = (time.perf_counter() - t) * 1e3

    report["tcl_round_trip_with_def_reread_ms_median"] = round(statistics.median(tcl), 1)
    report["fresh_predict_process_ms"] = round(predict_ms, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
