"""gsr-eda serve: the JSON-lines protocol over real TCP connections, failures included."""

from __future__ import annotations

import json
import socket
import threading

import numpy as np
import pytest


class Client:
    """A minimal line client for the tests."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=60)
        self.reader = self.sock.makefile("rb")

    def send_line(self, data: bytes) -> dict | None:
        self.sock.sendall(data)
        line = self.reader.readline()
        return json.loads(line) if line else None

    def call(self, **request) -> dict:
        return self.send_line((json.dumps(request) + "\n").encode())

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


@pytest.fixture
def client(served):
    c = Client(served.host, served.port)
    yield c
    c.close()


@pytest.fixture(scope="module")
def loaded(served, tiny_design):
    c = Client(served.host, served.port)
    reply = c.call(
        id=1,
        op="load_design",
        name="tiny",
        **{"def": str(tiny_design.def_path)},
        lefs=[str(p) for p in tiny_design.lefs],
    )
    c.close()
    assert reply["ok"], reply
    return reply


def test_health(client, served):
    reply = client.call(id="h1", op="health")
    assert reply["ok"] and reply["id"] == "h1" and reply["status"] == "ok"
    assert reply["model"] == "sage" and reply["device"] == "cpu"
    assert reply["values"] == "relative"  # trained on each design's own target scale (the default)
    assert reply["gcell_map"] == "mapped cells"  # trained without --gcell-head


def test_load_and_estimate(client, loaded, served, tiny_design, tmp_path):
    assert loaded["cells"] == 150 and (loaded["gcells_x"], loaded["gcells_y"]) == (10, 10)
    assert "tiny" in client.call(id=2, op="designs")["designs"]
    reply = client.call(id=3, op="estimate", design="tiny", out=str(tmp_path / "it0"), threshold=0.0)
    assert reply["ok"], reply
    assert reply["cells"] == 150 and reply["hotspot_cells"] <= 150 and reply["max"] >= reply["mean"]
    assert reply["values"] == "relative"
    lines = (tmp_path / "it0.cells.tsv").read_text().splitlines()[1:]
    scores = np.array([float(line.split("\t")[1]) for line in lines])
    assert reply["max"] == pytest.approx(scores.max(), rel=1e-4)
    assert reply["cells_path"] == str(tmp_path / "it0.cells.tsv")
    # Without "out", results go to the server's --out-dir.
    default = client.call(id=4, op="estimate", design="tiny")
    assert default["cells_path"] == str(served.out_dir / "tiny.cells.tsv")


def test_update_positions_from_file_changes_estimate(client, loaded, tmp_path):
    before = client.call(id=5, op="estimate", design="tiny", out=str(tmp_path / "a"))
    positions = tmp_path / "pos.txt"
    positions.write_text("# all cells to one corner\n" + "".join(f"u{i} 36.0 36.0\n" for i in range(150)))
    moved = client.call(id=6, op="update_positions", design="tiny", positions=str(positions))
    assert moved["ok"] and moved["matched"] == 150, moved
    after = client.call(id=7, op="estimate", design="tiny", out=str(tmp_path / "b"))
    assert after["hotspot_fraction"] != before["hotspot_fraction"] or after["max"] != before["max"]


def test_update_positions_from_def(client, loaded, tiny_design):
    reply = client.call(id=8, op="update_positions", design="tiny", **{"def": str(tiny_design.def_path)})
    assert reply["ok"] and reply["matched"] == 150 and reply["reloaded"] is False, reply


@pytest.mark.parametrize(
    "line, message",
    [
        (b"{not json\n", "malformed JSON"),
        (b"[1, 2]\n", "must be a JSON object"),
        (b'{"op": "health"}\n', "no 'id'"),
        (b'{"id": 1, "op": "explode"}\n', "unknown op"),
        (b'{"id": 1, "op": "estimate", "design": "nope"}\n', "unknown design 'nope'"),
        (b'{"id": 1, "op": "load_design", "def": "/no/such.def", "lefs": ["/no/such.lef"]}\n', "such"),
        (b'{"id": 1, "op": "update_positions", "design": "tiny"}\n', "exactly one of"),
        (b'{"id": 1, "op": "estimate", "design": 5}\n', "wrong type"),
    ],
)
def test_errors_are_replies_and_the_connection_survives(client, loaded, line, message):
    reply = client.send_line(line)
    assert reply["ok"] is False and message in reply["error"], reply
    assert client.call(id="after", op="health")["ok"]


def test_oversized_line_is_refused_and_server_keeps_serving(served):
    from gsr_eda.flow.protocol import MAX_REQUEST_BYTES

    big = Client(served.host, served.port)
    big.sock.sendall(b'{"id": 1, "op": "health", "pad": "' + b"x" * (MAX_REQUEST_BYTES + 10))
    reply = json.loads(big.reader.readline())
    assert reply["ok"] is False and "exceeds" in reply["error"]
    assert big.reader.readline() == b""  # the server closed that connection
    big.close()
    fresh = Client(served.host, served.port)
    assert fresh.call(id=2, op="health")["ok"]
    fresh.close()


def test_client_disconnecting_mid_request(served, loaded, tmp_path):
    half = socket.create_connection((served.host, served.port))
    half.sendall(b'{"id": 1, "op": "estimate", "des')
    half.close()
    gone = socket.create_connection((served.host, served.port))
    gone.sendall(
        (json.dumps({"id": 2, "op": "estimate", "design": "tiny", "out": str(tmp_path / "g")}) + "\n").encode()
    )
    gone.close()  # leaves before reading the reply
    c = Client(served.host, served.port)
    assert c.call(id=3, op="health")["ok"]
    c.close()


def test_three_concurrent_clients(served, loaded, tmp_path):
    results: dict[int, list] = {}

    def work(k: int) -> None:
        c = Client(served.host, served.port)
        results[k] = [
            c.call(id=f"{k}-{i}", op="estimate", design="tiny", out=str(tmp_path / f"c{k}_{i}")) for i in range(3)
        ]
        c.close()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(results) == [0, 1, 2]
    for k, replies in results.items():
        assert [r["id"] for r in replies] == [f"{k}-{i}" for i in range(3)]
        assert all(r["ok"] for r in replies)
    assert len({r["max"] for replies in results.values() for r in replies}) == 1


def test_token_and_shutdown_in_process(tiny_checkpoint):
    from gsr_eda.errors import InputError
    from gsr_eda.flow.server import CongestionServer
    from gsr_eda.predict import load_predictor

    predictor = load_predictor(tiny_checkpoint)
    with pytest.raises(InputError, match="allow-remote"):
        CongestionServer(predictor, checkpoint="ck", host="0.0.0.0")
    with pytest.raises(InputError, match="needs --token"):
        CongestionServer(predictor, checkpoint="ck", host="0.0.0.0", allow_remote=True)
    server = CongestionServer(predictor, checkpoint="ck", token="s3cret")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        c = Client(server.host, server.port)
        assert "token" in c.call(id=1, op="health")["error"]
        assert c.call(id=2, op="health", token="s3cret")["ok"]
        assert c.call(id=3, op="shutdown", token="s3cret")["status"] == "stopping"
        c.close()
        thread.join(timeout=10)
        assert not thread.is_alive()
    finally:
        if thread.is_alive():
            server.shutdown()
        server.server_close()
