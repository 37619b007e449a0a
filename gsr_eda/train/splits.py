"""Train / validation / test splits: by design when there are enough designs, else by node masks.

* **By design** (3 or more labelled designs): the designs are shuffled with the seed and cut
  into test, validation and train sets (at least one design each). Every node of a design
  belongs to its design's split: this measures generalisation to unseen placements.
* **Held out by name** (``val_designs`` / ``test_designs``): the designs a user names validate
  and test the model; every other design trains it. This is the protocol that measures what a
  user gets on a design the model never saw (and the one the quality benchmark uses: leave one
  design out for test, another for early stopping). Named designs never train, whatever
  their count.
* **By node** (1 or 2 labelled designs): each design's nodes carry a mask (0 train, 1 val,
  2 test). Masks stored in the graph store are used when every design has them; otherwise
  masks are drawn with the seed (stratified by nothing, uniform per design).

The plan is always reported (``SplitPlan.describe``) and saved in the checkpoint.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np
import torch

TRAIN, VAL, TEST = 0, 1, 2
SPLIT_NAMES = {TRAIN: "train", VAL: "val", TEST: "test"}
MIN_DESIGNS_FOR_DESIGN_SPLIT = 3


@dataclass
class SplitPlan:
    """Which designs (and, for node splits, which nodes) train, validate and test the model."""

    mode: str  # "design" or "node"
    source: str  # "seeded", "stored" or "named" (held-out designs given by the user)
    seed: int
    train_designs: list[str]
    val_designs: list[str]
    test_designs: list[str]
    node_masks: dict[str, np.ndarray] = field(default_factory=dict)  # node mode: name -> (N,) int8

    def mask(self, name: str, split: int) -> np.ndarray | None:
        """Boolean node mask of ``split`` for a design, or ``None`` for "all nodes" (design split)."""
        if self.mode == "design":
            return None
        return self.node_masks[name] == split

    def check_node_counts(self, min_val_nodes: int = 1) -> None:
        """Raise ``ValueError`` when a node split leaves no training node or fewer than
        ``min_val_nodes`` validation nodes (a design too small to split)."""
        if self.mode != "node":
            return
        train, val = (sum(int((m == s).sum()) for m in self.node_masks.values()) for s in (TRAIN, VAL))
        if train < 1 or val < min_val_nodes:
            total = sum(len(m) for m in self.node_masks.values())
            raise ValueError(
                f"too small to split by node: {total:,} node(s) give {train:,} training and {val:,} validation "
                f"node(s); training needs at least 1 and {min_val_nodes} (use larger designs or a larger --val-fraction)"
            )

    def designs_for(self, split: int) -> list[str]:
        return {TRAIN: self.train_designs, VAL: self.val_designs, TEST: self.test_designs}[split]

    def describe(self) -> str:
        """One human-readable paragraph: the mode, its source and the sizes of each part."""
        if self.mode == "design":
            parts = [
                f"{SPLIT_NAMES[s]} {len(self.designs_for(s))} ({', '.join(self.designs_for(s))})"
                for s in (TRAIN, VAL, TEST)
            ]
            origin = "held-out designs named by the user" if self.source == "named" else f"seed {self.seed}"
            return f"split by design ({origin}): " + "; ".join(parts)
        counts = {s: sum(int((m == s).sum()) for m in self.node_masks.values()) for s in (TRAIN, VAL, TEST)}
        origin = "masks stored in the graph store" if self.source == "stored" else f"seeded masks (seed {self.seed})"
        return f"split by node over {len(self.node_masks)} design(s) with {origin}: " + ", ".join(
            f"{SPLIT_NAMES[s]} {counts[s]:,} nodes" for s in (TRAIN, VAL, TEST)
        )

    def to_state(self) -> dict:
        """A ``torch.load(weights_only=True)``-safe representation (lists, strings, tensors)."""
        return {
            "mode": self.mode,
            "source": self.source,
            "seed": self.seed,
            "train_designs": list(self.train_designs),
            "val_designs": list(self.val_designs),
            "test_designs": list(self.test_designs),
            "node_masks": {k: torch.from_numpy(v.astype(np.int8)) for k, v in self.node_masks.items()},
        }

    @classmethod
    def from_state(cls, state: dict) -> SplitPlan:
        return cls(
            mode=state["mode"],
            source=state["source"],
            seed=int(state["seed"]),
            train_designs=list(state["train_designs"]),
            val_designs=list(state["val_designs"]),
            test_designs=list(state["test_designs"]),
            node_masks={k: v.numpy().astype(np.int8) for k, v in state["node_masks"].items()},
        )


def seeded_node_mask(name: str, num_nodes: int, seed: int, val_fraction: float, test_fraction: float) -> np.ndarray:
    """A reproducible (N,) int8 mask; the design name enters the seed so designs differ."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    order = rng.permutation(num_nodes)
    n_test = int(round(test_fraction * num_nodes))
    n_val = int(round(val_fraction * num_nodes))
    mask = np.full(num_nodes, TRAIN, dtype=np.int8)
    mask[order[:n_test]] = TEST
    mask[order[n_test : n_test + n_val]] = VAL
    return mask


def plan_split(
    designs: dict[str, tuple[int, np.ndarray | None]],
    *,
    seed: int,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    mode: str = "auto",
    val_designs: list[str] | None = None,
    test_designs: list[str] | None = None,
) -> SplitPlan:
    """Split labelled designs ``name -> (num_nodes, stored node_split or None)``.

    ``mode`` is ``"auto"`` (by design with 3+ designs, else by node), ``"design"`` or ``"node"``.
    Naming ``val_designs`` or ``test_designs`` splits by design around them
    (:func:`named_split`). Raises ``ValueError`` when no design is given, a design split is
    asked of fewer than 3, or the named designs do not leave one to train on.
    """
    if not designs:
        raise ValueError("no labelled designs to split")
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError("val and test fractions must be in [0, 1) and sum to less than 1")
    names = sorted(designs)
    if val_designs or test_designs:
        if mode == "node":
            raise ValueError("held-out designs split by design: they cannot be combined with a node split")
        return named_split(names, val_designs or [], test_designs or [], seed=seed, val_fraction=val_fraction)
    if mode == "auto":
        mode = "design" if len(names) >= MIN_DESIGNS_FOR_DESIGN_SPLIT else "node"
    if mode == "design":
        if len(names) < MIN_DESIGNS_FOR_DESIGN_SPLIT:
            raise ValueError(f"a split by design needs at least {MIN_DESIGNS_FOR_DESIGN_SPLIT} labelled designs")
        order = [names[i] for i in np.random.default_rng(seed).permutation(len(names))]
        n_test = max(1, int(round(test_fraction * len(names))))
        n_val = max(1, int(round(val_fraction * len(names))))
        return SplitPlan(
            "design",
            "seeded",
            seed,
            train_designs=sorted(order[n_test + n_val :]),
            val_designs=sorted(order[n_test : n_test + n_val]),
            test_designs=sorted(order[:n_test]),
        )
    if mode != "node":
        raise ValueError(f"split mode must be auto, design or node, got {mode!r}")
    stored = all(designs[n][1] is not None for n in names)
    masks = {
        n: (
            np.asarray(designs[n][1], dtype=np.int8)
            if stored
            else seeded_node_mask(n, designs[n][0], seed, val_fraction, test_fraction)
        )
        for n in names
    }
    return SplitPlan("node", "stored" if stored else "seeded", seed, names, names, names, masks)


def named_split(
    names: list[str], val_designs: list[str], test_designs: list[str], *, seed: int, val_fraction: float = 0.15
) -> SplitPlan:
    """A split by design around the designs a user holds out.

    ``test_designs`` are scored once at the end; ``val_designs`` drive early stopping and
    ``best.pt``. When only test designs are named, ``max(1, round(val_fraction * n))`` of the
    others are drawn with ``seed`` for validation. Every remaining design trains.
    """
    unknown = sorted(set(val_designs) - set(names)) + sorted(set(test_designs) - set(names))
    if unknown:
        raise ValueError(
            f"held-out design(s) {', '.join(map(repr, unknown))} are not among the labelled "
            f"designs ({', '.join(names)})"
        )
    both = sorted(set(val_designs) & set(test_designs))
    if both:
        raise ValueError(f"design(s) {', '.join(map(repr, both))} are named for both validation and test")
    rest = [n for n in names if n not in set(val_designs) | set(test_designs)]
    if not val_designs:
        n_val = max(1, int(round(val_fraction * len(names))))
        if len(rest) <= n_val:
            raise ValueError(
                "name --val-designs too: after the test designs too few are left to draw a "
                "validation design and still train"
            )
        order = [rest[i] for i in np.random.default_rng(seed).permutation(len(rest))]
        val_designs, rest = order[:n_val], sorted(order[n_val:])
    if not rest:
        raise ValueError("the held-out designs leave no design to train on")
    return SplitPlan(
        "design", "named", seed, train_designs=rest, val_designs=sorted(val_designs), test_designs=sorted(test_designs)
    )
