"""Wall time and peak memory of the design readers and the synthetic generator.

Each case runs in a fresh interpreter, so its peak RSS (``ru_maxrss``) is its own, imports
included; the time covers only the reader call (imports excluded), best of ``--repeat`` runs.

    .venv/bin/python benchmarks/bench_readers.py [--data ../shared/data] [--repeat 3] [--json]

Cases: ``def-aes`` (read_def_design on asap7 aes_place.def with both LEFs, IO pins included;
target: whole ingest under 10 s on 2 cores), ``circuitnet-a`` (read_circuitnet_design on
zero-riscy-a), ``synth-20k`` (generate and write a 20,000-cell synthetic design), and the
placement-loop re-read of aes_place.def: ``def-aes-positions`` (the COMPONENTS-only reader
:func:`gsr_eda.ingest.def_positions.read_def_placement`) against ``def-aes-lefdef`` (lefdef's
parse alone, with the crash guard of :func:`gsr_eda.ingest.native.parse_def_native`: the least
any lefdef-based re-read costs).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run_case(case: str, data: Path, repeat: int) -> dict:
    if case == "def-aes":
        from gsr_eda.ingest import read_def_design

        root = data / "openroad" / "asap7"
        lefs = [root / "asap7_tech_1x_201209.lef", root / "asap7sc7p5t_28_R_1x_220121a.lef"]

        def call():
            design = read_def_design(root / "aes_place.def", lefs, include_io_pins=True)
            return {"nodes": design.num_nodes, "nets": design.num_nets, "pins": design.num_pins}

    elif case == "def-aes-positions":
        from gsr_eda.ingest.def_positions import read_def_placement

        def call():
            return {"components": len(read_def_placement(data / "openroad" / "asap7" / "aes_place.def").names)}

    elif case == "def-aes-lefdef":
        from gsr_eda.ingest.native import parse_def_native

        def call():
            _reader, c_def = parse_def_native(data / "openroad" / "asap7" / "aes_place.def")
            return {"components": c_def.c_num_components}

    elif case == "circuitnet-a":
        from gsr_eda.ingest import read_circuitnet_design

        def call():
            design, report = read_circuitnet_design(
                data / "circuitnet", "zero-riscy-a-1-c2", "7157-zero-riscy-a-1-c2-u0.8-m1-p1-f0"
            )
            return {"nodes": design.num_nodes, "nets": design.num_nets, "pins": design.num_pins}

    elif case == "synth-20k":
        from gsr_eda.synth import generate_design, write_design

        out = Path(tempfile.mkdtemp(prefix="gsr-bench-"))

        def call():
            design = generate_design(20000, seed=0)
            write_design(design, out)
            return {"instances": design.stats["instances"], "nets": design.stats["nets"]}

    else:
        raise SystemExit(f"unknown case {case}")
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        sizes = call()
        times.append(time.perf_counter() - start)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "case": case,
        "best_s": round(min(times), 3),
        "runs_s": [round(t, 3) for t in times],
        "peak_rss_mib": round(peak_mib, 1),
        **sizes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--case", action="append", help="run only these cases (repeatable)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one case in this process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_run_case(args.one, args.data, args.repeat)))
        return
    results = []
    for case in args.case or ["def-aes", "def-aes-positions", "def-aes-lefdef", "circuitnet-a", "synth-20k"]:
        child = subprocess.run(
            [sys.executable, __file__, "--one", case, "--data", str(args.data), "--repeat", str(args.repeat)],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for r in results:
        extra = ", ".join(f"{k}={v}" for k, v in r.items() if k not in ("case", "best_s", "runs_s", "peak_rss_mib"))
        print(f"{r['case']:17s} best {r['best_s']:7.3f} s  peak RSS {r['peak_rss_mib']:7.1f} MiB  ({extra})")


if __name__ == "__main__":
    main()
