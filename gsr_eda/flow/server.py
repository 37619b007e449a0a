"""``gsr-eda serve``: resident congestion sessions answering JSON-lines requests over TCP.

Tcl flows (OpenROAD, commercial P&R shells) cannot import Python, and Tcl 8.6's ``socket`` has no
Unix-domain option, so the server listens on TCP, by default on the loopback interface only. The
wire format is in :mod:`gsr_eda.flow.protocol`.

Concurrency: one thread per client connection (``socketserver.ThreadingTCPServer``). Reading a
design happens outside any lock, so a client loading a big DEF does not stall the others; the
design table is guarded by one lock and each design by its own (a position update and an
estimate of the same design never interleave). Model forward passes are serialised by a model
lock: the model is shared by all designs and a forward pass already uses every core.

Paths: a client names the files the server reads (``def``, ``lefs``, ``positions``) and writes
(``out``); with ``root`` every such path must lie inside that folder once links are resolved, and
relative ones are taken from it. Estimates of a request without ``out`` go to ``out_dir``, under
the design's name, which must then be a plain file name. Error replies never quote the files'
text (a parser's failing token would disclose the first line of any file the server can read):
the full message goes to the log.

Robustness: a malformed request gets an error reply and the connection stays usable; a line over
:data:`~gsr_eda.flow.protocol.MAX_REQUEST_BYTES` gets an error reply and the connection is
closed (the rest of the line cannot be trusted to be a request); a client that disconnects
mid-request or before reading its reply is dropped. None of these stop the server.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gsr_eda import __version__
from gsr_eda.errors import GsrEdaError, InputError
from gsr_eda.flow import protocol
from gsr_eda.flow.protocol import ProtocolError
from gsr_eda.flow.protocol import field as request_field
from gsr_eda.flow.session import CongestionSession
from gsr_eda.ingest import read_def_design
from gsr_eda.ingest.def_positions import read_positions_file


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class _LoadedDesign:
    session: CongestionSession
    lock: threading.Lock = field(default_factory=threading.Lock)
    loaded_at: float = field(default_factory=time.time)


class CongestionServer(socketserver.ThreadingTCPServer):
    """A TCP server holding one model and any number of designs.

    Args:
        predictor: the loaded model (:func:`gsr_eda.predict.load_predictor`), shared by all designs.
        checkpoint: its path, reported by ``health``.
        host, port: where to listen; port 0 picks a free port (see :attr:`port`).
        token: when set, every request must carry ``"token": <token>``.
        allow_remote: permit a non-loopback ``host`` (requires ``token``).
        out_dir: where ``estimate`` writes results when a request names no ``out``.
        threshold: default hotspot threshold of ``estimate`` (label units).
        root: when set, the only folder whose files a client may name (see the module docstring).
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        predictor: Any,
        *,
        checkpoint: str,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        allow_remote: bool = False,
        out_dir: str | Path = ".",
        threshold: float = 0.9,
        root: str | Path | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        if not is_loopback(host) and not allow_remote:
            raise InputError(f"refusing to listen on non-loopback address {host}: pass --allow-remote and --token")
        if allow_remote and not token:
            raise InputError("--allow-remote needs --token: a remote client must prove it may drive this server")
        self.predictor = predictor
        self.checkpoint = checkpoint
        # Bytes, not str: compare_digest refuses str with non-ASCII characters.
        self.token = None if token is None else _utf8(token)
        self.root = None if root is None else Path(os.path.realpath(root))
        if self.root is not None and not self.root.is_dir():
            raise InputError("--root is not a folder", root)
        self.out_dir = Path(out_dir)
        self.threshold = float(threshold)
        self.started = time.time()
        self.log = log or (lambda message: None)
        self.designs: dict[str, _LoadedDesign] = {}
        self.designs_lock = threading.Lock()
        self.model_lock = threading.Lock()
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _RequestHandler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def host(self) -> str:
        return str(self.server_address[0])

    # ------------------------------------------------------------------------- dispatching

    def answer(self, line: bytes) -> tuple[bytes, bool]:
        """The reply line to one request line, and whether the server should now shut down."""
        try:
            request = protocol.decode_request(line)
        except ProtocolError as err:
            return protocol.error_reply(protocol.request_id(line), str(err)), False
        rid = request["id"]
        if self.token is not None and not hmac.compare_digest(_utf8(str(request.get("token", ""))), self.token):
            return protocol.error_reply(rid, "missing or wrong token"), False
        op = request["op"]
        try:
            body = getattr(self, f"_op_{op}")(request)
        except ProtocolError as err:
            return protocol.error_reply(rid, str(err)), False
        except InputError as err:
            if err.detail:
                self.log(f"{op}: {err}")
            return protocol.error_reply(rid, err.without_detail), False
        except GsrEdaError as err:
            return protocol.error_reply(rid, str(err)), False
        except OSError as err:  # the path and the system's reason, never the file's text
            return protocol.error_reply(rid, f"{err.filename or 'file'}: {err.strerror or type(err).__name__}"), False
        except Exception as err:  # noqa: BLE001 - a bug must not take the server down
            # The message may quote a file's text (a ValueError from a number parser): log it only.
            self.log(f"error serving {op}:\n{traceback.format_exc()}")
            return protocol.error_reply(rid, f"internal error: {type(err).__name__} (details in the server log)"), False
        return protocol.encode_reply({"id": rid, "ok": True, "op": op, **body}), op == "shutdown"

    def _path(self, request: dict[str, Any], name: str, *, required: bool = True) -> str | None:
        """A path field, checked to lie inside :attr:`root` when the server has one."""
        value = request_field(request, name, str, required=required)
        return None if value is None else self._confined(name, value)

    def _confined(self, name: str, value: str) -> str:
        if self.root is None:
            return value
        resolved = Path(os.path.realpath(self.root / value))  # an absolute value replaces root
        if not resolved.is_relative_to(self.root):
            raise ProtocolError(f"field '{name}': {value} is outside the server's --root")
        return str(resolved)

    def _loaded(self, request: dict[str, Any]) -> tuple[str, _LoadedDesign]:
        name = request_field(request, "design", str)
        with self.designs_lock:
            entry = self.designs.get(name)
            loaded = sorted(self.designs)
        if entry is None:
            raise ProtocolError(f"unknown design {name!r} (loaded: {', '.join(loaded) or 'none'})")
        return name, entry

    # ---------------------------------------------------------------------------- operations

    def _op_health(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.designs_lock:
            count = len(self.designs)
        return {
            "status": "ok",
            "version": __version__,
            "uptime_s": round(time.time() - self.started, 3),
            "designs": count,
            "checkpoint": self.checkpoint,
            "device": str(self.predictor.device),
            "model": str(self.predictor.config.get("name", "")),
            "layers": int(self.predictor.config.get("layers", 0)),
            "values": self.predictor.values,
            "gcell_map": self.predictor.gcell_map_source,
        }

    def _op_designs(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.designs_lock:
            return {"designs": sorted(self.designs)}

    def _op_load_design(self, request: dict[str, Any]) -> dict[str, Any]:
        def_path = self._path(request, "def")
        lefs = [self._confined("lefs", lef) for lef in protocol.string_list(request, "lefs")]
        name = request_field(request, "name", str, required=False)
        include_io_pins = bool(request_field(request, "include_io_pins", bool, required=False))
        start = time.perf_counter()
        design = read_def_design(def_path, lefs, name=name, include_io_pins=include_io_pins)
        source = {"def": def_path, "lefs": "\n".join(lefs), "checkpoint": self.checkpoint}
        if include_io_pins:
            source["include_io_pins"] = "1"
        session = CongestionSession(design, self.predictor, source=source)
        name = name or design.name
        with self.designs_lock:
            replaced = name in self.designs
            self.designs[name] = _LoadedDesign(session)
        self.log(f"loaded design {name} ({design.num_nodes} cells) from {def_path}")
        return {
            "design": name,
            "cells": int(design.num_nodes),
            "nets": int(design.num_nets),
            "gcells_x": int(design.grid.shape[0]),
            "gcells_y": int(design.grid.shape[1]),
            "replaced": replaced,
            "seconds": round(time.perf_counter() - start, 4),
        }

    def _op_update_positions(self, request: dict[str, Any]) -> dict[str, Any]:
        name, entry = self._loaded(request)
        def_path = self._path(request, "def", required=False)
        positions_path = self._path(request, "positions", required=False)
        if (def_path is None) == (positions_path is None):
            raise ProtocolError("'update_positions' needs exactly one of 'def' or 'positions'")
        start = time.perf_counter()
        with entry.lock:
            if def_path is not None:
                result = entry.session.update_from_def(def_path)
            else:
                names, x, y = read_positions_file(positions_path)
                matched, moved = entry.session.move_cells(names, x, y)
                if matched == 0:
                    raise InputError(f"no instance of this file is a cell of design {name!r}", positions_path)
                result = {"matched": matched, "moved_um": moved, "reloaded": False}
        return {"design": name, **result, "seconds": round(time.perf_counter() - start, 4)}

    def _op_estimate(self, request: dict[str, Any]) -> dict[str, Any]:
        name, entry = self._loaded(request)
        out = self._path(request, "out", required=False)
        threshold = request_field(request, "threshold", (int, float), required=False)
        reuse = request_field(request, "reuse", bool, required=False) or False
        threshold = self.threshold if threshold is None else float(threshold)
        if not out and (Path(name).name != name or name in ("", ".", "..")):
            raise ProtocolError(f"design name {name!r} cannot name a file in the server's --out-dir: send 'out'")
        prefix = Path(out) if out else self.out_dir / name
        start = time.perf_counter()
        with entry.lock:
            with self.model_lock:
                result = entry.session.estimate(reuse=reuse)
        cells_path = result.write_cells(prefix.with_name(prefix.name + ".cells.tsv"))
        gcells_path = result.write_gcells(prefix.with_name(prefix.name + ".gcells.csv"))
        return {
            "design": name,
            **result.summary(threshold),
            "values": self.predictor.values,
            "cells_path": str(cells_path),
            "gcells_path": str(gcells_path),
            "seconds": round(time.perf_counter() - start, 4),
        }

    def _op_unload_design(self, request: dict[str, Any]) -> dict[str, Any]:
        name, _ = self._loaded(request)
        with self.designs_lock:
            self.designs.pop(name, None)
        return {"design": name}

    def _op_shutdown(self, request: dict[str, Any]) -> dict[str, Any]:
        return {"status": "stopping"}


class _RequestHandler(socketserver.StreamRequestHandler):
    """One client connection: read request lines, write reply lines, until the client leaves."""

    server: CongestionServer

    def handle(self) -> None:
        limit = protocol.MAX_REQUEST_BYTES
        while True:
            try:
                line = self.rfile.readline(limit + 1)
            except OSError:
                return  # connection reset
            if not line:
                return  # clean disconnect
            if len(line) > limit:
                self._send(protocol.error_reply(None, f"request line exceeds {limit} bytes; closing connection"))
                return
            if not line.endswith(b"\n"):
                return  # the client went away mid-request: nobody to answer
            if not line.strip():
                continue
            reply, stop = self.server.answer(line)
            if not self._send(reply):
                return
            if stop:
                # shutdown() waits for serve_forever() to return: call it off this thread's path.
                threading.Thread(target=self.server.shutdown, daemon=True).start()
                return

    def _send(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            self.wfile.flush()
            return True
        except OSError:
            return False  # the client left before reading its reply


def serve(server: CongestionServer, announce: Callable[[CongestionServer], None]) -> None:
    """Announce the bound address, then serve until a ``shutdown`` request or Ctrl-C."""
    announce(server)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


def _utf8(text: str) -> bytes:
    """``text`` as UTF-8; lone surrogates (which JSON can carry) are kept, not an error."""
    return text.encode("utf-8", "surrogatepass")


def log_to_stderr(message: str) -> None:
    sys.stderr.write(f"gsr-eda serve: {message}\n")
    sys.stderr.flush()
