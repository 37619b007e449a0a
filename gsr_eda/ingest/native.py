"""Run the native LEF/DEF parsers so that a bad file becomes an :class:`InputError`, never a crash.

``lefdef`` (DEF) wraps C++ code that calls ``std::terminate`` -- aborting the whole Python
process -- on any syntax error or truncated file. So every DEF is first parsed once in a
short-lived child interpreter; only when that child exits cleanly is it parsed again in this
process. The cost is one extra parse (about 0.2 s for a 22k-instance DEF).

``sc_leflib`` (LEF) returns ``None`` on failure and prints the reason (through C stdio and
Python's ``print``); both are captured so the reason goes into the error message instead of
the user's terminal.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from gsr_eda.errors import InputError

_PARSER_MESSAGE = re.compile(r"ERROR \((?:DEF|LEF)PARS-\d+\):\s*(.*?)(?:\n|$)")

_CHILD_SCRIPT = "import sys\nfrom lefdef import C_DefReader\nC_DefReader().read(sys.argv[1])\n"


def _parser_reason(output: str) -> str:
    """The parser's own one-line reason (with the line number it gives), or a generic one."""
    match = _PARSER_MESSAGE.search(output)
    if match:
        return match.group(1).strip().rstrip(".")
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return lines[0] if lines else "the parser rejected the file"


def check_regular_file(path: Path, kind: str) -> None:
    """Raise ``InputError`` unless ``path`` is an existing regular file."""
    if not path.exists():
        raise InputError(f"{kind} file not found", path)
    if not path.is_file():
        raise InputError(f"{kind} path is not a regular file", path)


def parse_def_native(path: Path) -> Any:
    """Parse a DEF with ``lefdef`` and return its ``C_Def`` structure (and the reader that owns it).

    Returns ``(reader, c_def)``: the caller must keep ``reader`` alive while reading ``c_def``,
    since the reader frees the C memory when it is garbage-collected.
    """
    check_regular_file(path, "DEF")
    child = subprocess.run(
        [sys.executable, "-c", _CHILD_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        errors="replace",
    )
    if child.returncode != 0:
        reason = _parser_reason(child.stdout + "\n" + child.stderr)
        raise InputError(f"malformed or truncated DEF: {reason}", path)
    from lefdef import C_DefReader

    reader = C_DefReader()
    return reader, reader.read(str(path))


def _flush_c_stdio() -> None:
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # pragma: no cover - no C library symbols in this process
        pass


def parse_lef_native(path: Path) -> dict:
    """Parse a LEF with ``sc_leflib``; a file it rejects raises ``InputError`` with the parser's reason."""
    check_regular_file(path, "LEF")
    import sc_leflib

    # The parser reports through C stdio and, via its Cython callbacks, through Python's print:
    # capture both levels.
    python_output = io.StringIO()
    with tempfile.TemporaryFile(mode="w+b") as captured:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(2), os.dup(1)
        os.dup2(captured.fileno(), 2)
        os.dup2(captured.fileno(), 1)
        try:
            with contextlib.redirect_stdout(python_output), contextlib.redirect_stderr(python_output):
                parsed = sc_leflib.parse(str(path))
        finally:
            _flush_c_stdio()
            os.dup2(saved[0], 2)
            os.dup2(saved[1], 1)
            os.close(saved[0])
            os.close(saved[1])
        captured.seek(0)
        output = captured.read().decode("utf-8", "replace") + "\n" + python_output.getvalue()
    if parsed is None:
        raise InputError(f"malformed LEF: {_parser_reason(output)}", path)
    return parsed
