"""``gsr-eda ingest``: read placed designs, build their graphs and labels, store them in one HDF5 file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer

from gsr_eda.cli.app import app, emit_json
from gsr_eda.cli.manual import manual_page
from gsr_eda.errors import InputError

if TYPE_CHECKING:
    from gsr_eda.ingest.jobs import IngestJob, JobResult

ingest_app = typer.Typer(
    help=(
        "Ingest placed designs into an HDF5 graph store (DEF/LEF, CircuitNet, or a JSON manifest of many).\n\n"
        "Each design becomes a graph (nodes = placed instances, edges from nets), documented node "
        "features, and a congestion label per gcell and per cell. Without router output the label is "
        "a probabilistic routing estimate, stored and reported as a proxy. The store is written "
        "atomically: a failed or interrupted ingest leaves the previous store intact. "
        "Schema: docs/store-schema.md.\n\n"
        "Example:\n\n"
        "  gsr-eda ingest design --def aes_place.def \\\n"
        "    --lef tech.lef --lef cells.lef --store designs.h5\n\n"
        "Run gsr-eda ingest COMMAND --help for the options of each input kind."
    ),
    no_args_is_help=True,
)
app.add_typer(ingest_app, name="ingest")

# Options shared by every ingest command.
_STORE = typer.Option(..., "--store", "-s", help="Graph store (.h5) to create or add to.", dir_okay=False)
_NET_MODEL = typer.Option(
    "capped-clique",
    "--net-model",
    help="How nets become edges: clique (all pin pairs), star (driver/first pin to the others), "
    "capped-clique (clique for nets of at most --net-cap pins, star above), cell-net (the capped clique "
    "plus every net as a node of its own, with pin edges and net features, for the heterogeneous "
    "models gsr-cellnet and hetero-sage).",
)
_NET_CAP = typer.Option(8, "--net-cap", min=2, help="Largest net (in pins) expanded as a clique by capped-clique.")
_LABEL_REDUCE = typer.Option(
    "max", "--label-reduce", help="How a cell takes the label of the gcells its box covers: max or mean."
)
_PROXY_MEASURE = typer.Option(
    "utilisation",
    "--proxy-measure",
    help="Without --labels: the proxy label's measure, utilisation (demand / capacity of the busier "
    "direction) or overflow (CircuitNet-style overflow ratio, zero on most legal placements).",
)
_PROXY_DECOMPOSITION = typer.Option(
    "chain",
    "--proxy-decomposition",
    help="Without --labels: how the proxy splits nets into two-pin connections, chain (pins sorted "
    "along the net's longer side, Steiner-like) or star (driver to every sink).",
)
_OVERWRITE = typer.Option(False, "--overwrite", help="Replace designs of the same name already in the store.")
_JSON = typer.Option(False, "--json", help="Print a JSON summary (designs, sizes, label, timings) on stdout.")


@ingest_app.command("design")
@manual_page
def ingest_design(
    def_path: Path = typer.Option(..., "--def", help="Placed DEF file.", dir_okay=False),
    lef: list[Path] = typer.Option(
        ..., "--lef", help="LEF file; repeat for technology and cell LEFs (technology first).", dir_okay=False
    ),
    store: Path = _STORE,
    name: Optional[str] = typer.Option(None, "--name", help="Design name in the store (default: the DEF's DESIGN)."),
    labels: Optional[Path] = typer.Option(
        None, "--labels", help="Router output to use as the label (see --label-kind). Default: the proxy label."
    ),
    label_kind: Optional[str] = typer.Option(
        None,
        "--label-kind",
        help="What --labels is: openroad-report (congestion report), openroad-guides (route guides), "
        "openroad-heatmap (gui::dump_heatmap CSV), routed-def (a detail-routed DEF, e.g. from gsr-eda route), "
        "array (.npy/.csv gcell map).",
    ),
    label_option: list[str] = typer.Option(
        [],
        "--label-option",
        help="KEY=VALUE option of the label reader; repeat for several. routed-def: measure=utilisation|overflow, "
        "capacity_fraction=F (overflow), tool=NAME, tool_version=V, failed_nets=FILE (the router's list).",
    ),
    label_reduce: str = _LABEL_REDUCE,
    net_model: str = _NET_MODEL,
    net_cap: int = _NET_CAP,
    proxy_measure: str = _PROXY_MEASURE,
    proxy_decomposition: str = _PROXY_DECOMPOSITION,
    include_io_pins: bool = typer.Option(
        False,
        "--include-io-pins",
        help="Add IO pins as zero-size fixed nodes. Pins without PLACED/FIXED (pin placement not run) "
        "are left out of their nets and counted in the report.",
    ),
    keep_unconnected: bool = typer.Option(
        False, "--keep-unconnected", help="Keep instances without nets (fill, tap, decap cells); dropped by default."
    ),
    gcell_tracks: int = typer.Option(
        15, "--gcell-tracks", min=1, help="Tracks per gcell side when the DEF has no GCELLGRID."
    ),
    overwrite: bool = _OVERWRITE,
    json_out: bool = _JSON,
) -> None:
    """Ingest one placed DEF design (with its LEFs) into a graph store.

    Nodes are the placed instances connected to nets; fill, tap, endcap and antenna cells and
    instances without nets are left out unless --keep-unconnected. The gcell grid is the DEF's
    GCELLGRID, or --gcell-tracks routing tracks per gcell when it has none; routing capacity
    comes from the DEF TRACKS and the LEF layer directions.

    With --labels FILE --label-kind KIND the label comes from real router output; without, the
    proxy congestion estimate is stored and marked as a proxy. A routed DEF (routed-def) gives
    the tracks the router's wires use per gcell against the LEF's track capacity, as
    utilisation (default) or overflow (--label-option measure=overflow), with its provenance
    (router, version, failed-net fraction) in the design's metadata. The DEF may be gzip
    compressed (.def.gz).

    The summary reports what the reader changed: IO pins left out for lack of placement, and
    "( * PIN )" wildcard connections expanded to the pins of every matching instance.

    Bad input (missing or malformed file, unknown macro) prints one line naming the file and
    exits with status 3; the store is not modified.

    Examples:

      gsr-eda ingest design --def aes_place.def \\
        --lef tech.lef --lef cells.lef --store designs.h5

      gsr-eda ingest design --def gcd.def --lef tech.lef --lef cells.lef \\
        --store designs.h5 --labels gcd.guide --label-kind openroad-guides \\
        --net-model star --include-io-pins --json

      gsr-eda ingest design --def placed.def.gz --lef osu018_stdcells.lef \\
        --store qflow.h5 --labels routed.def.gz --label-kind routed-def \\
        --label-option tool=qrouter --label-option tool_version=1.4.71
    """
    from gsr_eda.ingest.jobs import IngestJob

    job = IngestJob(
        kind="def",
        name=name,
        def_path=def_path,
        lef_paths=list(lef),
        include_io_pins=include_io_pins,
        keep_unconnected=keep_unconnected,
        gcell_tracks=gcell_tracks,
        labels=labels,
        label_kind=label_kind,
        label_options=_key_values(label_option),
        label_reduce=label_reduce,
        net_model=net_model,
        net_cap=net_cap,
        proxy_measure=proxy_measure,
        proxy_decomposition=proxy_decomposition,
    )
    _ingest([job], store, overwrite=overwrite, workers=1, json_out=json_out)


def _key_values(items: list[str]) -> dict[str, str]:
    """``["k=v", ...]`` as a dict, or an :class:`InputError` naming the malformed item."""
    options: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--label-option must be KEY=VALUE, got {item!r}")
        options[key.strip()] = value.strip()
    return options


@ingest_app.command("circuitnet")
@manual_page
def ingest_circuitnet(
    root: Path = typer.Option(
        ...,
        "--root",
        help="CircuitNet folder holding graph_information/ and instance_placement_gcell/.",
        file_okay=False,
    ),
    design: list[str] = typer.Option(
        ..., "--design", help="Netlist base name, e.g. zero-riscy-b-1-c2. Repeat, paired with --placement, for several."
    ),
    placement: list[Path] = typer.Option(
        ...,
        "--placement",
        help="instance_placement_gcell .npy of the design (one per --design, same order).",
        dir_okay=False,
    ),
    labels: Optional[Path] = typer.Option(
        None,
        "--labels",
        help="Folder with CircuitNet congestion_* label folders. Default: the proxy label.",
        file_okay=False,
    ),
    label_which: str = typer.Option(
        "gr_overflow",
        "--label-which",
        help="Which CircuitNet map is the label: gr_overflow (official: GR horizontal + vertical overflow) "
        "or another map name the CircuitNet label reader accepts.",
    ),
    gcell_size_um: float = typer.Option(
        1.0, "--gcell-size-um", min=1e-6, help="Gcell size in microns used to turn gcell indices into lengths."
    ),
    label_reduce: str = _LABEL_REDUCE,
    net_model: str = _NET_MODEL,
    net_cap: int = _NET_CAP,
    proxy_measure: str = _PROXY_MEASURE,
    proxy_decomposition: str = _PROXY_DECOMPOSITION,
    store: Path = _STORE,
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Designs ingested in parallel (worker processes)."),
    overwrite: bool = _OVERWRITE,
    json_out: bool = _JSON,
) -> None:
    """Ingest CircuitNet designs (netlist graph + placement sample) into a graph store.

    Each design is stored under its placement sample name (the .npy file name without suffix).
    The graph is built on the instances present in both the netlist and the placement; the
    summary reports how many were dropped on each side. The .npy files are loaded with a
    restricted unpickler (plain arrays and builtin containers only).

    Example (two designs, two worker processes):

      P=circuitnet/instance_placement_gcell
      gsr-eda ingest circuitnet --root circuitnet --store cn.h5 -j 2 \\
        --design zero-riscy-a-1-c2 \\
        --placement $P/7157-zero-riscy-a-1-c2-u0.8-m1-p1-f0.npy \\
        --design zero-riscy-b-1-c2 \\
        --placement $P/9276-zero-riscy-b-1-c2-u0.85-m1-p1-f1.npy
    """
    from gsr_eda.ingest.jobs import IngestJob

    if len(design) != len(placement):
        raise InputError(
            f"give one --placement per --design (got {len(design)} --design, {len(placement)} --placement)"
        )
    job_list = [
        IngestJob(
            kind="circuitnet",
            name=p.stem,
            root=root,
            base=base,
            placement=p,
            gcell_size_um=gcell_size_um,
            labels=labels,
            label_which=label_which,
            label_reduce=label_reduce,
            net_model=net_model,
            net_cap=net_cap,
            proxy_measure=proxy_measure,
            proxy_decomposition=proxy_decomposition,
        )
        for base, p in zip(design, placement)
    ]
    _ingest(job_list, store, overwrite=overwrite, workers=jobs, json_out=json_out)


@ingest_app.command("manifest")
@manual_page
def ingest_manifest(
    manifest: Path = typer.Argument(..., help="JSON manifest listing the designs.", dir_okay=False),
    store: Path = _STORE,
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Designs ingested in parallel (worker processes)."),
    overwrite: bool = _OVERWRITE,
    json_out: bool = _JSON,
) -> None:
    """Ingest many designs listed in a JSON manifest, in parallel worker processes.

    The manifest is a JSON object whose "designs" list holds one entry per design, DEF or
    CircuitNet. Relative paths are relative to the manifest:

      {"designs": [
        {"kind": "def", "def": "aes_place.def", "lef": ["tech.lef", "cells.lef"],
         "name": "aes", "net_model": "star"},
        {"kind": "def", "def": "gcd.def", "lef": ["tech.lef", "cells.lef"],
         "labels": "gcd.guide", "label_kind": "openroad-guides"},
        {"kind": "circuitnet", "root": "circuitnet", "base": "zero-riscy-b-1-c2",
         "placement": "circuitnet/instance_placement_gcell/9276-zero-riscy-b.npy"}
      ]}

    Entry keys: kind, name, def, lef, include_io_pins, keep_unconnected, gcell_tracks, root,
    base, placement, gcell_size_um, labels, label_kind, label_options (an object of text values), label_which, label_reduce, net_model,
    net_cap, proxy_measure, proxy_decomposition (defaults as in `ingest design` / `ingest circuitnet`).

    Workers read the designs and build the graphs; the store is written once at the end, so one
    failing design fails the whole call and leaves the store untouched.

    Example:

      gsr-eda ingest manifest designs.json --store designs.h5 -j 2
    """
    from gsr_eda.ingest.jobs import read_manifest

    job_list = read_manifest(manifest)
    for job in job_list:
        if job.kind == "circuitnet" and not job.name and job.placement is not None:
            job.name = job.placement.stem
    _ingest(job_list, store, overwrite=overwrite, workers=jobs, json_out=json_out)


def _ingest(jobs: list[IngestJob], store: Path, *, overwrite: bool, workers: int, json_out: bool) -> None:
    """Check cheaply, build every record (in workers when asked), write the store once, report."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from gsr_eda.ingest.jobs import run_jobs
    from gsr_eda.store import GraphStore, write_designs

    t_start = time.perf_counter()
    for job in jobs:
        job.check()
    named = [job.name for job in jobs if job.name]
    twice = sorted({n for n in named if named.count(n) > 1})
    if twice:
        raise InputError(f"design name given more than once: {', '.join(twice)}")
    # Fail before the slow part when the store cannot take these designs.
    if store.exists():
        with GraphStore(store) as existing:
            clash = sorted(set(named) & set(existing.designs))
        if clash and not overwrite:
            raise InputError(f"design(s) already in the store: {', '.join(clash)} (use --overwrite to replace)", store)
    elif not store.parent.is_dir():
        raise InputError("the store's directory does not exist", store.parent)

    console = Console(stderr=True)
    steps_per_job = 3  # reading design, label, graph + features (see run_job)
    single = workers <= 1 or len(jobs) == 1
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        total = len(jobs) * steps_per_job + 1 if single else len(jobs) + 1
        task = progress.add_task("ingest", total=total)

        # A step starting completes the previous one of the same job; on_done completes the last.
        def on_step(job: IngestJob, step: str) -> None:
            if step != "reading design":
                progress.advance(task)
            progress.update(task, description=f"{job.describe()}: {step}")

        def on_done(job: IngestJob, _result: JobResult) -> None:
            progress.advance(task)
            progress.update(task, description=f"{job.describe()}: done")

        if not single:
            progress.update(task, description=f"{len(jobs)} designs on {min(workers, len(jobs))} workers")
        results = run_jobs(jobs, workers, on_done=on_done, on_step=on_step if single else None)
        progress.update(task, description=f"writing {store.name}")
        t_write = time.perf_counter()
        write_designs(store, [r.record for r in results], overwrite=overwrite)
        write_s = time.perf_counter() - t_write
        progress.advance(task)

    summary = {
        "store": str(store),
        "designs": [_design_summary(r) for r in results],
        "timings": {"write_s": round(write_s, 3), "total_s": round(time.perf_counter() - t_start, 3)},
        "workers": 1 if single else min(workers, len(jobs)),
    }
    if json_out:
        emit_json(summary)
        return
    for entry in summary["designs"]:
        label = entry["label"]
        label_text = (
            "no label" if label is None else f"label {label['name']}" + (" (proxy)" if label["is_proxy"] else "")
        )
        capped = entry["net_model"] in ("capped-clique", "cell-net")
        nets = ""
        if entry.get("net_nodes") is not None:
            nets = f"{entry['net_nodes']:,} net nodes with {entry['net_pin_edges']:,} pin edges, "
        typer.echo(
            f"{entry['name']}: {entry['nodes']:,} nodes, {entry['edges']:,} edges ({entry['net_model']}"
            f"{' cap ' + str(entry['net_cap']) if capped else ''}), {nets}"
            f"{len(entry['features'])} features, {label_text}, {entry['timings']['total_s']:.1f} s"
        )
        for key, value in entry["report"].items():
            typer.echo(f"  {key.replace('_', ' ')}: {value}")
    typer.echo(f"wrote {store} ({len(results)} design(s), {summary['timings']['total_s']:.1f} s)")


def _design_summary(result: JobResult) -> dict[str, Any]:
    record = result.record
    timings = {k: round(v, 3) for k, v in result.timings.items()}
    timings["total_s"] = round(sum(result.timings.values()), 3)
    label = None
    if record.label_name is not None:
        label = {
            "name": record.label_name,
            "source": record.label_source,
            "is_proxy": record.label_is_proxy,
            "reduce": record.label_reduce,
        }
    return {
        "name": record.name,
        "nodes": record.num_nodes,
        "edges": record.num_edges,
        "nets": record.design.num_nets,
        "pins": record.design.num_pins,
        "net_model": record.net_model,
        "net_cap": record.net_cap,
        "net_nodes": None if record.net_nodes is None else record.net_nodes.num_nets,
        "net_pin_edges": None if record.net_nodes is None else record.net_nodes.num_pin_edges,
        "features": record.feature_names,
        "label": label,
        "grid_shape": list(record.design.grid.shape),
        "report": result.report,
        "timings": timings,
    }
