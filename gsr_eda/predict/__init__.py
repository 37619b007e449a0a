"""Inference: checkpoints loaded as a :class:`Predictor`, per-cell and per-gcell predictions, files, heatmaps."""

from gsr_eda.predict.core import DesignPrediction, predict_design
from gsr_eda.predict.heatmap import plot_heatmap
from gsr_eda.predict.outputs import FORMATS, gcell_path, write_prediction
from gsr_eda.predict.predictor import Predictor, load_predictor, predictor_from_checkpoint

__all__ = [
    "FORMATS",
    "DesignPrediction",
    "Predictor",
    "gcell_path",
    "load_predictor",
    "plot_heatmap",
    "predict_design",
    "predictor_from_checkpoint",
    "write_prediction",
]
