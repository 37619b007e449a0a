"""Learning-curve figure of a training run (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import math
from pathlib import Path

from gsr_eda.atomic import atomic_open


def plot_learning_curves(history: list[dict[str, float]], path: str | Path, *, monitor: str = "pearson") -> None:
    """Two panels: train/val loss per epoch (log scale), and the validation correlations."""
    # matplotlib costs about half a second to import, so only a call that draws pays for it;
    # the Agg backend (no display) must be chosen before pyplot is imported.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    fig, (ax_loss, ax_corr) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    ax_loss.plot(epochs, [row["train_loss"] for row in history], marker="o", label="train")
    ax_loss.plot(epochs, [row["val_loss"] for row in history], marker="o", label="validation")
    if all(row["train_loss"] > 0 and row["val_loss"] > 0 for row in history):
        ax_loss.set_yscale("log")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("MSE (standardised target)")
    ax_loss.set_title("loss")
    ax_loss.legend()
    for key in ("pearson", "spearman", "kendall", "r2"):
        values = [row[f"val_{key}"] for row in history]
        ax_corr.plot(
            epochs,
            [math.nan if v is None else v for v in values],
            marker="o",
            label=key,
            linewidth=2.5 if key == monitor else 1.2,
        )
    ax_corr.set_xlabel("epoch")
    ax_corr.set_title("validation metrics")
    ax_corr.axhline(0.0, color="0.7", linewidth=0.8)
    ax_corr.legend()
    for ax in (ax_loss, ax_corr):
        ax.grid(True, alpha=0.3)
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, dpi=110, format="png")
    plt.close(fig)
