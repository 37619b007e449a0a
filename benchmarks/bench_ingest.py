"""Ingest benchmark: end-to-end wall time and peak memory of `gsr-eda ingest`, per net model,
and the store's compression choice measured on the same design.

Run from the repository root (needs ../shared/data):

    .venv/bin/python benchmarks/bench_ingest.py [--repeat 3] [--out benchmarks/results/ingest.json]

Each ingest runs the installed ``gsr-eda`` command in its own child process, so the time
includes interpreter start-up and the peak RSS (from ``wait4``) is that command's alone.
Targets: asap7 aes_place < 10 s, CircuitNet zero-riscy-a < 20 s, on 2 cores.
The best of ``--repeat`` runs is reported (the least disturbed by other load), with the load
average at the start, since a shared machine slows every figure down.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
GSR_EDA = Path(sys.executable).with_name("gsr-eda")
NET_MODELS = [("clique", 8), ("star", 8), ("capped-clique", 8)]
TARGETS_S = {"aes_place": 10.0, "zero-riscy-a": 20.0}


def design_args() -> dict[str, list[str]]:
    asap7 = DATA / "openroad" / "asap7"
    circuitnet = DATA / "circuitnet"
    return {
        "aes_place": [
            "design",
            "--def",
            str(asap7 / "aes_place.def"),
            "--lef",
            str(asap7 / "asap7_tech_1x_201209.lef"),
            "--lef",
            str(asap7 / "asap7sc7p5t_28_R_1x_220121a.lef"),
        ],
        "zero-riscy-a": [
            "circuitnet",
            "--root",
            str(circuitnet),
            "--design",
            "zero-riscy-a-1-c2",
            "--placement",
            str(circuitnet / "instance_placement_gcell" / "7157-zero-riscy-a-1-c2-u0.8-m1-p1-f0.npy"),
        ],
    }


def run_ingest(args: list[str], store: Path) -> dict:
    """One ``gsr-eda ingest`` in a child process, reaped with ``wait4`` to read its own peak RSS."""
    store.unlink(missing_ok=True)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(
            [str(GSR_EDA), "ingest", *args, "--store", str(store), "--json"], stdout=out, stderr=err
        )
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            raise SystemExit(f"ingest failed ({child.returncode}): {err.read().decode().strip()}")
        summary = json.loads(out.read())
    # ru_maxrss is in KiB on Linux.
    return {
        "wall_s": wall,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "summary": summary,
        "store_bytes": store.stat().st_size,
    }


def bench_designs(repeat: int, workdir: Path) -> list[dict]:
    rows = []
    for design, args in design_args().items():
        for model, cap in NET_MODELS:
            runs = [
                run_ingest(args + ["--net-model", model, "--net-cap", str(cap)], workdir / "s.h5")
                for _ in range(repeat)
            ]
            best = min(runs, key=lambda r: r["wall_s"])
            (entry,) = best["summary"]["designs"]
            rows.append(
                {
                    "design": design,
                    "net_model": model if model != "capped-clique" else f"capped-clique {cap}",
                    "nodes": entry["nodes"],
                    "edges": entry["edges"],
                    "wall_s": round(best["wall_s"], 2),
                    "wall_s_all": [round(r["wall_s"], 2) for r in runs],
                    "peak_rss_mib": round(max(r["peak_rss_mib"] for r in runs), 1),
                    "steps_s": entry["timings"] | {"write_s": best["summary"]["timings"]["write_s"]},
                    "store_mib": round(best["store_bytes"] / 2**20, 2),
                    "target_s": TARGETS_S[design],
                }
            )
            print(_row_text(rows[-1]), flush=True)
    return rows


def bench_compression(repeat: int, workdir: Path) -> list[dict]:
    """Write and read the aes_place record with each compression choice of the store."""
    sys.path.insert(0, str(REPO))
    from gsr_eda.ingest.jobs import IngestJob, run_job
    from gsr_eda.store import GraphStore, write_designs

    args = design_args()["aes_place"]
    job = IngestJob(kind="def", def_path=Path(args[2]), lef_paths=[Path(args[4]), Path(args[6])])
    record = run_job(job).record
    rows = []
    for method in [("gzip", 1), ("gzip", 4), ("lzf", None), ("gzip", 9)]:
        path = workdir / f"c-{method[0]}{method[1]}.h5"
        writes, reads = [], []
        for _ in range(repeat):
            path.unlink(missing_ok=True)
            t0 = time.perf_counter()
            write_designs(path, [record], compression=method)
            writes.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            with GraphStore(path) as store:
                store.read(record.name)
            reads.append(time.perf_counter() - t0)
        rows.append(
            {
                "compression": f"{method[0]}" + (f" {method[1]}" if method[1] is not None else ""),
                "write_s": round(min(writes), 3),
                "read_s": round(min(reads), 3),
                "file_mib": round(path.stat().st_size / 2**20, 2),
            }
        )
        print(
            f"  {rows[-1]['compression']:8s} write {rows[-1]['write_s']:.3f} s  read {rows[-1]['read_s']:.3f} s  "
            f"{rows[-1]['file_mib']:.2f} MiB",
            flush=True,
        )
    return rows


def _row_text(row: dict) -> str:
    verdict = "ok" if row["wall_s"] < row["target_s"] else "OVER TARGET"
    return (
        f"{row['design']:13s} {row['net_model']:16s} {row['nodes']:>7,} nodes {row['edges']:>9,} edges  "
        f"{row['wall_s']:6.2f} s (target {row['target_s']:.0f} s: {verdict})  peak RSS {row['peak_rss_mib']:7.1f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per configuration; the fastest is reported")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON here")
    parser.add_argument("--skip-compression", action="store_true", help="only the end-to-end ingest runs")
    opts = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"real design data not found at {DATA}")
    load = os.getloadavg()
    print(f"{os.cpu_count()} CPUs, load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        designs = bench_designs(opts.repeat, Path(tmp))
        print("store compression on aes_place (write = whole store write, read = open + validated read):")
        compression = [] if opts.skip_compression else bench_compression(opts.repeat, Path(tmp))
    if opts.out is not None:
        opts.out.parent.mkdir(parents=True, exist_ok=True)
        opts.out.write_text(
            json.dumps(
                {
                    "cpus": os.cpu_count(),
                    "loadavg_start": load,
                    "ingest": designs,
                    "compression": compression,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"wrote {opts.out}")


if __name__ == "__main__":
    main()
