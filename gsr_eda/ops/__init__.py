"""GSR compute core: CBSR kernels (compiled in ``gsr_eda._core``) with autograd wrappers.

* :class:`CSRAdjacency`: a graph prepared once (normalised weights, transpose, partitions).
* :func:`row_topk`: the group-sparse operator GS(k), ``P -> (V, I)``.
* :func:`cbsr_aggregate`: ``A @ S(V, I) [@ W]`` with a fused residual add and autograd.
* :mod:`gsr_eda.ops.kernels`: the raw, checked, allocation-free kernels.
* :mod:`gsr_eda.ops.reference`: pure-PyTorch references used by the tests.
"""

from gsr_eda.ops.adjacency import CSRAdjacency
from gsr_eda.ops.aggregate import association_order, cbsr_aggregate
from gsr_eda.ops.topk import row_topk

__all__ = ["CSRAdjacency", "association_order", "cbsr_aggregate", "row_topk"]
