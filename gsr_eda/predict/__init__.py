"""Predictions of a trained model: per cell, per gcell, written to files and drawn as heatmaps."""

from gsr_eda.predict.core import DesignPrediction, predict_design
from gsr_eda.predict.heatmap import plot_heatmap
from gsr_eda.predict.outputs import FORMATS, gcell_path, write_prediction

__all__ = ["FORMATS", "DesignPrediction", "gcell_path", "plot_heatmap", "predict_design", "write_prediction"]
