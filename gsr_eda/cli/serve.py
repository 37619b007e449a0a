"""``gsr-eda serve``: keep a model loaded and answer congestion queries from Tcl flows over TCP."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Optional

import typer

from gsr_eda.cli.app import app
from gsr_eda.cli.manual import manual_page
from gsr_eda.errors import InputError


@app.command()
@manual_page
def serve(
    checkpoint: Path = typer.Option(..., "--checkpoint", "-c", help="Trained checkpoint (.pt file or run folder)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on. Loopback unless --allow-remote."),
    port: int = typer.Option(0, "--port", min=0, max=65535, help="TCP port; 0 picks a free one (printed at startup)."),
    allow_remote: bool = typer.Option(False, "--allow-remote", help="Allow a non-loopback --host. Requires --token."),
    token: Optional[str] = typer.Option(
        None,
        "--token",
        envvar="GSR_EDA_TOKEN",
        help='Shared secret every request must carry as "token" (also read from $GSR_EDA_TOKEN).',
    ),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:N or auto."),
    out_dir: Optional[Path] = typer.Option(
        None,
        "--out-dir",
        help="Where 'estimate' writes results when a request names no 'out' (default: a temp folder).",
    ),
    threshold: float = typer.Option(
        0.9,
        "--threshold",
        help="Default hotspot threshold of 'estimate' in the checkpoint's label units (as predict's --hotspot-threshold).",
    ),
    root: Optional[Path] = typer.Option(
        None,
        "--root",
        file_okay=False,
        help="Confine every path a client names (DEF, LEFs, positions, out) to this folder; relative ones start there.",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log loads and errors (with file text) on stderr."),
    json_out: bool = typer.Option(False, "--json", help="Announce the bound address as one JSON line."),
) -> None:
    """Serve congestion estimates to Tcl flows (OpenROAD) as JSON lines over TCP.

    The model is loaded once; each design is read once (load_design) and
    kept resident with its static features and graph. A placement loop then
    sends update_positions (a re-written DEF, or a file of 'instance x y'
    lines in microns) and estimate, which writes <out>.cells.tsv (instance,
    score) and <out>.gcells.csv and replies with a summary (max, mean, p99,
    hotspot counts, the two paths).

    At startup one line on stdout announces the bound address:

      gsr-eda serve: listening on 127.0.0.1 port 40123

    or with --json: {"event": "listening", "host": "127.0.0.1", "port": 40123, ...}.
    The server runs until a shutdown request or Ctrl-C.

    Requests are one JSON object per line, each with an "id" (echoed in the
    reply) and an "op": health, designs, load_design, update_positions,
    estimate, unload_design, shutdown. Errors come back as replies
    {"id": .., "ok": false, "error": ".."} and the server keeps serving.
    Paths in requests are opened by the server: send absolute paths.
    Protocol and Tcl procs: docs/flows.md, flows/openroad/gsr_eda.tcl.

    Security: the server reads and writes any path a client names, unless
    --root confines them to one folder; error replies never quote a file's
    text. A design name must be a plain file name for estimates that go to
    --out-dir. It listens on loopback only unless --allow-remote is given,
    which requires --token. docs/flows.md lists every path it touches.

    Example (then, in OpenROAD: source flows/openroad/gsr_eda.tcl):

      gsr-eda serve --checkpoint runs/gsr/best.pt --port 40123 \\
        --out-dir congestion/
    """
    from gsr_eda.flow.server import CongestionServer, log_to_stderr
    from gsr_eda.flow.server import serve as run_server
    from gsr_eda.predict.predictor import load_predictor

    predictor = load_predictor(checkpoint, device=device)
    results = out_dir if out_dir is not None else Path(tempfile.mkdtemp(prefix="gsr-eda-serve-"))
    try:
        server = CongestionServer(
            predictor,
            checkpoint=str(checkpoint),
            host=host,
            port=port,
            token=token,
            allow_remote=allow_remote,
            out_dir=results,
            threshold=threshold,
            root=root,
            log=log_to_stderr if verbose else None,
        )
    except OSError as err:
        raise InputError(f"cannot listen on {host} port {port}: {err.strerror}") from None

    def announce(srv: CongestionServer) -> None:
        if json_out:
            line = json.dumps({"event": "listening", "host": srv.host, "port": srv.port, "out_dir": str(results)})
        else:
            line = f"gsr-eda serve: listening on {srv.host} port {srv.port}"
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    try:
        run_server(server, announce)
    except KeyboardInterrupt:
        pass
