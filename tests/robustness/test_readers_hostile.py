"""Hostile DEF and LEF files: binary garbage, huge sparse files, files of another format (issue 20)."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import pytest

from gsr_eda.errors import InputError
from gsr_eda.ingest.lef import read_lef_library
from gsr_eda.ingest.native import check_text_file, parse_def_native


def test_garbage_bytes_as_a_lef_are_bad_input_naming_the_file(tmp_path: Path) -> None:
    # Before: the parser's callback raised on undecodable bytes: "internal error: SystemError", no file named.
    lef = tmp_path / "garbage.lef"
    lef.write_bytes(os.urandom(3000).replace(b"\0", b"\1"))
    with pytest.raises(InputError) as err:
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
    good.write_text("# written by a tool\nDIVIDERCHAR \"/\" ;\nVERSION 5.8 ;\n")
    check_text_file(good, "DEF", frozenset({"VERSION", "DIVIDERCHAR"}))


def test_a_parser_reason_is_detail_kept_out_of_the_server_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.def"
    bad.write_text("VERSION 5.8 ;\nDESIGN top ;\nUNITS DISTANCE MICRONS 1000 ;\nSECRETTOKEN here ;\n")
    with pytest.raises(InputError, match="malformed or truncated DEF") as err:
        parse_def_native(bad)
    assert "SECRETTOKEN" in str(err.value)
    assert "SECRETTOKEN" not in err.value.without_detail
