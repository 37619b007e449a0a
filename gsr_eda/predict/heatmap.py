"""Heatmap PNG of predicted congestion: die outline, macros, and the per-gcell map."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gsr_eda.atomic import atomic_open
from gsr_eda.predict.core import DesignPrediction


def plot_heatmap(
    pred: DesignPrediction, path: str | Path, *, hotspot_threshold: float | None = None, title: str | None = None
) -> None:
    """Draw the gcell map in microns (x right, y up), uncovered gcells blank, macros outlined.

    With ``hotspot_threshold``, gcells above it are contoured so hotspots stand out.
    """
    # matplotlib costs about half a second to import, so only a call that draws pays for it;
    # the Agg backend (no display) must be chosen before pyplot is imported.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    design = pred.design
    xe, ye = design.grid.x_edges, design.grid.y_edges
    shown = np.ma.masked_where(~pred.covered, pred.gcell_map)
    x0, y0, x1, y1 = design.die
    aspect = (y1 - y0) / max(x1 - x0, 1e-9)
    fig, ax = plt.subplots(figsize=(7.5, max(3.0, min(12.0, 6.5 * aspect))), constrained_layout=True)
    ax.set_facecolor("0.93")  # gcells no cell covers: no prediction
    # pcolormesh takes C indexed [row=y, col=x]: the map is [x, y], hence the transpose.
    mesh = ax.pcolormesh(xe, ye, shown.T, cmap="inferno", shading="flat")
    fig.colorbar(mesh, ax=ax, label=f"predicted congestion ({pred.label_reduce} over cells)")
    if hotspot_threshold is not None and np.any(pred.gcell_map[pred.covered] > hotspot_threshold):
        cx = 0.5 * (xe[:-1] + xe[1:])
        cy = 0.5 * (ye[:-1] + ye[1:])
        ax.contour(cx, cy, (pred.gcell_map * pred.covered).T, levels=[hotspot_threshold], colors="cyan", linewidths=0.8)
    for i in np.flatnonzero(design.is_macro):
        ax.add_patch(
            Rectangle(
                (design.x[i], design.y[i]),
                design.width[i],
                design.height[i],
                fill=False,
                edgecolor="deepskyblue",
                linewidth=1.2,
                hatch="//",
            )
        )
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="white", linewidth=1.5))
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="black", linewidth=0.6))
    margin = 0.02 * max(x1 - x0, y1 - y0)
    ax.set_xlim(x0 - margin, x1 + margin)
    ax.set_ylim(y0 - margin, y1 + margin)
    ax.set_aspect("equal")
    ax.set_xlabel("x (um)")
    ax.set_ylabel("y (um)")
    n_macros = int(np.count_nonzero(design.is_macro))
    ax.set_title(
        title or f"{design.name}: predicted congestion" + (f" ({n_macros} macros outlined)" if n_macros else "")
    )
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, dpi=120, format="png")
    plt.close(fig)
