"""Hostile DEF and LEF files: binary garbage, huge sparse files, files of another format, pins the
LEF does not have (issue 20)."""

from __future__ import annotations

import os
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gsr_eda.errors import InputError
from gsr_eda.ingest.lef import read_lef_library
from gsr_eda.ingest.native import check_text_file, parse_def_native


@pytest.mark.parametrize("seed", [0, 1, 153])
def test_garbage_bytes_as_a_lef_are_bad_input_naming_the_file(tmp_path: Path, seed: int) -> None:
    # Before: the parser's callback raised on undecodable bytes: "internal error: SystemError", no file named.
    # Seed 153's bytes make the parser warn and return nothing at all; that passed as an empty library.
    lef = tmp_path / "garbage.lef"
    generator = random.Random(seed)
    lef.write_bytes(bytes(generator.randrange(1, 256) for _ in range(3000)))
    with pytest.raises(InputError) as err:
        read_lef_library([lef])
    assert err.value.path == lef


def test_a_lef_that_defines_nothing_is_not_a_library(tmp_path: Path) -> None:
    lef = tmp_path / "units_only.lef"
    lef.write_text("VERSION 5.8 ;\nUNITS\n  DATABASE MICRONS 1000 ;\nEND UNITS\nEND LIBRARY\n")
    with pytest.raises(InputError, match="not a LEF library: it defines no LAYER, VIA, SITE or MACRO") as err:
        read_lef_library([lef])
    assert err.value.path == lef


def test_a_lef_with_nul_bytes_is_refused_before_parsing(tmp_path: Path) -> None:
    lef = tmp_path / "zeros.lef"
    lef.write_bytes(b"VERSION 5.8 ;\n" + b"\0" * 100)
    with pytest.raises(InputError, match=r"not a LEF text file: binary data \(a NUL byte\) at byte 14"):
        read_lef_library([lef])


def test_a_huge_sparse_def_fails_fast_saying_where(tmp_path: Path) -> None:
    # Before: the 1 GB file was read whole (1.06 GB RSS) and refused as "the parser rejected the file".
    big = tmp_path / "sparse.def"
    big.write_bytes(b"VERSION 5.8 ;\nDESIGN top ;\n")
    os.truncate(big, 1 << 30)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(InputError, match=r"not a DEF text file: binary data \(a NUL byte\) at byte 27$"):
        parse_def_native(big)
    assert time.perf_counter() - start < 5.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 64 * 1024  # KiB: < 64 MiB


def test_a_file_of_another_format_as_a_def_says_what_was_expected_and_where(tmp_path: Path) -> None:
    passwd = tmp_path / "passwd.def"
    passwd.write_text("# a comment line\n\nroot:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(InputError, match="line 3 should start with a DEF statement such as VERSION") as err:
        parse_def_native(passwd)
    assert err.value.path == passwd
    assert "root:x" in str(err.value)  # the local user sees the token ...
    assert "root:x" not in err.value.without_detail  # ... the server's clients do not


def test_def_statements_after_comments_pass_the_check(tmp_path: Path) -> None:
    good = tmp_path / "ok.def"
    good.write_text('# written by a tool\nDIVIDERCHAR "/" ;\nVERSION 5.8 ;\n')
    check_text_file(good, "DEF", frozenset({"VERSION", "DIVIDERCHAR"}))


def test_a_parser_reason_is_detail_kept_out_of_the_server_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.def"
    bad.write_text("VERSION 5.8 ;\nDESIGN top ;\nUNITS DISTANCE MICRONS 1000 ;\nSECRETTOKEN here ;\n")
    with pytest.raises(InputError, match="malformed or truncated DEF") as err:
        parse_def_native(bad)
    assert "SECRETTOKEN" in str(err.value)
    assert "SECRETTOKEN" not in err.value.without_detail


GSR_EDA = Path(sys.executable).with_name("gsr-eda")


def test_net_pins_unknown_to_the_lef_are_warned_about_once_with_a_count(tmp_path: Path) -> None:
    # Before: such pins were silently placed at the cell centre.
    from gsr_eda.errors import InputWarning
    from gsr_eda.ingest import read_def_design

    made = subprocess.run(
        [str(GSR_EDA), "synth", "--cells", "150", "--out", str(tmp_path), "--name", "d"], capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    def_path, lef = tmp_path / "d.def", tmp_path / "d.lef"
    text = def_path.read_text()
    nets = text.index("\nNETS ")
    renamed = iter(["NOPE0", "NOPE1"])  # the first two connections of NETS get pins no macro has
    bad_nets = re.sub(r"\( (\S+) \S+ \)", lambda m: f"( {m.group(1)} {next(renamed)} )", text[nets:], count=2)
    def_path.write_text(text[:nets] + bad_nets)

    with pytest.warns(InputWarning, match=r"d\.def: 2 net pin\(s\) not in their LEF macro") as caught:
        design = read_def_design(def_path, [lef])
    assert len(caught) == 1
    assert design.source["pins_unknown_to_lef"].startswith("2 net pin(s)")

    run = subprocess.run(
        [
            str(GSR_EDA),
            "ingest",
            "design",
            "--def",
            str(def_path),
            "--lef",
            str(lef),
            "--store",
            str(tmp_path / "s.h5"),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    warned = [line for line in run.stderr.splitlines() if line.startswith("gsr-eda: warning: ")]
    assert len(warned) == 1 and "/NOPE0 (" in warned[0], run.stderr
