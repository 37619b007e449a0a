"""Neural-network modules of gsr-eda built on the compute core (:mod:`gsr_eda.ops`).

* :class:`GSRStack`: L grouped sparse reversible layers, one autograd Function, flat memory.
* :func:`gsr_stack_reference`: the same network with ordinary autograd (test oracle).
"""

from gsr_eda.nn.gsr_stack import GSRStack
from gsr_eda.nn.reference import gsr_stack_reference

__all__ = ["GSRStack", "gsr_stack_reference"]
