"""Command help that reads like a manual page at any terminal width.

Typer's rich help keeps every line break of a docstring, so a docstring wrapped at 100
columns in the source comes out as long lines broken again at 80, with stubs in between.
:func:`reflow` joins the lines of each prose paragraph so that the terminal wraps them once;
indented lines (examples, JSON) and ``- `` list items keep their own lines.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TypeVar

Command = TypeVar("Command", bound=Callable[..., object])


def reflow(text: str) -> str:
    """Dedent ``text`` and join the lines of each paragraph (paragraphs end at blank lines).

    A line that starts with whitespace (after dedenting) or with ``- `` starts a new line of
    its own; any other line continues the one before it.
    """
    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        lines: list[str] = []
        for line in paragraph.splitlines():
            if lines and line and not line[0].isspace() and not line.startswith("- ") and not lines[-1][:1].isspace():
                lines[-1] = f"{lines[-1]} {line.strip()}"
            else:
                lines.append(line.rstrip())
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def manual_page(command: Command) -> Command:
    """Decorator: reflow a command function's docstring, which typer shows as its ``--help``.

    Apply it below ``@app.command(...)`` so that typer registers the reflowed text.
    """
    command.__doc__ = reflow(command.__doc__ or "")
    return command
