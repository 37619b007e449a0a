"""Flow hooks: query a trained congestion model from inside a placement loop.

* :class:`CongestionSession` (in-process, Python placers such as DREAMPlace: see
  ``flows/dreamplace/``) keeps the design, its static features, its graph and the model resident
  and answers :meth:`CongestionSession.estimate` per iteration.
* :mod:`gsr_eda.flow.server` serves sessions over JSON-lines TCP for Tcl flows (``gsr-eda serve``;
  OpenROAD procs in ``flows/openroad/``); :mod:`gsr_eda.flow.protocol` defines the messages.
"""

from gsr_eda.flow.estimate import CongestionEstimate
from gsr_eda.flow.session import CongestionSession

__all__ = ["CongestionEstimate", "CongestionSession"]
