"""``gsr-eda predict``: congestion of a placed design from a trained model (files, heatmap, gate)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from gsr_eda.cli.app import app, emit_json
from gsr_eda.errors import EXIT_GATE, InputError

# The model, readers and store are imported by the steps that use them, so `--help` and usage
# errors answer without loading torch.
if TYPE_CHECKING:
    import numpy as np

    from gsr_eda.design import PlacedDesign
    from gsr_eda.predict import DesignPrediction, Predictor


@app.command()
def predict(
    checkpoint: Path = typer.Option(..., "--checkpoint", "-c", help="Checkpoint file, or a run folder (its best.pt)."),
    store: Optional[Path] = typer.Option(None, "--store", "-s", dir_okay=False, help="Graph store holding --design."),
    design: Optional[str] = typer.Option(None, "--design", help="Design name in --store."),
    def_path: Optional[Path] = typer.Option(
        None, "--def", dir_okay=False, help="Placed DEF to predict (instead of --store)."
    ),
    lef: Optional[list[Path]] = typer.Option(
        None, "--lef", dir_okay=False, help="LEF for --def; repeat for technology and cell LEFs (technology first)."
    ),
    include_io_pins: bool = typer.Option(
        False,
        "--include-io-pins",
        help="With --def: add IO pins as nodes (use the setting the training designs were ingested with).",
    ),
    gcell_tracks: int = typer.Option(
        15, "--gcell-tracks", min=1, help="With --def: tracks per gcell side when the DEF has no GCELLGRID."
    ),
    out: Optional[Path] = typer.Option(
        None,
        "--out",
        "-o",
        dir_okay=False,
        help="Per-cell predictions (.csv name,prediction | .npy | .json); the per-gcell map goes next to it as OUT.gcell.EXT.",
    ),
    heatmap: Optional[Path] = typer.Option(
        None, "--heatmap", dir_okay=False, help="Write a PNG heatmap (die, macros, predicted congestion)."
    ),
    hotspot_threshold: float = typer.Option(
        0.9,
        "--hotspot-threshold",
        help="A gcell whose predicted congestion exceeds this is a hotspot. In label units, or for a model "
        "trained with --target-scale design (the default) on the training designs' typical scale: its "
        "values rank gcells within the design (summary 'values': relative).",
    ),
    fail_above: Optional[float] = typer.Option(
        None,
        "--fail-above",
        help="Pipeline gate: exit with code 4 when the hotspot fraction (of covered gcells) exceeds this value.",
    ),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda (cuda:N) or auto."),
    json_out: bool = typer.Option(
        False, "--json", help="Print the summary (max, mean, hotspot fraction, files) as JSON."
    ),
) -> None:
    """Predict routing congestion of a placed design with a trained model.

    The design comes from a graph store (--store S.h5 --design NAME) or from a placed DEF with its LEFs (--def D --lef TECH.lef --lef CELLS.lef), read by the same ingest code as training data (no labels needed). The graph is built with the net model the checkpoint was trained on, and the features must match its feature schema.

    Outputs: per-cell predictions (--out), the per-gcell map (the label's max/mean over the cells covering each gcell) next to it, a heatmap (--heatmap), and a summary: max, mean, and the hotspot fraction, the share of covered gcells above --hotspot-threshold. The default threshold 0.9 suits utilisation-like labels (demand/capacity, overflow at 1); set it in your label's units.

    Exit codes: 0 ok, 3 bad input, 4 when --fail-above is given and the hotspot fraction exceeds it.

    Examples:

      gsr-eda predict -c runs/gsr64 --store designs.h5 --design aes \\
        --out aes.csv --heatmap aes.png

      gsr-eda predict -c runs/gsr64 --def top.def --lef tech.lef \\
        --lef cells.lef --json --fail-above 0.02
    """
    from gsr_eda.predict import predict_design
    from gsr_eda.predict.checkpoint import check_feature_schema, resolve_checkpoint_path
    from gsr_eda.predict.predictor import load_predictor

    _check_options(store, design, def_path, lef, fail_above, out, heatmap)
    ck_path = resolve_checkpoint_path(checkpoint)
    predictor = load_predictor(ck_path, device)
    if def_path is None:
        inputs = _from_store(predictor, store, design)
    else:
        inputs = _from_def(predictor, def_path, lef, include_io_pins, gcell_tracks)
    check_feature_schema(
        {"feature_names": predictor.feature_names},
        inputs.feature_names,
        what=f"design {inputs.design.name!r}",
        path=ck_path,
    )
    pred = predict_design(predictor, inputs.design, inputs.indptr, inputs.indices, inputs.features)
    summary = pred.summary(hotspot_threshold) | {
        "source": inputs.source,
        "checkpoint": str(ck_path),
        "values": predictor.values,
        "gcell_map": predictor.gcell_map_source,
    }
    summary["files"] = _write_outputs(pred, out, heatmap, hotspot_threshold)
    gate_tripped = fail_above is not None and summary["hotspot_fraction"] > fail_above
    summary["gate"] = None if fail_above is None else {"fail_above": fail_above, "tripped": gate_tripped}
    _report(summary, hotspot_threshold, json_out)
    if gate_tripped:
        typer.echo(
            f"gsr-eda: gate: hotspot fraction {summary['hotspot_fraction']:.4f} exceeds --fail-above {fail_above}",
            err=True,
        )
        raise typer.Exit(EXIT_GATE)


@dataclass
class _Inputs:
    """A design to predict: its graph in the checkpoint's net model and its raw node features."""

    design: PlacedDesign
    indptr: np.ndarray  # (N + 1,)
    indices: np.ndarray  # (nnz,)
    features: np.ndarray  # (N, F) float32
    feature_names: list[str]
    source: str


def _check_options(
    store: Path | None,
    design: str | None,
    def_path: Path | None,
    lef: list[Path] | None,
    fail_above: float | None,
    out: Path | None,
    heatmap: Path | None,
) -> None:
    """Usage errors, before the model loads."""
    from_store = store is not None or design is not None
    if from_store == (def_path is not None):
        raise InputError("give either --store and --design, or --def with --lef")
    if from_store and (store is None or design is None):
        raise InputError("--store and --design go together")
    if def_path is not None and not lef:
        raise InputError("--def needs at least one --lef (technology first, then cells)", def_path)
    if fail_above is not None and not 0.0 <= fail_above <= 1.0:
        raise InputError(f"--fail-above is a fraction in [0, 1], got {fail_above}")
    if out is not None:
        from gsr_eda.predict.outputs import check_output_path

        check_output_path(out)
    if heatmap is not None and heatmap.suffix.lower() != ".png":
        raise InputError("the heatmap is written as PNG: give a .png file name", heatmap)
    if heatmap is not None and not heatmap.parent.is_dir():
        raise InputError("the heatmap's folder does not exist", heatmap.parent)


def _from_store(predictor: Predictor, store: Path, design: str) -> _Inputs:
    """A stored design, whose graph must have been built with the checkpoint's net model."""
    from gsr_eda.store import GraphStore

    if not store.exists():
        raise InputError("graph store not found", store)
    with GraphStore(store) as gs:
        record = gs.read(design)
    predictor.check_graph_options(record.net_model, record.net_cap, what=f"design {design!r}", path=store)
    return _Inputs(
        record.design, record.indptr, record.indices, record.features, record.feature_names, source=f"{store}:{design}"
    )


def _from_def(
    predictor: Predictor, def_path: Path, lef: list[Path], include_io_pins: bool, gcell_tracks: int
) -> _Inputs:
    """A placed DEF read by the ingest reader, its graph built with the checkpoint's net model."""
    from gsr_eda.graph import build_adjacency, node_features
    from gsr_eda.ingest import read_def_design

    placed = read_def_design(def_path, lef, include_io_pins=include_io_pins, gcell_tracks=gcell_tracks)
    indptr, indices = build_adjacency(placed, net_model=predictor.net_model, cap=predictor.net_cap)
    feats = node_features(placed)
    return _Inputs(placed, indptr, indices, feats.values, list(feats.names), source=str(def_path))


def _write_outputs(
    pred: DesignPrediction, out: Path | None, heatmap: Path | None, hotspot_threshold: float
) -> dict[str, str]:
    """Write the asked-for files; returns what was written, by kind."""
    from gsr_eda.predict import plot_heatmap, write_prediction

    files = {}
    if out is not None:
        cells_file, grid_file = write_prediction(pred, out)
        files |= {"cells": str(cells_file), "gcells": str(grid_file)}
    if heatmap is not None:
        plot_heatmap(pred, heatmap, hotspot_threshold=hotspot_threshold)
        files["heatmap"] = str(heatmap)
    return files


def _report(summary: dict, hotspot_threshold: float, json_out: bool) -> None:
    """The summary as JSON, or as one line plus the files written."""
    if json_out:
        emit_json(summary)
        return
    typer.echo(
        f"{summary['design']}: {summary['cells']:,} cells, {summary['gcells_covered']:,} covered gcells; "
        f"predicted max {summary['gcell_max']:.4g}, mean {summary['gcell_mean']:.4g}; "
        f"hotspots (> {hotspot_threshold:g}): {summary['hotspot_gcells']:,} gcells "
        f"({100 * summary['hotspot_fraction']:.2f}%)"
    )
    if summary["values"] == "relative":
        typer.echo(
            "  values are relative: the model learnt each design's congestion against its own mean "
            "(--target-scale design), shown on the training designs' typical scale"
        )
    for what, path in summary["files"].items():
        typer.echo(f"  {what}: {path}")
