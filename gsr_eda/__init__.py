"""gsr-eda: routing-congestion prediction with deep grouped sparse reversible GNNs."""

__version__ = "0.1.0"
