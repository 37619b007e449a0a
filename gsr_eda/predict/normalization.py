r"""Feature and target standardisation, fitted on training data and saved with the model.

Features: :math:`\tilde x_{ij} = (x_{ij} - \mu_j) / \sigma_j`, targets
:math:`z_i = (y_i - \mu_y) / \sigma_y` for the loss; a statistic that is constant gets
:math:`\sigma = 1`. Each has a *scale*, where its :math:`\mu, \sigma` come from:

* ``pooled``: the mean and standard deviation over the *training* nodes of all training designs,
  fitted once and saved;
* ``design``: those of the design being read, computed on it every time (a new design at
  prediction time is standardised on its own features). For targets, the design's training
  nodes (all its nodes in a split by design).

Pooled statistics let one design's scale pass for signal: the same RUDY value means a hotspot
on one die and a quiet spot on another. A ridge regression on the stored features, left one of
six designs out, scored 0.43 Pearson on the held-out cells with pooled features and 0.62 with
each design's own (docs/training.md, "Unseen designs"). Predictions always go back to label
units with the pooled target statistics; with ``target_scale="design"`` the model learns each
design's relative congestion, so those units are the training set's typical scale, not the new
design's (its R^2 and MAE say little; Pearson and ranks are exact).

The standardiser is also the model's view of the stored features: ``columns`` names which
stored feature columns the model reads (by default training leaves out the absolute die
position, ``x_norm`` and ``y_norm``: where a hotspot sits on one die says nothing about another
die, and on CircuitNet the two correlate with the label with opposite signs on two designs).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch

#: Where standardisation statistics come from (module docstring).
SCALES = ("pooled", "design")


@dataclass
class Standardizer:
    """Per-feature mean/std for inputs and the scalar mean/std of the target."""

    feature_mean: np.ndarray  # (F,) float64
    feature_std: np.ndarray  # (F,) float64, > 0
    target_mean: float
    target_std: float  # > 0
    columns: np.ndarray | None = None  # (F_model,) int64: the stored columns the model reads; None: all
    feature_scale: str = "pooled"  # pooled | design (module docstring)
    target_scale: str = "pooled"  # pooled | design

    @staticmethod
    def moments(features: Iterable[np.ndarray], targets: Iterable[np.ndarray]) -> np.ndarray:
        """Exact float64 sums ``[n, sum x (F), sum x^2 (F), m, sum y, sum y^2]`` over chunks.

        Sums, not means, so ranks of a distributed job can add theirs before :meth:`from_moments`.
        """
        parts_x = [np.asarray(x, dtype=np.float64) for x in features]
        parts_y = [np.asarray(y, dtype=np.float64).ravel() for y in targets]
        if not parts_x:
            raise ValueError("no feature chunks to standardise")
        width = parts_x[0].shape[1]
        n = sum(x.shape[0] for x in parts_x)
        sx = sum((x.sum(0) for x in parts_x), np.zeros(width))
        sxx = sum((np.square(x).sum(0) for x in parts_x), np.zeros(width))
        m = sum(y.size for y in parts_y)
        sy = sum(float(y.sum()) for y in parts_y)
        syy = sum(float(np.square(y).sum()) for y in parts_y)
        return np.concatenate([[n], sx, sxx, [m, sy, syy]])

    @classmethod
    def from_moments(
        cls,
        moments: np.ndarray,
        columns: np.ndarray | None = None,
        *,
        feature_scale: str = "pooled",
        target_scale: str = "pooled",
    ) -> Standardizer:
        moments = np.asarray(moments, dtype=np.float64)
        width = (len(moments) - 4) // 2
        n, sx, sxx = moments[0], moments[1 : 1 + width], moments[1 + width : 1 + 2 * width]
        m, sy, syy = moments[-3:]
        if n == 0 or m == 0:
            raise ValueError("no training nodes to fit the standardisation on")
        mean = sx / n
        t_mean = sy / m
        return cls(
            mean,
            _unit_floor(np.sqrt(np.maximum(sxx / n - mean**2, 0.0))),
            float(t_mean),
            float(_unit_floor(np.sqrt(max(syy / m - t_mean**2, 0.0)))),
            None if columns is None else np.asarray(columns, dtype=np.int64),
            feature_scale,
            target_scale,
        )

    @classmethod
    def fit(cls, features: Iterable[np.ndarray], targets: Iterable[np.ndarray]) -> Standardizer:
        """Fit on chunks of training features ``(n_i, F)`` and targets ``(m_i,)``."""
        return cls.from_moments(cls.moments(features, targets))

    def select(self, x: np.ndarray) -> np.ndarray:
        """The columns of stored features ``(N, F)`` that the model reads, ``(N, F_model)``."""
        x = np.asarray(x)
        return x if self.columns is None else x[:, self.columns]

    def features(self, x: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
        """The model's input: the selected stored columns of one design, standardised, float32 on ``device``."""
        x = self.select(x).astype(np.float64)
        mean, std = column_moments(x) if self.feature_scale == "design" else (self.feature_mean, self.feature_std)
        return torch.from_numpy(((x - mean) / std).astype(np.float32)).to(device)

    def target(
        self, y: np.ndarray, device: torch.device | str = "cpu", fit_on: np.ndarray | None = None
    ) -> torch.Tensor:
        """One design's labels as the loss sees them; ``fit_on``: the labels its per-design statistics
        come from (default ``y``; its training nodes in a split by node)."""
        y = np.asarray(y, dtype=np.float64)
        if self.target_scale == "design":
            mean, std = column_moments(y if fit_on is None else np.asarray(fit_on, dtype=np.float64))
        else:
            mean, std = self.target_mean, self.target_std
        return torch.from_numpy(((y - mean) / std).astype(np.float32)).to(device)

    def untarget(self, z: torch.Tensor) -> np.ndarray:
        """Model output back to label units, as float32 numpy."""
        return (z.detach().double().cpu().numpy() * self.target_std + self.target_mean).astype(np.float32)

    def to_state(self) -> dict:
        state = {
            "feature_mean": torch.from_numpy(self.feature_mean.astype(np.float64)),
            "feature_std": torch.from_numpy(self.feature_std.astype(np.float64)),
            "target_mean": float(self.target_mean),
            "target_std": float(self.target_std),
        }
        if self.columns is not None:
            state["columns"] = torch.from_numpy(self.columns.astype(np.int64))
        return state | {"feature_scale": self.feature_scale, "target_scale": self.target_scale}

    @classmethod
    def from_state(cls, state: dict) -> Standardizer:
        return cls(
            state["feature_mean"].numpy().astype(np.float64),
            state["feature_std"].numpy().astype(np.float64),
            float(state["target_mean"]),
            float(state["target_std"]),
            state["columns"].numpy().astype(np.int64) if "columns" in state else None,  # older checkpoints: all
            str(state.get("feature_scale", "pooled")),  # older checkpoints: pooled
            str(state.get("target_scale", "pooled")),
        )


def column_moments(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of ``values`` over axis 0 (one design's own statistics)."""
    return values.mean(0), _unit_floor(values.std(0))


def _unit_floor(std: np.ndarray | float) -> np.ndarray:
    """A (near-)constant column's deviation set to 1, so it is centred, never divided by zero."""
    return np.where(np.asarray(std) < 1e-12, 1.0, std)
