r"""The gcell head: a linear output on the gcell grid over the model's map and the free estimates.

The plain gcell map takes, per gcell, the max (or mean) of the cell predictions of the standard
cells covering it, and that mapping caps it: even the exact cell labels, mapped so, score about
0.79 on the proxy labels (docs/training.md, "The gcell map"). The head reads, at each covered
gcell :math:`g`, the model's mapped value :math:`m_g` and the model-free maps a user already has,
RUDY :math:`r_g`, pin RUDY :math:`p_g` and cell density :math:`\rho_g`, each standardised over
the design's covered gcells (:math:`z(\cdot)`), and returns

.. math::
    \hat y_g = \bar m + s_m \left(w_r z(r)_g + w_p z(p)_g + w_\rho z(\rho)_g + w_m z(m)_g + b\right),

in the units of the model's own map (its mean :math:`\bar m` and standard deviation :math:`s_m`
over the covered gcells), so the cells and the gcells of one prediction stay comparable. The
weights are fitted by least squares on the standardised gcell labels of designs the model did
not train on (``gsr-eda train --gcell-head``: the validation designs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gsr_eda.design import PlacedDesign
from gsr_eda.graph.features import POSITION_MAPS, position_maps

#: The head's inputs, in the order of its weights.
HEAD_INPUTS = ("rudy", "pin_rudy", "density", "model")


def zscore(values: np.ndarray) -> np.ndarray:
    """``(values - mean) / std`` over the array; zeros for a constant one."""
    std = values.std()
    return (values - values.mean()) / std if std > 0 else np.zeros_like(values)


def head_inputs(maps: np.ndarray, model_map: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """``(G, 4)``: the standardised inputs of the covered gcells, in :data:`HEAD_INPUTS` order.

    ``maps`` is :func:`gsr_eda.graph.features.position_maps`'s ``(3, nx, ny)`` stack.
    """
    by_name = dict(zip(POSITION_MAPS, maps))
    columns = [by_name[name][covered] for name in HEAD_INPUTS[:-1]] + [model_map[covered]]
    return np.stack([zscore(np.asarray(c, dtype=np.float64)) for c in columns], axis=1)


@dataclass(frozen=True)
class GcellHead:
    """Fitted weights (:data:`HEAD_INPUTS` order) and bias of the head."""

    weights: tuple[float, ...]
    bias: float

    @classmethod
    def fit(cls, samples: list[tuple[np.ndarray, np.ndarray]]) -> GcellHead:
        """Least squares over ``(inputs (G, 4), gcell labels (G,))`` pairs, each label vector
        standardised on its own design."""
        x = np.concatenate([inputs for inputs, _ in samples])
        y = np.concatenate([zscore(np.asarray(labels, dtype=np.float64)) for _, labels in samples])
        solution, *_ = np.linalg.lstsq(np.column_stack([x, np.ones(len(x))]), y, rcond=None)
        return cls(tuple(float(w) for w in solution[:-1]), float(solution[-1]))

    def apply(self, maps: np.ndarray, model_map: np.ndarray, covered: np.ndarray) -> np.ndarray:
        """The head's gcell map ``(nx, ny)`` float32, in the model map's units (0 where not covered)."""
        values = model_map[covered].astype(np.float64)
        z = head_inputs(maps, model_map, covered) @ np.asarray(self.weights) + self.bias
        out = np.zeros(model_map.shape, dtype=np.float32)
        out[covered] = values.mean() + values.std() * z
        return out

    def apply_to_design(
        self, design: PlacedDesign, model_map: np.ndarray, covered: np.ndarray, spans: np.ndarray | None = None
    ) -> np.ndarray:
        """:meth:`apply` with the free maps computed at the design's own positions (``spans``: its
        ``gcell_spans()``, when the caller has them)."""
        return self.apply(position_maps(design, design.x, design.y, spans=spans), model_map, covered)

    def to_state(self) -> dict:
        return {"inputs": list(HEAD_INPUTS), "weights": list(self.weights), "bias": self.bias}

    @classmethod
    def from_state(cls, state: dict) -> GcellHead:
        if list(state.get("inputs", [])) != list(HEAD_INPUTS):
            raise ValueError(f"gcell head inputs {state.get('inputs')!r}, expected {list(HEAD_INPUTS)}")
        return cls(tuple(float(w) for w in state["weights"]), float(state["bias"]))
