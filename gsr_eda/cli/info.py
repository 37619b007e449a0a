"""``gsr-eda info``: what a graph store holds."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer

from gsr_eda.cli.app import app, emit_json
from gsr_eda.cli.manual import manual_page


@app.command()
@manual_page
def info(
    store: Path = typer.Argument(..., help="Graph store (.h5) written by `gsr-eda ingest`.", dir_okay=False),
    design: Optional[str] = typer.Option(
        None, "--design", "-d", help="Show one design in detail: features with units, label, metadata."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the listing as JSON on stdout."),
) -> None:
    """List the designs in a graph store: sizes, features, label and grid.

    For each design: nodes, undirected edges, nets, pins, net model, feature count, the label
    (name, source file, and whether it is a proxy estimate rather than router output), gcell
    grid shape and die box in microns. --design NAME adds feature names with units, the label
    description and the ingest metadata (source files, options, reader report).

    Only attributes and dataset shapes are read, so this is fast on large stores. A missing,
    corrupt or foreign file, or a store written by a newer gsr-eda, prints one line and exits
    with status 3.

    Examples:

      gsr-eda info designs.h5

      gsr-eda info designs.h5 --design aes_cipher_top --json
    """
    from gsr_eda.store import GraphStore

    with GraphStore(store) as graph_store:
        names = [design] if design is not None else graph_store.designs
        payload: dict[str, Any] = {
            "store": str(store),
            "schema_version": graph_store.schema_version,
            "tool_version": graph_store.tool_version,
            "design_count": len(graph_store.designs),
            "designs": [graph_store.summary(name) for name in names],
        }
    if json_out:
        emit_json(payload)
        return
    _print(payload, detailed=design is not None)


def _print(payload: dict[str, Any], *, detailed: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    # Piped output gets full-width lines rather than rich's 80-column default.
    console = Console(width=None if sys.stdout.isatty() else 200, markup=False)
    console.print(
        f"{payload['store']}: gsr-eda graph store, schema version {payload['schema_version']} "
        f"(written by gsr-eda {payload['tool_version']}), {payload['design_count']} design(s)",
        highlight=False,
    )
    if not payload["designs"]:
        return
    table = Table(show_edge=False, header_style="bold")
    for column, justify in [
        ("design", "left"),
        ("nodes", "right"),
        ("edges", "right"),
        ("nets", "right"),
        ("net model", "left"),
        ("features", "right"),
        ("label", "left"),
        ("grid", "right"),
        ("die (um)", "right"),
    ]:
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for s in payload["designs"]:
        label = s["label"]
        label_text = "-" if label is None else label["name"] + (" [proxy]" if label["is_proxy"] else "")
        model = s["net_model"] + (f" {s['net_cap']}" if s["net_model"] in ("capped-clique", "cell-net") else "")
        if s.get("net_nodes") is not None:
            model += f" ({s['net_nodes']:,} net nodes)"
        x0, y0, x1, y1 = s["die_um"]
        table.add_row(
            s["name"],
            f"{s['nodes']:,}",
            f"{s['edges']:,}",
            f"{s['nets']:,}",
            model,
            str(len(s["features"])),
            label_text,
            "{} x {}".format(*s["grid_shape"]),
            f"{x1 - x0:.1f} x {y1 - y0:.1f}",
        )
    console.print(table)
    if detailed:
        for s in payload["designs"]:
            _print_detail(console, s)


def _print_detail(console, s: dict[str, Any]) -> None:
    meta = s["metadata"]
    units = meta.get("feature_units", {})
    console.print(
        f"\n{s['name']}: {s['pins']:,} pins, {s['io_pins']:,} IO pins, "
        f"DBU/um {s['dbu_per_micron']:g}, stored split: {'yes' if s['has_split'] else 'no'}",
        highlight=False,
    )
    console.print("features: " + ", ".join(f"{n} [{units.get(n, '?')}]" for n in s["features"]), highlight=False)
    label = s["label"]
    if label is None:
        console.print("label: none")
    else:
        kind = "proxy estimate" if label["is_proxy"] else "router output"
        console.print(
            f"label: {label['name']} ({kind}, cell = {label['reduce']} over its gcells), source {label['source']}",
            highlight=False,
        )
        if meta.get("label_description"):
            console.print(f"  {meta['label_description']}", highlight=False)
    for key in ("sources", "ingest_options", "report"):
        if meta.get(key):
            console.print(f"{key.replace('_', ' ')}: {meta[key]}", highlight=False)
