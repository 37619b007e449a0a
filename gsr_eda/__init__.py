"""gsr-eda: routing-congestion prediction with deep grouped sparse reversible GNNs.

Imports sit at the top of each module, with three exceptions, each for start-up time:

* command modules (:mod:`gsr_eda.cli`) import what a command runs inside its function, so
  ``gsr-eda --help`` and usage errors answer without loading torch or h5py;
* modules that draw import matplotlib when they draw (about 1 s), and the model factory
  imports a baseline's module (torch_geometric, about 3 s) only when that model is built;
* the benchmark harness and the readers import a heavy library inside the one function that
  needs it, as the comment there says (``scipy.spatial``, ``h5py`` from a benchmark child).
"""

__version__ = "0.1.0"
