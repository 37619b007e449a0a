"""Route a placed DEF with the installed qrouter (Debian package ``qrouter``, 1.4.71 tested).

qrouter is a detailed maze router without a global-route mode. :func:`route_with_qrouter`
fixes the DEF up (:mod:`gsr_eda.route.def_fixup`), writes a Tcl script, runs
``qrouter -nog -s script.tcl`` headless in a scratch directory with a time limit, follows its
progress on stdout, and returns the routed DEF, the failed nets and the stage times. The script::

    read_lef <each LEF>; catch {layers N}; via stack 2; vdd <net>; gnd <net>
    read_def <fixed DEF>; stage1; stage2 mask none [; stage3]; write_def; write_failed; quit

``write_def`` is called once: a second call in one session loses the routes already written.
Beside the routed DEF, :func:`write_route_record` writes ``<routed DEF>.json`` (tool, version,
failed nets, times), which the ``routed-def`` label reads as its provenance.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gsr_eda.atomic import atomic_open
from gsr_eda.errors import GsrEdaError, InputError
from gsr_eda.labels.routed import SIDECAR_SUFFIX, read_failed_nets
from gsr_eda.process import Deadline, kill_group, start_group
from gsr_eda.route.def_fixup import fix_def_for_qrouter

QROUTER = "qrouter"
INSTALL_HINT = "install it with 'apt-get install qrouter' (Debian/Ubuntu), or run 'make setup' as root"
_VERSION = re.compile(r"Qrouter detail maze router version (\S+)")
_TOTAL_NETS = re.compile(r"There are (\d+) nets in this design")
_REMAINING = re.compile(r"Nets remaining:\s*(\d+)")
_STAGE = re.compile(r"^GSR-EDA (stage\d) failed=(-?\d+) ms=(\d+)")


class RouterError(GsrEdaError):
    """qrouter is missing, crashed, or ran out of time (exit status 3, one line)."""


@dataclass
class RouteResult:
    """What one qrouter run produced."""

    tool_version: str
    nets: int  # nets qrouter counted in the design, power and ground included
    failed_nets: list[str]
    stages: dict[str, dict[str, int]] = field(default_factory=dict)  # stage -> {"failed", "ms"}
    seconds: float = 0.0
    log_tail: list[str] = field(default_factory=list)


def find_qrouter() -> str:
    """The qrouter executable on ``PATH``, or a :class:`RouterError` saying how to install it."""
    found = shutil.which(QROUTER)
    if found is None:
        raise RouterError(f"qrouter is not installed (not on PATH): {INSTALL_HINT}")
    return found


def qrouter_script(
    lefs: Sequence[Path],
    def_path: Path,
    out_def: Path,
    failed: Path,
    *,
    layers: int,
    power: str,
    ground: str,
    stage3: bool,
) -> str:
    """The Tcl script of one run (see the module docstring); stage results are printed as
    ``GSR-EDA stageN failed=F ms=T`` lines."""
    lines = ["verbose 1"]
    lines += [f"read_lef {{{lef}}}" for lef in lefs]
    lines += [f"catch {{layers {layers}}}", "via stack 2", f"vdd {power}", f"gnd {ground}", f"read_def {{{def_path}}}"]
    # "stage2 mask none": rip-up and reroute search without a route mask, as qflow's
    # scripts do (the shared qflow designs were routed that way).
    for stage, call in [("stage1", "stage1"), ("stage2", "stage2 mask none")] + (
        [("stage3", "stage3")] if stage3 else []
    ):
        lines.append(
            f"set t [clock milliseconds]; set r [{call}]; "
            f'puts "GSR-EDA {stage} failed=$r ms=[expr {{[clock milliseconds] - $t}}]"; flush stdout'
        )
    lines += [f"write_def {{{out_def}}}", f"write_failed {{{failed}}}", "quit"]
    return "\n".join(lines) + "\n"


def _run(
    command: list[str], cwd: Path, timeout_s: float, on_progress: Callable[[str, int, int], None], result: RouteResult
) -> list[str]:
    """Run qrouter, report ``(stage, nets done, nets)`` as it goes, and return its output lines."""
    started = time.monotonic()
    output: list[str] = []
    stage = "stage1"
    with start_group(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    ) as process:
        timer = Deadline(process, timeout_s)
        try:
            for line in process.stdout:
                output.append(line.rstrip("\n"))
                if (match := _VERSION.search(line)) is not None:
                    result.tool_version = match.group(1)
                elif (match := _TOTAL_NETS.search(line)) is not None:
                    result.nets = int(match.group(1))
                elif (match := _REMAINING.search(line)) is not None and stage == "stage1":
                    on_progress(stage, result.nets - int(match.group(1)), result.nets)
                elif (match := _STAGE.match(line)) is not None:
                    result.stages[match.group(1)] = {"failed": int(match.group(2)), "ms": int(match.group(3))}
                    stage = f"after {match.group(1)}"
                    on_progress(match.group(1), result.nets - int(match.group(2)), result.nets)
        except BaseException:
            kill_group(process)  # Ctrl-C or a failing callback: qrouter runs in its own session, end it too
            raise
        finally:
            timer.cancel()
        process.wait()
    result.seconds = time.monotonic() - started
    if timer.expired:
        raise RouterError(
            f"qrouter did not finish within {timeout_s:g} s (after {', '.join(result.stages) or 'no stage'}); "
            "raise --timeout, or route a smaller design"
        )
    if process.returncode != 0:
        tail = " | ".join(output[-3:])
        raise RouterError(f"qrouter exited with status {process.returncode}: {tail}")
    return output


def route_with_qrouter(
    def_text: str,
    lefs: Sequence[Path],
    directions: dict[str, str],
    out_def: Path,
    *,
    power: str = "vdd",
    ground: str = "gnd",
    stage3: bool = False,
    timeout_s: float = 600.0,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> RouteResult:
    """Route the placed DEF ``def_text`` with qrouter and write the routed DEF to ``out_def``.

    ``directions`` (routing layer -> ``HORIZONTAL``/``VERTICAL``, bottom to top, from the LEF)
    drives the TRACKS fix-up and the layer count. ``on_progress(stage, nets_done, nets)`` is
    called as qrouter reports. ``out_def`` is replaced only when the run succeeds.
    """
    executable = find_qrouter()
    fixed, _ = fix_def_for_qrouter(def_text, directions)
    progress = on_progress or (lambda _stage, _done, _total: None)
    result = RouteResult(tool_version="unknown", nets=0, failed_nets=[])
    with tempfile.TemporaryDirectory(prefix="gsr-eda-route-") as scratch:
        work = Path(scratch)
        (work / "placed.def").write_text(fixed)
        script = qrouter_script(
            [Path(p).resolve() for p in lefs],
            Path("placed.def"),
            Path("routed.def"),
            Path("failed.txt"),
            layers=len(directions),
            power=power,
            ground=ground,
            stage3=stage3,
        )
        (work / "route.tcl").write_text(script)
        output = _run([executable, "-nog", "-s", "route.tcl"], work, timeout_s, progress, result)
        result.log_tail = output[-20:]
        routed = work / "routed.def"
        if not routed.is_file() or routed.stat().st_size == 0:
            raise RouterError(f"qrouter wrote no routed DEF: {' | '.join(output[-3:])}")
        failed = work / "failed.txt"
        result.failed_nets = read_failed_nets(failed) if failed.is_file() else []
        with atomic_open(out_def, "wb") as target, open(routed, "rb") as source:
            shutil.copyfileobj(source, target)
    return result


def write_route_record(out_def: Path, result: RouteResult, source_def: Path) -> Path:
    """Write ``<out_def>.json``: the provenance the ``routed-def`` label reads (see the module docstring)."""
    record = {
        "tool": QROUTER,
        "tool_version": result.tool_version,
        "placed_def": str(source_def),
        "nets": result.nets,
        "failed_nets": result.failed_nets,
        "failed_fraction": len(result.failed_nets) / result.nets if result.nets else 0.0,
        "stages": result.stages,
        "seconds": round(result.seconds, 3),
    }
    sidecar = out_def.with_name(out_def.name + SIDECAR_SUFFIX)
    with atomic_open(sidecar, "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=2)
        handle.write("\n")
    return sidecar


def check_output_path(out_def: Path) -> None:
    """Refuse an output path whose directory is missing or that is a directory."""
    if out_def.is_dir():
        raise InputError("output path is a directory, expected a DEF file name", out_def)
    if not out_def.parent.is_dir():
        raise InputError("the output's directory does not exist", out_def.parent)


__all__ = [
    "RouteResult",
    "RouterError",
    "check_output_path",
    "find_qrouter",
    "qrouter_script",
    "route_with_qrouter",
    "write_route_record",
]
