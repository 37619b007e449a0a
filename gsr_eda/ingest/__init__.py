"""Readers that turn placed designs on disk into :class:`gsr_eda.design.PlacedDesign`.

* :func:`read_def_design`: DEF + LEF(s) (``lefdef`` and ``sc_leflib``, with targeted scans for
  the statements they miss).
* :func:`read_def_floorplan`: units, die, gcell grid and track capacity of a DEF alone.
* :func:`read_circuitnet_design`: CircuitNet graph_information + instance placement.
* :func:`load_untrusted_npy`: a ``.npy`` loader whose unpickler admits only numpy arrays and
  builtin containers.
"""

from gsr_eda.ingest.circuitnet import read_circuitnet_design
from gsr_eda.ingest.def_design import DefFloorplan, read_def_design, read_def_floorplan
from gsr_eda.ingest.safe_npy import load_untrusted_npy

__all__ = [
    "DefFloorplan",
    "load_untrusted_npy",
    "read_circuitnet_design",
    "read_def_design",
    "read_def_floorplan",
]
