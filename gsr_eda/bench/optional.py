"""psutil, which only the benchmarks need: it is the ``bench`` extra (``pip install 'gsr-eda[bench]'``)."""

from __future__ import annotations

from types import ModuleType

from gsr_eda.errors import EXIT_USAGE, GsrEdaError


class MissingExtra(GsrEdaError):
    """A command needs an optional dependency that is not installed (exit code 2, like a usage error)."""

    exit_code = EXIT_USAGE


def psutil() -> ModuleType:
    """The ``psutil`` module (process memory, machine facts), or :class:`MissingExtra` saying how to get it."""
    try:
        import psutil as module
    except ModuleNotFoundError:
        raise MissingExtra("the benchmarks need psutil: pip install 'gsr-eda[bench]'") from None
    return module
