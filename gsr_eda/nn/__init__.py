"""Neural-network modules of gsr-eda built on the compute core (:mod:`gsr_eda.ops`).

* :class:`GSRStack`: L grouped sparse reversible layers, one autograd Function, flat memory.
* :func:`gsr_stack_reference`: the same network with ordinary autograd (test oracle).
* :class:`HeteroGSRStack`: the same over two node types (cells and nets of the cell-net graph).
* :func:`hetero_stack_reference`: its oracle.
"""

from gsr_eda.nn.gsr_stack import GSRStack
from gsr_eda.nn.hetero_stack import HeteroGSRStack
from gsr_eda.nn.reference import gsr_stack_reference, hetero_stack_reference

__all__ = ["GSRStack", "HeteroGSRStack", "gsr_stack_reference", "hetero_stack_reference"]
