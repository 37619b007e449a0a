"""read_def_design / read_def_floorplan on the real OpenROAD samples, and on small handmade files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gsr_eda.errors import InputError
from gsr_eda.ingest import read_def_design, read_def_floorplan
from gsr_eda.ingest.lef import MacroHeader, read_lef_library, scan_macro_headers


@pytest.fixture(scope="module")
def asap7(shared_data: Path):
    root = shared_data / "openroad" / "asap7"
    lefs = [root / "asap7_tech_1x_201209.lef", root / "asap7sc7p5t_28_R_1x_220121a.lef"]
    return root / "aes_place.def", lefs


@pytest.fixture(scope="module")
def aes(asap7):
    def_path, lefs = asap7
    return read_def_design(def_path, lefs, include_io_pins=True)


@pytest.fixture(scope="module")
def sky130(shared_data: Path):
    root = shared_data / "openroad" / "sky130hd"
    return root, [root / "sky130hd.tlef", root / "sky130_fd_sc_hd_merged.lef"]


def _node(design, name: str) -> int:
    return int(np.flatnonzero(design.node_names == name)[0])


def test_aes_counts_units_and_die(aes):
    assert aes.name == "aes_cipher_top"
    assert aes.dbu_per_micron == 1000.0
    assert aes.die == pytest.approx((0.0, 0.0, 78.835, 78.835))
    # 22,107 components less the 830 FIXED tap cells (no nets), plus 388 IO pins.
    assert int(aes.is_io.sum()) == 388
    assert aes.num_nodes - 388 == 22107 - 830
    assert not any(m.startswith("TAPCELL") for m in aes.node_masters)
    # No net of aes_place loses all its pins: all 21,542 survive; two carry + USE CLOCK in the DEF.
    assert aes.num_nets == 21542
    assert sorted(aes.net_names[aes.net_use == "CLOCK"]) == ["_00921_", "clk"]
    aes.validate()


def test_aes_known_instances(aes):
    # DEF text:  - _43355_ INVx1_ASAP7_75t_R + PLACED ( 12420 76410 ) FS ;   LEF SIZE 0.162 BY 0.27
    k = _node(aes, "_43355_")
    assert aes.node_masters[k] == "INVx1_ASAP7_75t_R"
    assert (aes.x[k], aes.y[k], aes.width[k], aes.height[k]) == pytest.approx((12.42, 76.41, 0.162, 0.27))
    assert not aes.is_fixed[k] and not aes.is_macro[k]
    # - input1 BUFx2_ASAP7_75t_R + SOURCE TIMING + PLACED ( 47736 2160 ) N ;
    k = _node(aes, "input1")
    assert (aes.x[k], aes.y[k]) == pytest.approx((47.736, 2.16))
    # IO pin clk: PORT rect ( -12 -167 ) ( 12 167 ) placed at ( 12492 78668 ): centre (12.492, 78.668).
    k = _node(aes, "clk")
    assert aes.is_io[k] and aes.width[k] == 0 and (aes.x[k], aes.y[k]) == pytest.approx((12.492, 78.668))


def test_aes_pin_offsets_follow_orientation(aes):
    # Net _00527_ ( _44209_ QN ) ( _43359_ A ); _44209_ is placed FS, so its pin y is mirrored.
    j = int(np.flatnonzero(aes.net_names == "_00527_")[0])
    pins = range(aes.net_ptr[j], aes.net_ptr[j + 1])
    nodes = [aes.node_names[aes.pin_node[p]] for p in pins]
    assert nodes == ["_44209_", "_43359_"]
    for p in pins:
        n = aes.pin_node[p]
        assert 0 <= aes.pin_dx[p] <= aes.width[n] + 1e-6
        assert 0 <= aes.pin_dy[p] <= aes.height[n] + 1e-6


def test_aes_grid_and_capacity(aes):
    # GCELLGRID X 0 DO 145 STEP 540: 145 gcells, the last absorbing the die remainder.
    assert aes.grid.shape == (145, 145)
    assert aes.grid.x_edges[1] == pytest.approx(0.54)
    assert aes.grid.x_edges[-1] == pytest.approx(78.835)
    assert aes.capacity is not None
    assert aes.capacity.horizontal.shape == (145, 145)
    # Horizontal layers M2, M4, M6, M8, Pad contribute tracks to every gcell row.
    assert aes.capacity.horizontal[:, :-1].min() > 20
    assert aes.capacity.vertical[:-1, :].min() > 20


def test_io_pins_dropped_by_default(asap7, aes):
    def_path, lefs = asap7
    design = read_def_design(def_path, lefs)
    assert not design.is_io.any()
    assert design.num_nodes == aes.num_nodes - 388
    assert design.num_pins == aes.num_pins - 388  # each IO pin is on exactly one net


def test_sky130_insert_decap(sky130):
    root, lefs = sky130
    design = read_def_design(root / "insert_decap_gcd.def", lefs)
    assert design.grid.x_edges[1] - design.grid.x_edges[0] == pytest.approx(6.9)  # GCELLGRID STEP 6900
    assert design.grid.shape == (12, 12)
    assert not any("tap" in m or "decap" in m or "fill" in m for m in design.node_masters)
    assert design.num_nets == 475 - 0  # all signal nets keep at least one placed pin
    # Escaped names match between COMPONENTS and NETS.
    assert "ctrl.state.out\\[1\\]$_DFF_P_" in set(design.node_names)
    assert (design.net_use == "CLOCK").sum() == 6
    kept = read_def_design(root / "insert_decap_gcd.def", lefs, keep_unconnected=True)
    assert kept.num_nodes == 538


def test_sky130_floorplan_is_refused_as_unplaced(sky130):
    root, lefs = sky130
    with pytest.raises(InputError, match="UNPLACED or have no placement status"):
        read_def_design(root / "gcd_sky130hd_floorplan.def", lefs)
    # The floorplan itself (no GCELLGRID): 15 met2 x-track spacings, as OpenROAD chose for insert_decap.
    plan = read_def_floorplan(root / "gcd_sky130hd_floorplan.def", lefs)
    assert plan.grid.x_edges[1] == pytest.approx(15 * 0.46)
    assert not plan.layer_directions_assumed


def test_grt_gcd_floorplan(shared_data: Path):
    plan = read_def_floorplan(shared_data / "openroad" / "grt_reports" / "gcd.def")
    assert plan.dbu_per_micron == 2000.0
    assert plan.die == pytest.approx((0.0, 0.0, 100.13, 100.8))
    # 2.85 um gcells, as in the congestion report of the same run.
    assert plan.grid.x_edges[1] == pytest.approx(2.85)
    assert plan.grid.shape == (35, 35)
    assert plan.layer_directions_assumed
    assert plan.capacity.horizontal.shape == plan.grid.shape
    assert plan.capacity.horizontal.min() > 0 and plan.capacity.vertical.min() > 0


def test_scan_macro_headers_ignores_port_class():
    text = (
        "MACRO A\n  CLASS CORE WELLTAP ;\n  ORIGIN 0.5 -1 ;\n  SIZE 1 BY 1 ;\nEND A\n"
        "MACRO B\n  SIZE 1 BY 1 ;\n  PIN X\n    PORT\n      CLASS CORE ;\n    END\n  END X\nEND B\n"
        "MACRO C\n  CLASS BLOCK ;\nEND C\n"
    )
    assert scan_macro_headers(text) == {
        "A": MacroHeader("CORE WELLTAP", (0.5, -1.0)),
        "B": MacroHeader("", (0.0, 0.0)),
        "C": MacroHeader("BLOCK", (0.0, 0.0)),
    }
    with pytest.raises(InputError, match="macro A: ORIGIN needs two numbers"):
        scan_macro_headers(text.replace("ORIGIN 0.5 -1", "ORIGIN 0.5"))


def test_real_lef_origins_are_zero_and_pins_inside_cells(asap7):
    # Every ASAP7 cell says ORIGIN 0 0: pin centres must stay inside the north box.
    library = read_lef_library(asap7[1])
    for macro in library.macros.values():
        for px, py in macro.pin_centres.values():
            assert -1e-9 <= px <= macro.width + 1e-9 and -1e-9 <= py <= macro.height + 1e-9


# --- Handmade designs: orientation, errors -----------------------------------------------------

LEF = """VERSION 5.8 ;
UNITS
  DATABASE MICRONS 1000 ;
END UNITS
LAYER M1
  TYPE ROUTING ;
  DIRECTION HORIZONTAL ;
  PITCH 0.2 ;
  WIDTH 0.1 ;
END M1
LAYER M2
  TYPE ROUTING ;
  DIRECTION VERTICAL ;
  PITCH 0.2 ;
  WIDTH 0.1 ;
END M2
MACRO CELL
  CLASS CORE ;
  SIZE 1.0 BY 2.0 ;
  PIN A
    DIRECTION INPUT ;
    PORT
      LAYER M1 ;
        RECT 0.1 0.2 0.3 0.4 ;
    END
  END A
  PIN Y
    DIRECTION OUTPUT ;
    PORT
      LAYER M1 ;
        RECT 0.7 1.5 0.9 1.7 ;
    END
  END Y
END CELL
MACRO TAP
  CLASS CORE WELLTAP ;
  SIZE 0.2 BY 2.0 ;
END TAP
END LIBRARY
"""

DEF = """VERSION 5.8 ;
DIVIDERCHAR "/" ;
BUSBITCHARS "[]" ;
DESIGN tiny ;
UNITS DISTANCE MICRONS 1000 ;
DIEAREA ( 0 0 ) ( 20000 20000 ) ;
COMPONENTS 4 ;
    - u\\[0\\] CELL + PLACED ( 1000 1000 ) N ;
    - u1 CELL + PLACED ( 5000 1000 ) W ;
    - u2 CELL + FIXED ( 9000 1000 ) FE ;
    - tap0 TAP + FIXED ( 0 1000 ) N ;
END COMPONENTS
PINS 1 ;
    - in + NET in + DIRECTION INPUT + USE SIGNAL
      + LAYER M2 ( -50 0 ) ( 50 100 ) + FIXED ( 3000 20000 ) S ;
END PINS
NETS 3 ;
    - in ( PIN in ) ( u\\[0\\] A ) + USE SIGNAL ;
    - n1 ( u\\[0\\] Y ) ( u1 A ) ( u2 A ) + USE CLOCK ;
    - n2 ( u1 Y ) ( u2 Y ) ;
END NETS
END DESIGN
"""


def _write(tmp_path: Path, def_text: str = DEF, lef_text: str = LEF) -> tuple[Path, Path]:
    (tmp_path / "t.def").write_text(def_text)
    (tmp_path / "t.lef").write_text(lef_text)
    return tmp_path / "t.def", tmp_path / "t.lef"


def test_handmade_orientations_and_pins(tmp_path: Path):
    def_path, lef_path = _write(tmp_path)
    design = read_def_design(def_path, [lef_path], include_io_pins=True)
    assert list(design.node_names) == ["u\\[0\\]", "u1", "u2", "in"]
    # W and FE swap width and height.
    np.testing.assert_allclose(design.width[:3], [1.0, 2.0, 2.0])
    np.testing.assert_allclose(design.height[:3], [2.0, 1.0, 1.0])
    assert list(design.is_fixed) == [False, False, True, True]
    assert list(design.net_use) == ["SIGNAL", "CLOCK", "SIGNAL"]
    # IO pin: rect ( -50 0 ) ( 50 100 ) rotated by S about the pin point -> centre 50 DBU below it.
    assert (design.x[3], design.y[3]) == pytest.approx((3.0, 19.95))
    # Net n1 pins: u[0].Y at N (0.8, 1.6); u1.A at W (h - py, px) = (2 - 0.3, 0.2); u2.A at FE (py, px) = (0.3, 0.2).
    j = 1
    p = slice(design.net_ptr[j], design.net_ptr[j + 1])
    np.testing.assert_allclose(design.pin_dx[p], [0.8, 1.7, 0.3], atol=1e-6)
    np.testing.assert_allclose(design.pin_dy[p], [1.6, 0.2, 0.2], atol=1e-6)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d[: len(d) // 2], "malformed or truncated DEF"),
        (lambda d: d.replace("DIEAREA ( 0 0 ) ( 20000 20000 ) ;\n", ""), "no DIEAREA"),
        (lambda d: d.replace("u1 CELL", "u1 NOSUCH"), "unknown macro NOSUCH for instance u1; pass the LEF"),
        (lambda d: d.replace("( u2 Y )", "( ghost Y )"), "net n2 references unknown instance ghost"),
        (lambda d: d.replace("UNITS DISTANCE MICRONS 1000 ;\n", ""), "no UNITS DISTANCE MICRONS"),
        (lambda d: d.replace("+ PLACED ( 5000 1000 ) W", "+ UNPLACED"), "UNPLACED"),
        (
            lambda d: d.split("NETS 3 ;")[0] + "NETS 0 ;\nEND NETS\nEND DESIGN\n",
            "empty design",
        ),
        (lambda d: "COMPONENTS ( ( ;\n" + d, "malformed or truncated DEF"),
    ],
)
def test_bad_def_is_one_clear_error(tmp_path: Path, mutate, message):
    def_path, lef_path = _write(tmp_path, mutate(DEF))
    with pytest.raises(InputError, match=message) as err:
        read_def_design(def_path, [lef_path])
    assert err.value.path == def_path


def test_missing_and_bad_lef(tmp_path: Path):
    def_path, lef_path = _write(tmp_path)
    with pytest.raises(InputError, match="no LEF given"):
        read_def_design(def_path, [])
    with pytest.raises(InputError, match="LEF file not found") as err:
        read_def_design(def_path, [tmp_path / "missing.lef"])
    assert err.value.path == tmp_path / "missing.lef"
    with pytest.raises(InputError, match="DEF file not found"):
        read_def_design(tmp_path / "missing.def", [lef_path])
    lef_path.write_text(LEF.replace("  WIDTH 0.1 ;\nEND M1", "END M1"))
    with pytest.raises(InputError, match="malformed LEF: WIDTH statement is a required statement"):
        read_def_design(def_path, [lef_path])


def test_unplaced_cells_without_nets_are_ignored(tmp_path: Path):
    spare = DEF.replace("COMPONENTS 4 ;", "COMPONENTS 5 ;").replace(
        "END COMPONENTS", "    - spare CELL + UNPLACED ;\nEND COMPONENTS"
    )
    def_path, lef_path = _write(tmp_path, spare)
    for keep in (False, True):
        design = read_def_design(def_path, [lef_path], keep_unconnected=keep)
        assert "spare" not in set(design.node_names)
    assert "tap0" in set(design.node_names)  # keep_unconnected keeps the placed tap


def test_lef_origin_shifts_pin_geometry(tmp_path: Path):
    # The same cell drawn about its centre: ORIGIN 0.5 1.0 moves the macro origin to the box centre,
    # so A's RECT -0.4 -0.8 -0.2 -0.6 is the RECT 0.1 0.2 0.3 0.4 of CELL.
    shifted = (
        "MACRO CELL\n  CLASS CORE ;\n  ORIGIN 0.5 1.0 ;\n  FOREIGN CELL -0.5 -1.0 ;\n  SIZE 1.0 BY 2.0 ;\n"
        "  PIN A\n    DIRECTION INPUT ;\n    PORT\n      LAYER M1 ;\n        RECT -0.4 -0.8 -0.2 -0.6 ;\n"
        "    END\n  END A\n"
        "  PIN Y\n    DIRECTION OUTPUT ;\n    PORT\n      LAYER M1 ;\n        RECT 0.2 0.5 0.4 0.7 ;\n"
        "    END\n  END Y\nEND CELL\n"
    )
    lef_text = LEF[: LEF.index("MACRO CELL")] + shifted + LEF[LEF.index("MACRO TAP") :]
    def_path, lef_path = _write(tmp_path, lef_text=lef_text)
    design = read_def_design(def_path, [lef_path])
    (tmp_path / "plain.lef").write_text(LEF)
    reference = read_def_design(def_path, [tmp_path / "plain.lef"])
    np.testing.assert_allclose(design.pin_dx, reference.pin_dx, atol=1e-6)
    np.testing.assert_allclose(design.pin_dy, reference.pin_dy, atol=1e-6)
    # u[0] is placed N at (1, 1): its pin A sits at (1.2, 1.3), not at the unshifted (0.7, 0.3).
    p = design.net_ptr[0]  # net "in" without IO pins: just u\[0\] A
    assert design.x[design.pin_node[p]] + design.pin_dx[p] == pytest.approx(1.2)
    assert design.y[design.pin_node[p]] + design.pin_dy[p] == pytest.approx(1.3)


UNPLACED_IO_PINS = """PINS 3 ;
    - in + NET in + DIRECTION INPUT + USE SIGNAL
      + LAYER M2 ( -50 0 ) ( 50 100 ) + FIXED ( 3000 20000 ) S ;
    - late + NET n2 + DIRECTION INPUT + USE SIGNAL ;
    - shaped + NET n2 + DIRECTION OUTPUT + USE SIGNAL
      + PORT + LAYER M2 ( -50 0 ) ( 50 100 ) ;
END PINS
"""


def test_unplaced_io_pins_are_left_out_and_counted(tmp_path: Path):
    text = DEF[: DEF.index("PINS 1 ;")] + UNPLACED_IO_PINS + DEF[DEF.index("NETS 3 ;") :]
    text = text.replace("( u1 Y ) ( u2 Y ) ;", "( u1 Y ) ( u2 Y ) ( PIN late ) ( PIN shaped ) ;")
    def_path, lef_path = _write(tmp_path, text)
    design = read_def_design(def_path, [lef_path], include_io_pins=True)
    # Only the placed pin becomes a node; nothing lands at the die origin.
    assert list(design.node_names[design.is_io]) == ["in"]
    assert not np.any((design.x == 0) & (design.y == 0))
    j = int(np.flatnonzero(design.net_names == "n2")[0])
    assert list(design.node_names[design.pin_node[design.net_ptr[j] : design.net_ptr[j + 1]]]) == ["u1", "u2"]
    assert design.source["unplaced_io_pins"] == "2 IO pins without PLACED/FIXED left out of their nets: late, shaped"
    # Without IO pins nothing is lost, so nothing is reported.
    assert "unplaced_io_pins" not in read_def_design(def_path, [lef_path]).source


def test_wildcard_net_connections_are_expanded(tmp_path: Path):
    # "( * A )": pin A of every component whose macro has pin A (the TAP has none); u1 A is listed
    # explicitly too and counts once. "( u* Y )" matches u\[0\], u1 and u2 by name, not tap0.
    text = DEF.replace("( u\\[0\\] Y ) ( u1 A ) ( u2 A )", "( u\\[0\\] Y ) ( u1 A ) ( * A )").replace(
        "( u1 Y ) ( u2 Y ) ;", "( u\\[0\\] A ) ( u* Y ) ;"
    )
    def_path, lef_path = _write(tmp_path, text)
    design = read_def_design(def_path, [lef_path])
    pins = {
        str(design.net_names[j]): [
            (str(design.node_names[design.pin_node[p]]), round(float(design.pin_dx[p]), 3))
            for p in range(design.net_ptr[j], design.net_ptr[j + 1])
        ]
        for j in range(design.num_nets)
    }
    # x of pin A: u[0] (N) 0.2, u1 (W) h - py = 1.7, u2 (FE) py = 0.3; of pin Y: 0.8, 2 - 1.6, 1.6.
    assert pins["n1"] == [("u\\[0\\]", 0.8), ("u1", 1.7), ("u\\[0\\]", 0.2), ("u2", 0.3)]
    assert pins["n2"] == [("u\\[0\\]", 0.2), ("u\\[0\\]", 0.8), ("u1", 0.4), ("u2", 1.6)]
    assert design.source["wildcard_connections"] == "2 expanded: n1 ( * A ): 2 pins, n2 ( u* Y ): 3 pins"
