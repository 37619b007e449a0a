"""Hostile requests to the flow hooks (issue 20): file disclosure, path escapes, odd tokens,
deep JSON, and positions that overflow the model. The server is driven in process through
:meth:`CongestionServer.answer`, the function every connection's request line goes through."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gsr_eda.errors import InputError


@pytest.fixture(scope="module")
def predictor(tiny_checkpoint):
    from gsr_eda.predict import load_predictor

    return load_predictor(tiny_checkpoint)


def _server(predictor, **options):
    from gsr_eda.flow.server import CongestionServer

    server = CongestionServer(predictor, checkpoint="ck", **options)
    server.server_close()  # answer() needs no socket
    return server


def _ask(server, **request) -> dict:
    reply, _stop = server.answer((json.dumps({"id": 1, **request}) + "\n").encode())
    return json.loads(reply)


def _load(server, tiny_design, **extra) -> dict:
    return _ask(
        server, op="load_design", lefs=[str(p) for p in tiny_design.lefs], **{"def": str(tiny_design.def_path), **extra}
    )


@pytest.mark.parametrize(
    "text",
    [
        "TOPSECRET-first-line:x:0:0\n",  # not a DEF at all
        "VERSION 5.8 ;\nDESIGN t ;\nUNITS DISTANCE MICRONS 1000 ;\nTOPSECRET here ;\n",  # fails at line 4
    ],
)
def test_error_replies_do_not_quote_the_file(predictor, tiny_design, tmp_path, text):
    # Before: the reply carried the parser's failing token, the first line of any readable file.
    secret = tmp_path / "shadow"
    secret.write_text(text)
    reply = _ask(_server(predictor), op="load_design", lefs=[str(p) for p in tiny_design.lefs], **{"def": str(secret)})
    assert reply["ok"] is False and str(secret) in reply["error"], reply
    assert "TOPSECRET" not in reply["error"], reply


def test_root_confines_every_client_named_path(predictor, tiny_design, tmp_path):
    import shutil

    root = tmp_path / "root"
    root.mkdir()
    for path in (tiny_design.def_path, *tiny_design.lefs):
        shutil.copy(path, root)
    server = _server(predictor, root=root, out_dir=tmp_path)
    outside = tmp_path / "outside.def"
    outside.write_text("VERSION 5.8 ;\n")
    (root / "escape.def").symlink_to(outside)
    for path in (str(outside), str(root / "escape.def"), "../" + outside.name):
        reply = _ask(server, op="load_design", lefs=[str(p) for p in tiny_design.lefs], **{"def": path})
        assert reply["ok"] is False and "outside the server's --root" in reply["error"], (path, reply)
    loaded = _ask(
        server, op="load_design", lefs=[p.name for p in tiny_design.lefs], **{"def": tiny_design.def_path.name}
    )
    assert loaded["ok"], loaded  # relative paths start at the root
    reply = _ask(server, op="estimate", design=loaded["design"], out=str(tmp_path / "est"))
    assert reply["ok"] is False and "outside the server's --root" in reply["error"]


def test_a_design_name_cannot_write_outside_out_dir(predictor, tiny_design, tmp_path):
    out_dir = tmp_path / "a" / "b"
    out_dir.mkdir(parents=True)
    server = _server(predictor, out_dir=out_dir)
    assert _load(server, tiny_design, name="../../x")["ok"]
    reply = _ask(server, op="estimate", design="../../x")
    assert reply["ok"] is False and "cannot name a file" in reply["error"], reply
    assert not list(tmp_path.glob("x.*"))


def test_a_non_ascii_token_is_compared_not_crashed_on(predictor):
    # Before: hmac.compare_digest raised TypeError on non-ASCII str and the connection dropped.
    server = _server(predictor, token="s\u00e9cret-\u2713")
    assert _ask(server, op="health", token="s\u00e9cret-\u2713")["ok"]
    assert "wrong token" in _ask(server, op="health", token="s\u00e9cret-x")["error"]
    assert "wrong token" in _ask(server, op="health", token="\ud800")["error"]


def test_deeply_nested_json_gets_an_error_reply(predictor):
    # Before: RecursionError on the server's stderr and the connection dropped with no reply.
    deep = b"[" * 100_000 + b"]" * 100_000 + b"\n"
    reply, _stop = _server(predictor).answer(deep)
    assert "nests too deeply" in json.loads(reply)["error"]
    nested_id = b'{"id": 1, "op": "health", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    assert json.loads(_server(predictor).answer(nested_id)[0])["ok"] is False


def test_huge_finite_positions_are_refused_not_reported_as_success(predictor, tiny_design, tmp_path):
    # Before: ok true, max null and every score nan in the TSV.
    server = _server(predictor, out_dir=tmp_path)
    name = _load(server, tiny_design)["design"]
    positions = tmp_path / "far.txt"
    positions.write_text(f"{tiny_design.names[0]} 1e308 1e308\n")
    reply = _ask(server, op="update_positions", design=name, positions=str(positions))
    assert reply["ok"] is False and "far outside the die" in reply["error"], reply
    assert _ask(server, op="estimate", design=name)["ok"]


@pytest.fixture
def session(tiny_design, tiny_checkpoint):
    from gsr_eda.flow import CongestionSession

    return CongestionSession.from_def(tiny_design.def_path, tiny_design.lefs, tiny_checkpoint)


def test_session_refuses_positions_far_outside_the_die(session):
    x, y = session.positions
    x[3] = 1e308
    with pytest.raises(InputError, match=r"1 position\(s\) lie far outside the die"):
        session.estimate(x, y)
    x0, y0, x1, _ = session.design.die
    x[3] = x1 + 0.5 * (x1 - x0)  # half a die outside: a placer may park a cell there
    assert np.isfinite(session.estimate(x, y).cell_scores).all()


def test_session_refuses_non_finite_model_output(session, monkeypatch):
    monkeypatch.setattr(session.predictor, "predict", lambda features, graph: np.full(len(features), np.nan))
    with pytest.raises(InputError, match=r"non-finite scores for 150 of 150 cells"):
        session.estimate()
