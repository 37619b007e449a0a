"""Training, metrics and splits for congestion models (checkpoints and inference: :mod:`gsr_eda.predict`).

>>> from gsr_eda.train import TrainConfig, train
>>> result = train(TrainConfig(store="designs.h5", model="gsr", layers=16, epochs=20), "runs/gsr16")  # doctest: +SKIP
"""

from gsr_eda.train.metrics import METRIC_NAMES, regression_metrics
from gsr_eda.train.splits import SplitPlan, plan_split
from gsr_eda.train.trainer import MONITORS, TrainConfig, TrainResult, train

__all__ = [
    "METRIC_NAMES",
    "MONITORS",
    "SplitPlan",
    "TrainConfig",
    "TrainResult",
    "plan_split",
    "regression_metrics",
    "train",
]
