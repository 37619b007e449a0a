"""Command help reflowed for the terminal: prose wraps once, examples keep their lines."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from gsr_eda.cli import app
from gsr_eda.cli.manual import reflow

COLUMNS = 80
# Prose lines wrapped by the terminal are nearly full: 78 columns less at most one long word.
SHORTEST_WRAPPED_PROSE = 45


def test_reflow_joins_prose_and_keeps_verbatim_lines():
    text = """First line.

        A paragraph wrapped
        in the source.

        Example:

          tool run --a \\
            --b
        - item one
          still item one
        - item two
        """
    assert reflow(text) == (
        "First line.\n\nA paragraph wrapped in the source.\n\nExample:\n\n"
        "  tool run --a \\\n    --b\n- item one\n  still item one\n- item two"
    )


def _description(command: list[str]) -> list[str]:
    """The rendered help between the usage line and the first option panel, right-stripped."""
    result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": str(COLUMNS), "TERMINAL_WIDTH": None})
    assert result.exit_code == 0, result.output
    lines = [line.rstrip() for line in result.output.splitlines()]
    assert max(len(line) for line in lines) <= COLUMNS
    start = next(k for k, line in enumerate(lines) if "Usage:" in line) + 1
    stop = next(k for k, line in enumerate(lines) if line.startswith("╭"))
    return lines[start:stop]


def _paragraphs(lines: list[str]) -> list[list[str]]:
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line:
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


@pytest.mark.parametrize(
    "command",
    [
        ["ingest"],
        ["ingest", "design"],
        ["ingest", "circuitnet"],
        ["ingest", "manifest"],
        ["info"],
        ["synth"],
        ["route"],
        ["serve"],
    ],
)
def test_help_reads_like_a_manual_at_80_columns(command: list[str]):
    paragraphs = _paragraphs(_description(command))
    assert len(paragraphs) >= 3, "a summary line, a description and an example"
    for paragraph in paragraphs:
        indent = len(paragraph[0]) - len(paragraph[0].lstrip())
        if indent > 1:
            # Verbatim (examples, JSON): no line may have been wrapped by the terminal.
            assert all(len(line) - len(line.lstrip()) > 1 for line in paragraph), paragraph
        else:
            # Prose: only the last line of a paragraph may be short (no hard breaks left in it).
            assert all(len(line) >= SHORTEST_WRAPPED_PROSE for line in paragraph[:-1]), paragraph
    examples = [line.strip() for p in paragraphs if p[0].startswith("   ") for line in p]
    assert any(line.startswith(f"gsr-eda {command[0]}") for line in examples), "an example of the command"
