"""The fast COMPONENTS reader of the placement loop against the full DEF reader, and odd DEF syntax."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gsr_eda.errors import InputError
from gsr_eda.ingest import read_def_design
from gsr_eda.ingest.def_positions import read_def_placement
from gsr_eda.ingest.native import parse_def_native
from gsr_eda.ingest.orientation import ORIENTATIONS

REAL_DESIGNS = {
    "asap7-aes": ("asap7", "aes_place.def", ["asap7_tech_1x_201209.lef", "asap7sc7p5t_28_R_1x_220121a.lef"]),
    "sky130-gcd": ("sky130hd", "insert_decap_gcd.def", ["sky130hd.tlef", "sky130_fd_sc_hd_merged.lef"]),
}


@pytest.mark.parametrize("which", sorted(REAL_DESIGNS))
def test_fast_reader_equals_full_reader_on_real_defs(shared_data: Path, which: str):
    folder, def_name, lef_names = REAL_DESIGNS[which]
    root = shared_data / "openroad" / folder
    def_path = root / def_name
    full = read_def_design(def_path, [root / name for name in lef_names])
    fast = read_def_placement(def_path)

    assert fast.dbu_per_micron == full.dbu_per_micron
    row_of = {name: k for k, name in enumerate(fast.names)}
    assert len(row_of) == len(fast.names)
    cells = [str(name) for name in full.node_names[~full.is_io]]
    missing = [name for name in cells if name not in row_of]
    assert not missing, f"fast reader lost {len(missing)} cells, e.g. {missing[:3]}"
    rows = np.array([row_of[name] for name in cells])
    # Same DBU integers divided by the same UNITS: equal to the last bit.
    np.testing.assert_array_equal(fast.x[rows], full.x[~full.is_io])
    np.testing.assert_array_equal(fast.y[rows], full.y[~full.is_io])

    # Orientations against lefdef's codes, the full reader's source.
    reader, c_def = parse_def_native(def_path)
    codes = {c.c_id.decode(): c.c_orient for c in (c_def.c_components[i] for i in range(c_def.c_num_components))}
    del reader
    assert [str(o) for o in fast.orient[rows]] == [ORIENTATIONS[codes[name]] for name in cells]
    if which == "sky130-gcd":
        assert any("\\[" in name for name in cells)  # escaped names took part in the comparison
    else:
        assert set(fast.orient[rows]) >= {"N", "FS"}


ODD_DEF = """VERSION 5.8 ;
# A header comment ; with a semicolon - and COMPONENTS 9 ;
DESIGN odd ;
UNITS DISTANCE MICRONS 2000 ;
DIEAREA ( 0 0 ) ( 100000 100000 ) ;
COMPONENTS 8 ;
    - plain CELL + PLACED ( 2000 4000 ) N ;
    - multi\\[3\\]
        CELL
        + SOURCE TIMING
        + PLACED
          ( 10000 20000 )
          FS ;
    - weighted CELL + WEIGHT 3 + FIXED ( 100 200 ) W + HALO 1 2 3 4 ;   # trailing comment - x + PLACED ( 9 9 ) N
    - after CELL + FIXED ( -400 600 ) FE + SOURCE DIST ;
    - spare CELL + UNPLACED ;
    - nostatus CELL ;
    # - commented CELL + PLACED ( 1 1 ) N ;
    - covered CELL + COVER ( 0 0 ) S + ROUTEHALO 10 M1 M2 ;
    - hash#name CELL + PLACED ( 6000 8000 ) E ; # END COMPONENTS
END COMPONENTS
END DESIGN
"""


def test_comments_multiline_statements_and_options(tmp_path: Path):
    path = tmp_path / "odd.def"
    path.write_text(ODD_DEF)
    placement = read_def_placement(path)
    assert list(placement.names) == ["plain", "multi\\[3\\]", "weighted", "after", "covered", "hash#name"]
    np.testing.assert_array_equal(placement.x, [1.0, 5.0, 0.05, -0.2, 0.0, 3.0])
    np.testing.assert_array_equal(placement.y, [2.0, 10.0, 0.1, 0.3, 0.0, 4.0])
    assert list(placement.orient) == ["N", "FS", "W", "FE", "S", "E"]
    assert placement.dbu_per_micron == 2000.0


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.replace("UNITS DISTANCE MICRONS 2000 ;", ""), "no valid 'UNITS DISTANCE MICRONS'"),
        (lambda d: d.replace("COMPONENTS 8 ;", "COMPS 8 ;"), "no COMPONENTS section"),
        (lambda d: d.replace("END COMPONENTS\n", ""), "COMPONENTS section has no END"),
        (lambda d: d.replace("( 2000 4000 )", "( 2000 four )"), "component plain: location is not numeric"),
    ],
)
def test_bad_components_are_input_errors(tmp_path: Path, mutate, message):
    path = tmp_path / "bad.def"
    path.write_text(mutate(ODD_DEF))
    with pytest.raises(InputError, match=message) as err:
        read_def_placement(path)
    assert err.value.path == path
