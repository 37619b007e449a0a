"""``gsr-eda version``: package and compute-core build information."""

from __future__ import annotations

import typer

from gsr_eda import __version__
from gsr_eda.cli.app import app, emit_json


@app.command()
def version(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Print the gsr-eda version and how the compute core was built."""
    # The compiled core loads only for the command that reports on it: `--help` and the other
    # light commands never pay for it, and still answer where it failed to build.
    from gsr_eda import _core

    info = {"version": __version__, "core_cuda": bool(_core.has_cuda())}
    if json_out:
        emit_json(info)
    else:
        typer.echo(f"gsr-eda {info['version']} (compute core: {'CPU+CUDA' if info['core_cuda'] else 'CPU'})")
