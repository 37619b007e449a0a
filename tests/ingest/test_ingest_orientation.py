"""DEF orientation codes from lefdef, oriented boxes and pin offsets."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gsr_eda.ingest.native import parse_def_native
from gsr_eda.ingest.orientation import ORIENTATIONS, oriented_pin_offset, oriented_size

# Each orientation as a linear map of north-frame vectors (OpenDB's R0, R90, R180, R270, MY, MYR90, MX, MXR90).
MATRICES = {
    "N": [[1, 0], [0, 1]],
    "W": [[0, -1], [1, 0]],
    "S": [[-1, 0], [0, -1]],
    "E": [[0, 1], [-1, 0]],
    "FN": [[-1, 0], [0, 1]],
    "FW": [[0, -1], [-1, 0]],
    "FS": [[1, 0], [0, -1]],
    "FE": [[0, 1], [1, 0]],
}


def test_lefdef_codes_follow_the_def_order(tmp_path: Path):
    rows = "\n".join(f"    - c{k} X + PLACED ( 0 0 ) {o} ;" for k, o in enumerate(ORIENTATIONS))
    (tmp_path / "o.def").write_text(
        "VERSION 5.8 ;\nDESIGN o ;\nUNITS DISTANCE MICRONS 1000 ;\nDIEAREA ( 0 0 ) ( 10 10 ) ;\n"
        f"COMPONENTS 8 ;\n{rows}\nEND COMPONENTS\nEND DESIGN\n"
    )
    reader, c_def = parse_def_native(tmp_path / "o.def")
    codes = [c_def.c_components[k].c_orient for k in range(c_def.c_num_components)]
    assert codes == list(range(8))
    del reader


def test_offsets_match_rotation_matrices():
    rng = np.random.default_rng(0)
    width, height = 3.0, 2.0
    px, py = rng.uniform(0, width, 20), rng.uniform(0, height, 20)
    corners = np.array([[0, 0], [width, 0], [0, height], [width, height]])
    for code, name in enumerate(ORIENTATIONS):
        m = np.array(MATRICES[name], dtype=float)
        moved_corners = corners @ m.T
        lower_left = moved_corners.min(axis=0)
        expected = np.stack([px, py], axis=1) @ m.T - lower_left
        dx, dy = oriented_pin_offset(px, py, np.full(20, width), np.full(20, height), np.full(20, code))
        np.testing.assert_allclose(np.stack([dx, dy], axis=1), expected, atol=1e-12, err_msg=name)
        w, h = oriented_size(np.array([width]), np.array([height]), np.array([code]))
        np.testing.assert_allclose([w[0], h[0]], moved_corners.max(axis=0) - lower_left)
