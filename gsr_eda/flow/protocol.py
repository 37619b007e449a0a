"""The wire protocol of ``gsr-eda serve``: JSON lines over TCP.

Every request is one JSON object on one line (UTF-8, ``\\n``-terminated, at most
:data:`MAX_REQUEST_BYTES` bytes) and gets exactly one reply line::

    -> {"id": 7, "op": "estimate", "design": "aes", "out": "/tmp/aes_iter3"}
    <- {"id": 7, "ok": true, "op": "estimate", "design": "aes", "max": 0.91, ...}
    <- {"id": 7, "ok": false, "error": "unknown design 'aex' (loaded: aes)"}

Replies are deliberately *flat*: every value is a string, a number, a boolean, ``null`` or a
list of strings, so a small JSON reader in Tcl 8.6 (which has no JSON library) can decode them
into a ``dict``. Bulk results (per-cell and per-gcell scores) never travel on the socket; the
server writes them to files whose paths the reply names.

Operations and their fields (``id`` is required on every request and echoed back; ``token``
is required when the server was started with ``--token``):

==================  =====================================================================
``health``          server status: version, uptime, loaded designs, checkpoint
``designs``         ``designs``: names of the loaded designs
``load_design``     ``def``, ``lefs`` (list), optional ``name`` and ``include_io_pins``: read
                    DEF/LEF, keep it resident
``update_positions`` ``design`` and exactly one of ``def`` (a re-written DEF of the same design)
                    or ``positions`` (a text file of ``instance x y`` lines, microns)
``estimate``        ``design``, ``out`` (path prefix), optional ``threshold``: run the model,
                    write ``<out>.cells.tsv`` and ``<out>.gcells.csv``, reply with a summary
``unload_design``   ``design``: free it
``shutdown``        stop the server after replying
==================  =====================================================================
"""

from __future__ import annotations

import json
from typing import Any

from gsr_eda.jsonable import json_safe

#: Longest accepted request line, newline included. Requests carry paths, never data.
MAX_REQUEST_BYTES = 1 << 20

OPERATIONS = (
    "health",
    "designs",
    "load_design",
    "update_positions",
    "estimate",
    "unload_design",
    "shutdown",
)


class ProtocolError(Exception):
    """A request that cannot be served; its message becomes the ``error`` of the reply."""


def decode_request(line: bytes) -> dict[str, Any]:
    """Parse one request line into a dict with at least ``id`` and a known ``op``."""
    try:
        request = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ProtocolError(f"request is not UTF-8: {err}") from None
    except json.JSONDecodeError as err:
        raise ProtocolError(f"malformed JSON: {err.msg} at column {err.colno}") from None
    except RecursionError:
        raise ProtocolError("request nests too deeply; requests are flat objects") from None
    if not isinstance(request, dict):
        raise ProtocolError(f"a request must be a JSON object, got {type(request).__name__}")
    if "id" not in request:
        raise ProtocolError("request has no 'id'")
    op = request.get("op")
    if op not in OPERATIONS:
        raise ProtocolError(f"unknown op {op!r}; expected one of: {', '.join(OPERATIONS)}")
    return request


def request_id(line: bytes) -> Any:
    """Best-effort ``id`` of a request that failed to decode, so the error reply can carry it."""
    try:
        request = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    return request.get("id") if isinstance(request, dict) else None


def field(request: dict[str, Any], name: str, kind: type | tuple[type, ...], *, required: bool = True) -> Any:
    """A typed request field; a missing or mistyped one is a :class:`ProtocolError`."""
    if name not in request or request[name] is None:
        if required:
            raise ProtocolError(f"'{request['op']}' needs the field '{name}'")
        return None
    value = request[name]
    # bool is an int in Python; a number field must not accept true/false.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ProtocolError(f"field '{name}' has the wrong type (bool)")
    if not isinstance(value, kind):
        raise ProtocolError(f"field '{name}' has the wrong type ({type(value).__name__})")
    return value


def string_list(request: dict[str, Any], name: str) -> list[str]:
    """A required list-of-strings field (a single string is accepted as a one-element list)."""
    value = field(request, name, (list, str))
    items = [value] if isinstance(value, str) else value
    if not items or not all(isinstance(item, str) for item in items):
        raise ProtocolError(f"field '{name}' must be a non-empty list of strings")
    return items


def encode_reply(reply: dict[str, Any]) -> bytes:
    """One reply line. Non-finite floats become ``null`` so every JSON reader accepts the line."""
    return (json.dumps(json_safe(reply), allow_nan=False, separators=(",", ":")) + "\n").encode("utf-8")


def error_reply(request_id_: Any, message: str) -> bytes:
    return encode_reply({"id": request_id_, "ok": False, "error": message})
