"""The dtype codes the compiled core dispatches on, and the index dtype of a row width.

The codes are the values of ``gsr::Dtype`` and ``gsr::IndexType`` in ``cpp/common.h``: change
them together.
"""

from __future__ import annotations

import torch

FLOAT_CODES = {torch.float32: 0, torch.float64: 1}
INDEX_CODES = {torch.uint8: 0, torch.int16: 1, torch.int32: 2}


def index_dtype_for(dim: int) -> torch.dtype:
    """Smallest index dtype that can address ``dim`` columns (uint8 up to 256: 1 byte per entry)."""
    if dim <= 256:
        return torch.uint8
    if dim <= 32767:
        return torch.int16
    return torch.int32
