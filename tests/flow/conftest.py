"""Fixtures for the flow hooks: a tiny DEF/LEF design written here, and a model trained on it.

The design is small (about 150 cells on a 10 x 10 gcell grid) so the whole flow-hook suite,
including training the checkpoint once per session, stays within a few seconds of CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tiny_flow_design import TinyDesign, make_tiny_design


@pytest.fixture(scope="session")
def tiny_design(tmp_path_factory) -> TinyDesign:
    return make_tiny_design(tmp_path_factory.mktemp("tiny_design"))


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_design: TinyDesign, tmp_path_factory) -> Path:
    """A 2-layer model trained for 2 epochs on the tiny design (label: its RUDY map)."""
    from gsr_eda.graph.gcell_maps import rudy_maps
    from gsr_eda.ingest import read_def_design
    from gsr_eda.ingest.build import build_record
    from gsr_eda.labels.label import GcellLabel
    from gsr_eda.store.writer import write_designs
    from gsr_eda.train import TrainConfig, train

    folder = tmp_path_factory.mktemp("tiny_model")
    design = read_def_design(tiny_design.def_path, tiny_design.lefs)
    rudy, _ = rudy_maps(design, design.x, design.y)
    label = GcellLabel(rudy.astype(np.float32), "rudy", "proxy", True, "test label: RUDY of the placement")
    store = folder / "tiny.h5"
    write_designs(store, [build_record(design, label=label)])
    config = TrainConfig(
        store=str(store),
        model="sage",
        hidden=16,
        layers=2,
        groups=2,
        k=4,
        epochs=2,
        patience=5,
        split="node",
        num_threads=1,
    )
    train(config, folder / "run", log=lambda _msg: None, show_progress=False)
    return folder / "run" / "best.pt"


@dataclass
class RunningServer:
    """A `gsr-eda serve` subprocess: where it listens and where it writes by default."""

    host: str
    port: int
    out_dir: Path
    process: object


@pytest.fixture(scope="session")
def served(tiny_checkpoint: Path, tmp_path_factory) -> RunningServer:
    """`gsr-eda serve --port 0` in a subprocess, stopped with a shutdown request at the end."""
    import json
    import os
    import socket
    import subprocess
    import sys

    out_dir = tmp_path_factory.mktemp("served")
    exe = Path(sys.executable).with_name("gsr-eda")
    proc = subprocess.Popen(
        [str(exe), "serve", "--checkpoint", str(tiny_checkpoint), "--port", "0", "--json", "--out-dir", str(out_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=10)
        pytest.fail(f"gsr-eda serve did not start: {proc.stderr.read()}")
    announced = json.loads(line)
    assert announced["event"] == "listening"
    server = RunningServer(announced["host"], int(announced["port"]), out_dir, proc)
    yield server
    try:
        with socket.create_connection((server.host, server.port), timeout=10) as sock:
            sock.sendall(b'{"id": "bye", "op": "shutdown"}\n')
            sock.recv(4096)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
