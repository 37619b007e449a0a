"""Errors that reach the user as one clear line and a meaningful exit code.

Exit codes of the ``gsr-eda`` command:

====  ==========================================================================
0     success
1     unexpected internal error (a bug: please report it with the traceback)
2     command-line usage error (unknown option, missing argument; from click)
3     bad input: a file is missing, malformed, corrupt, or does not fit
4     gate tripped: ``predict --fail-above`` found too many hotspots
====  ==========================================================================
"""

from __future__ import annotations

import errno
from pathlib import Path

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_GATE = 4


class GsrEdaError(Exception):
    """Base class: an error the user can act on, reported as one line."""

    exit_code: int = EXIT_BAD_INPUT


class InputError(GsrEdaError):
    """A user-supplied file or value is missing, malformed or inconsistent.

    The message names the file (when there is one) and the problem. ``detail`` is text quoted
    from the file itself (a parser's failing token): it ends the message for the user who ran
    the command, and :attr:`without_detail` leaves it out for the server's replies, which must
    not show a client the contents of files only the server may read.
    """

    def __init__(self, problem: str, path: str | Path | None = None, *, detail: str | None = None) -> None:
        self.path = None if path is None else Path(path)
        self.problem = problem
        self.detail = detail
        where = f"{self.path}: " if self.path is not None else ""
        super().__init__(f"{where}{problem}" + (f": {detail}" if detail else ""))

    @property
    def without_detail(self) -> str:
        """The message without the text quoted from the file."""
        where = f"{self.path}: " if self.path is not None else ""
        return f"{where}{self.problem}" + (" (the file's text is not shown)" if self.detail else "")


class InputWarning(UserWarning):
    """Input that is usable but probably not what the user meant (one line, naming the file).

    The ``gsr-eda`` command prints it as ``gsr-eda: warning: <message>``.
    """


#: ``errno`` values that mean "this file cannot be written here", not a bug.
CANNOT_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG})


def os_error_reason(err: OSError) -> str:
    """``err`` as the user should read it, lower case: "no space left on device" for a full disk."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return "no space left on device"
    return (err.strerror or str(err)).lower()
