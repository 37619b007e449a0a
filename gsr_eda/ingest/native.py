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

import sc_leflib
from lefdef import C_DefReader

from gsr_eda.errors import InputError

_PARSER_MESSAGE = re.compile(r"ERROR \((?:DEF|LEF)PARS-\d+\):\s*(.*?)(?:\n|$)")

# What a LEF defines that a flow can use; a file with none of these is not a LEF library.
_LEF_DEFINITIONS = ("layers", "vias", "viarules", "sites", "macros", "nondefaultrules")

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


#: Statements a DEF may begin with (after comments): the header statements, then any section.
DEF_OPENING_KEYWORDS = frozenset(
    "VERSION NAMESCASESENSITIVE DIVIDERCHAR BUSBITCHARS DESIGN TECHNOLOGY UNITS HISTORY "
    "PROPERTYDEFINITIONS DIEAREA ROWS ROW TRACKS GCELLGRID VIAS STYLES NONDEFAULTRULES REGIONS "
    "COMPONENTMASKSHIFT COMPONENTS PINS PINPROPERTIES BLOCKAGES SLOTS FILLS SPECIALNETS NETS "
    "SCANCHAINS GROUPS BEGINEXT END".split()
)
_SCAN_CHUNK = 1 << 20


def check_text_file(path: Path, kind: str, opening_keywords: frozenset[str] | None = None) -> None:
    """Refuse a file that cannot be ``kind`` text before the native parser reads it whole.

    The parsers hold the whole file in memory and, on a binary or sparse file, fail only after
    reading all of it with no useful reason. One streaming pass finds the first NUL byte (text
    formats have none); with ``opening_keywords``, the first token after ``#`` comments must be
    one of them. The token found is kept out of the message proper (``detail``), as file text.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SCAN_CHUNK)
            chunk, offset = head, 0
            while chunk:
                nul = chunk.find(b"\0")
                if nul >= 0:
                    raise InputError(f"not a {kind} text file: binary data (a NUL byte) at byte {offset + nul:,}", path)
                offset += len(chunk)
                chunk = handle.read(_SCAN_CHUNK)
    except OSError as err:
        raise InputError(f"cannot read {kind}: {err.strerror}", path) from None
    if opening_keywords is None:
        return
    for number, line in enumerate(head.decode("utf-8", "replace").splitlines(), start=1):
        tokens = line.split("#", 1)[0].split()
        if not tokens:
            continue
        if tokens[0].upper() not in opening_keywords:
            raise InputError(
                f"does not look like a {kind} file: line {number} should start with a {kind} statement "
                "such as VERSION, DESIGN or UNITS",
                path,
                detail=repr(tokens[0][:40]),
            )
        return
    raise InputError(f"empty {kind} file: no statement found", path)


def parse_def_native(path: Path) -> Any:
    """Parse a DEF with ``lefdef`` and return its ``C_Def`` structure (and the reader that owns it).

    Returns ``(reader, c_def)``: the caller must keep ``reader`` alive while reading ``c_def``,
    since the reader frees the C memory when it is garbage-collected.
    """
    check_regular_file(path, "DEF")
    check_text_file(path, "DEF", DEF_OPENING_KEYWORDS)
    child = subprocess.run(
        [sys.executable, "-c", _CHILD_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        errors="replace",
    )
    if child.returncode != 0:
        reason = _parser_reason(child.stdout + "\n" + child.stderr)
        raise InputError("malformed or truncated DEF", path, detail=reason)
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
    check_text_file(path, "LEF")
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
                parsed = _parse_lef_or_none(sc_leflib, path)
        finally:
            _flush_c_stdio()
            os.dup2(saved[0], 2)
            os.dup2(saved[1], 1)
            os.close(saved[0])
            os.close(saved[1])
        captured.seek(0)
        output = captured.read().decode("utf-8", "replace") + "\n" + python_output.getvalue()
    if parsed is None:
        raise InputError("malformed LEF", path, detail=_parser_reason(output))
    if not any(parsed.get(section) for section in _LEF_DEFINITIONS):
        # The parser skips what it cannot read with a warning, so binary garbage can "parse" to nothing.
        raise InputError("not a LEF library: it defines no LAYER, VIA, SITE or MACRO", path)
    return parsed


def _parse_lef_or_none(sc_leflib: Any, path: Path) -> dict | None:
    """``sc_leflib.parse``, with ``None`` for a file it fails on by raising.

    Binary garbage makes its Cython callbacks raise (a token that is not UTF-8), which surfaces
    as a ``SystemError`` or ``UnicodeError`` instead of its usual ``None``.
    """
    try:
        return sc_leflib.parse(str(path))
    except (SystemError, UnicodeError, ValueError):
        return None
