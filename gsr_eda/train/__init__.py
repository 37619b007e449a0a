"""Training, checkpoints, metrics and splits for congestion models.

>>> from gsr_eda.train import TrainConfig, train
>>> result = train(TrainConfig(store="designs.h5", model="gsr", layers=16, epochs=20), "runs/gsr16")  # doctest: +SKIP
"""

from gsr_eda.train.checkpoint import FORMAT_VERSION, Predictor, load_checkpoint, load_predictor
from gsr_eda.train.metrics import METRIC_NAMES, regression_metrics
from gsr_eda.train.splits import SplitPlan, plan_split
from gsr_eda.train.trainer import MONITORS, TrainConfig, TrainResult, train

__all__ = [
    "FORMAT_VERSION",
    "METRIC_NAMES",
    "MONITORS",
    "Predictor",
    "SplitPlan",
    "TrainConfig",
    "TrainResult",
    "load_checkpoint",
    "load_predictor",
    "plan_split",
    "regression_metrics",
    "train",
]
