r"""DEF orientations: the oriented box of a cell and where its pins land.

``lefdef`` reports orientation as an integer in the DEF/LEF API order
``0..7 = N, W, S, E, FN, FW, FS, FE`` (checked against ``aes_place.def``: ``FN`` -> 4, ``FS`` -> 6).
``W`` is a 90 degree counter-clockwise rotation; ``F*`` mirrors about the y axis first.

A pin at ``(px, py)`` of a ``w x h`` cell in the north frame moves to, relative to the
lower-left corner of the oriented box (which is ``h x w`` for W/E/FW/FE):

=====  ===================  =====  ===================
N      (px, py)             FN     (w - px, py)
W      (h - py, px)         FW     (h - py, w - px)
S      (w - px, h - py)     FS     (px, h - py)
E      (py, w - px)         FE     (py, px)
=====  ===================  =====  ===================
"""

from __future__ import annotations

import numpy as np

ORIENTATIONS = ("N", "W", "S", "E", "FN", "FW", "FS", "FE")
# Orientation codes whose oriented box swaps width and height.
SWAPS_AXES = np.array([False, True, False, True, False, True, False, True])


def oriented_size(width: np.ndarray, height: np.ndarray, orient: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Width and height of each cell's box in its placed orientation."""
    swap = SWAPS_AXES[orient]
    return np.where(swap, height, width), np.where(swap, width, height)


def oriented_pin_offset(
    px: np.ndarray, py: np.ndarray, width: np.ndarray, height: np.ndarray, orient: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pin offsets from the oriented box's lower-left corner (see the module table)."""
    px, py, w, h = (np.asarray(a, np.float64) for a in (px, py, width, height))
    orient = np.asarray(orient, np.int64)
    table_x = [px, h - py, w - px, py, w - px, h - py, px, py]
    table_y = [py, px, h - py, w - px, py, w - px, h - py, px]
    return np.choose(orient, table_x), np.choose(orient, table_y)
