"""The typer application and the error boundary shared by every command."""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

import typer

from gsr_eda.errors import EXIT_INTERNAL, GsrEdaError, InputWarning

app = typer.Typer(
    name="gsr-eda",
    help=(
        "Predict routing congestion on placed chip designs with deep grouped sparse "
        "reversible GNNs.\n\n"
        "Typical flow: ingest designs into an HDF5 graph store, train a model on it, "
        "then predict on new placements (CLI, Python session, or the TCP server for Tcl flows)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def emit_json(payload: Any) -> None:
    """Print one JSON document on stdout (for ``--json`` pipeline use)."""
    sys.stdout.write(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """One ``gsr-eda: warning:`` line for input warnings; Python's usual format for the rest."""
    if issubclass(category, InputWarning):
        sys.stderr.write(f"gsr-eda: warning: {message}\n")
        return
    _default_show_warning(message, category, filename, lineno, file, line)


_default_show_warning = warnings.showwarning


def main() -> None:
    """Console entry point: user-facing errors become one line on stderr and an exit code."""
    warnings.showwarning = _show_warning
    try:
        app()
    except GsrEdaError as err:
        sys.stderr.write(f"gsr-eda: error: {err}\n")
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("gsr-eda: interrupted\n")
        sys.exit(130)
    except Exception as err:  # noqa: BLE001 - the last resort boundary
        sys.stderr.write(f"gsr-eda: internal error: {type(err).__name__}: {err}\n")
        sys.exit(EXIT_INTERNAL)


@app.callback()
def _root() -> None:
    """Keep ``gsr-eda`` a command group even while it has a single command."""
