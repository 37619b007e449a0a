"""The ``gsr-eda`` command line: one module per command, registered on one typer app.

Command modules import heavy libraries (torch, h5py) inside the command
functions, so ``gsr-eda --help`` and light commands start fast.
"""

from __future__ import annotations

from gsr_eda.cli.app import app, main

# Each import registers its commands on ``app``, in the order ``--help`` lists them:
# the data flow from designs to predictions, then the tools around it.
# isort: off
from gsr_eda.cli import synth  # noqa: F401,E402
from gsr_eda.cli import route  # noqa: F401,E402
from gsr_eda.cli import ingest  # noqa: F401,E402
from gsr_eda.cli import info  # noqa: F401,E402
from gsr_eda.cli import train  # noqa: F401,E402
from gsr_eda.cli import evaluate  # noqa: F401,E402
from gsr_eda.cli import predict  # noqa: F401,E402
from gsr_eda.cli import serve  # noqa: F401,E402
from gsr_eda.cli import bench  # noqa: F401,E402
from gsr_eda.cli import bench_train  # noqa: F401,E402
from gsr_eda.cli import version  # noqa: F401,E402
# isort: on

__all__ = ["app", "main"]
