"""gsr-eda: routing-congestion prediction with deep grouped sparse reversible GNNs.

Imports sit at the top of each module, with three exceptions:

* command modules (:mod:`gsr_eda.cli`) import what a command runs inside its function, so
  ``gsr-eda --help`` and usage errors answer without loading torch or h5py;
* modules that draw import matplotlib when they draw (about 1 s), and the model factory
  imports a baseline's module (torch_geometric, about 3 s) only when that model is built;
* a few modules import a slow or optional library inside the one function that needs it, with a
  comment saying so (``scipy.spatial`` in the design generator; ``scipy.stats`` and
  ``sklearn.metrics`` in :func:`gsr_eda.train.metrics.regression_metrics`; ``psutil``, the
  ``bench`` extra; the compiled core in the benchmark worker, which also runs test
  configurations without it, and in ``gsr-eda version``).
"""

__version__ = "0.1.0"
