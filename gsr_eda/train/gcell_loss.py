r"""The gcell term of the training loss (``TrainConfig.gcell_loss_weight``, ``--gcell-loss-weight``).

The gcell map a user reads is not a model output: :func:`gsr_eda.predict.core.gcell_map_of_cells`
builds it from the cell predictions, each gcell taking the max (or mean, the label's reduction) of
the standard cells whose boxes cover it. Trained on cells alone, a model is never told how that
map scores. The gcell term scores it: with :math:`P_g` the standard cells covering gcell :math:`g`
and :math:`G` the gcells some standard cell covers,

.. math::
    \hat z_g = \max_{i \in P_g} \hat z_i \ (\text{or the mean}), \qquad
    \mathcal L = (1 - \lambda)\,\mathcal L_{\text{cells}} + \lambda\,\mathcal L(\hat z_G, z_G),

where :math:`z_g` is the gcell label standardised with the design's cell statistics (the same
affine map as its cell targets, so both terms live on one scale) and :math:`\mathcal L` the
configured loss (MSE or 1 - Pearson). The max passes its gradient to the cells that attain it
(``torch.Tensor.scatter_reduce``). Macros are left out, as in the map: a macro's label is the
hottest gcell anywhere under it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gsr_eda.design.gcell import span_gcells
from gsr_eda.predict.normalization import Standardizer


@dataclass
class GcellTarget:
    """One design's covered gcells: the (cell, gcell) pairs of its standard cells and their labels."""

    cells: torch.Tensor  # (P,) int64: the cell of each pair
    gcells: torch.Tensor  # (P,) int64: the pair's gcell, an index into ``y``
    y: torch.Tensor  # (G,) float32: standardised gcell labels of the covered gcells
    reduce: str  # max | mean: how a gcell takes its cells' values (the label's reduction)

    @classmethod
    def of_record(
        cls, record, std: Standardizer, device: torch.device | str, train_nodes: np.ndarray | None = None
    ) -> GcellTarget | None:
        """The target of ``record`` (None without gcell labels or covered gcells).

        ``train_nodes`` (bool mask; None: all nodes train) in a split by node: only gcells that
        training cells alone cover are kept, so no validation cell's label leaks in, and the
        standardisation is fitted on the training cells, as for :meth:`Standardizer.target`.
        """
        if record.gcell_labels is None:
            return None
        standard = ~np.asarray(record.design.is_macro, dtype=bool)
        owner, gx, gy = span_gcells(record.cell_gcells[standard])
        cells = np.flatnonzero(standard)[owner]
        flat = gx * record.gcell_labels.shape[1] + gy
        fit_on = record.cell_labels
        if train_nodes is not None:
            touched_by_others = np.unique(flat[~train_nodes[cells]])
            keep = ~np.isin(flat, touched_by_others)
            cells, flat, fit_on = cells[keep], flat[keep], record.cell_labels[train_nodes]
        if cells.size == 0:
            return None
        covered, pair_gcell = np.unique(flat, return_inverse=True)
        labels = np.asarray(record.gcell_labels, dtype=np.float32).ravel()[covered]
        return cls(
            torch.from_numpy(cells.astype(np.int64)).to(device),
            torch.from_numpy(pair_gcell.astype(np.int64)).to(device),
            std.target(labels, device, fit_on=fit_on),
            "mean" if record.label_reduce == "mean" else "max",
        )

    def pool(self, cell_pred: torch.Tensor) -> torch.Tensor:
        """``(G,)``: each covered gcell's max (or mean) of the predictions of the cells covering it."""
        values = cell_pred[self.cells]
        fill = float("-inf") if self.reduce == "max" else 0.0
        out = torch.full_like(self.y, fill)
        reduce = "amax" if self.reduce == "max" else "mean"
        return out.scatter_reduce(0, self.gcells, values, reduce, include_self=False)
