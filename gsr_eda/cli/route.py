"""``gsr-eda route``: detail-route a placed DEF with the installed qrouter (no OpenROAD needed)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import typer

from gsr_eda.cli.app import app, emit_json
from gsr_eda.cli.manual import manual_page

_USE = re.compile(r"^[ \t]*-\s+(\S+)[^;]*?\+\s*USE\s+(POWER|GROUND)\b", re.MULTILINE)


def _supply_nets(text: str) -> dict[str, str]:
    """``{"POWER": net, "GROUND": net}`` from the first SPECIALNETS statements with ``+ USE``."""
    special = re.search(r"^[ \t]*SPECIALNETS\b.*?^[ \t]*END\s+SPECIALNETS\b", text, re.MULTILINE | re.DOTALL)
    found: dict[str, str] = {}
    for name, use in _USE.findall(special.group(0) if special else ""):
        found.setdefault(use, name)
    return found


@app.command("route")
@manual_page
def route(
    def_path: Path = typer.Option(..., "--def", help="Placed DEF file (plain or .gz).", dir_okay=False),
    lef: list[Path] = typer.Option(
        ..., "--lef", help="LEF file; repeat for technology and cell LEFs (technology first).", dir_okay=False
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Routed DEF to write (its route record goes to OUT.json).", dir_okay=False
    ),
    timeout: float = typer.Option(600.0, "--timeout", min=1.0, help="Seconds qrouter may run before it is stopped."),
    stage3: bool = typer.Option(False, "--stage3", help="Also run qrouter's stage3 (clean-up rip-up and reroute)."),
    power: str = typer.Option(
        None, "--power", help="Power net name (default: the SPECIALNETS net with USE POWER, else vdd)."
    ),
    ground: str = typer.Option(
        None, "--ground", help="Ground net name (default: the SPECIALNETS net with USE GROUND, else gnd)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON summary (nets, failed nets, times) on stdout."),
) -> None:
    """Detail-route a placed DEF with qrouter and report the nets it could not route.

    For users without OpenROAD: qrouter is a maze router packaged by Debian
    (apt-get install qrouter; make setup installs it when run as root). The DEF is first
    checked with the project's reader, then rewritten into the DEF subset qrouter handles
    (SPECIALNETS + SHAPE dropped, one TRACKS line per layer in its preferred direction, one
    net connection per line, NETS before SPECIALNETS), and routed headless
    (qrouter -nog) in a scratch directory: stage1 (route every net), stage2 (rip up and
    reroute the failures), optionally stage3. Progress shows the nets routed by stage1.

    OUT gets the routed DEF and OUT.json its route record: tool, version, failed nets and
    stage times. Ingest it as a real label with
    --labels OUT --label-kind routed-def (see gsr-eda ingest design --help).

    qrouter has no global-route mode: a full route costs about three times stage1, which
    takes about 1 s for 500 cells and a minute for 7,000. Failed nets are reported, not an
    error; a missing qrouter, a crash or the --timeout is (exit status 3). OUT is written
    only when qrouter finishes.

    Example:

      gsr-eda route --def placed.def.gz \\
        --lef /usr/share/qflow/tech/osu018/osu018_stdcells.lef --out routed.def
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from gsr_eda.ingest import read_def_design
    from gsr_eda.ingest.compressed import read_text
    from gsr_eda.ingest.lef import read_lef_library
    from gsr_eda.route import find_qrouter, route_with_qrouter, write_route_record
    from gsr_eda.route.qrouter import check_output_path

    find_qrouter()
    check_output_path(out)
    t0 = time.perf_counter()
    design = read_def_design(def_path, lef, keep_unconnected=True)
    directions = {layer.name: layer.direction for layer in read_lef_library(lef).routing_layers}
    text = read_text(def_path)
    supplies = _supply_nets(text)
    console = Console(stderr=True)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} nets"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=json_out or not console.is_terminal,
    ) as progress:
        task = progress.add_task("qrouter stage1", total=max(design.num_nets, 1))

        def on_progress(stage: str, done: int, total: int) -> None:
            progress.update(task, description=f"qrouter {stage}", completed=max(done, 0), total=max(total, 1))

        result = route_with_qrouter(
            text,
            lef,
            directions,
            out,
            power=power or supplies.get("POWER", "vdd"),
            ground=ground or supplies.get("GROUND", "gnd"),
            stage3=stage3,
            timeout_s=timeout,
            on_progress=on_progress,
        )
    record = write_route_record(out, result, def_path)
    summary = {
        "routed_def": str(out),
        "route_record": str(record),
        "tool": "qrouter",
        "tool_version": result.tool_version,
        "nets": result.nets,
        "failed_nets": len(result.failed_nets),
        "failed_fraction": round(len(result.failed_nets) / result.nets, 6) if result.nets else 0.0,
        "failed_examples": result.failed_nets[:10],
        "stages": result.stages,
        "route_s": round(result.seconds, 3),
        "total_s": round(time.perf_counter() - t0, 3),
    }
    if json_out:
        emit_json(summary)
        return
    stages = ", ".join(
        f"{name} {info['ms'] / 1000:.1f} s ({info['failed']} failed)" for name, info in result.stages.items()
    )
    typer.echo(f"routed {design.name} with qrouter {result.tool_version}: {stages}")
    failed = summary["failed_nets"]
    examples = ", ".join(result.failed_nets[:5]) + (", ..." if failed > 5 else "")
    typer.echo(
        f"  failed nets: {failed} of {result.nets} ({100 * summary['failed_fraction']:.1f}%)"
        + (f": {examples}" if failed else "")
    )
    typer.echo(f"wrote {out} and {record} ({summary['total_s']:.1f} s)")
