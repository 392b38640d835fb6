"""The blocking adapter and the exchange against a real engine."""

from __future__ import annotations

import json
import socket
import time

import pytest

from tests.support.engine import Engine
from wireproto import api, mux
from wireproto import exchange as ex
from wireproto.adapters.blocking import Client
from wireproto.errors import APIError, NotFound
from wireproto.versions import ApiVersion

pytestmark = pytest.mark.engine


def test_negotiates_the_engines_version(engine: Engine) -> None:
    with Client(engine.host) as client:
        version = client.negotiate()
    assert version is not None and ApiVersion(1, 24) <= version


def test_sequential_calls_share_a_connection(engine: Engine, sleeper: str) -> None:
    with Client(engine.host) as client:
        connects = 0
        connect = client.connect

        def counting() -> socket.socket:
            nonlocal connects
            connects += 1
            return connect()

        client.connect = counting  # type: ignore[method-assign]
        client.negotiate()
        for _ in range(3):
            document = client.request(api.inspect_container(sleeper)).document
            assert isinstance(document, dict) and document["Id"] == sleeper
    assert connects == 1


@pytest.mark.parametrize("version", [ApiVersion(1, 12), ApiVersion(1, 24), None])
def test_errors_at_old_and_new_versions(engine: Engine, version: ApiVersion | None) -> None:
    with Client(engine.host) as client, pytest.raises(NotFound) as caught:
        client.request(api.inspect_container("wp-no-such", version))
    assert caught.value.message == "No such container: wp-no-such"
    assert caught.value.body.startswith(b"{" if version != ApiVersion(1, 12) else b"No such")


def test_a_version_below_the_engines_minimum_is_an_api_error(engine: Engine) -> None:
    with Client(engine.host) as client, pytest.raises(APIError) as caught:
        client.request(api.engine_version(ApiVersion(1, 5)))
    assert caught.value.status == 400 and "too old" in caught.value.message


def test_output_in_the_segment_of_the_101_head(engine: Engine, sleeper: str, backend: str) -> None:
    """Read the 101 head and the first output in one recv, then feed it: nothing is lost."""
    assert engine.socket_path is not None
    with Client(engine.host) as client:
        created = client.request(api.exec_create(sleeper, ["echo", "first"])).document
    assert isinstance(created, dict)
    exchange = ex.Exchange(api.exec_start(str(created["Id"])), backend=backend)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(engine.socket_path)
        sock.sendall(exchange.data_to_send())
        time.sleep(0.5)  # the output is written by now: one read takes head and output
        segment = sock.recv(65536)
        rest = b""
        while chunk := sock.recv(65536):
            rest += chunk
    assert segment.startswith(b"HTTP/1.1 101") and segment.endswith(mux.encode(1, b"first\n"))
    output = bytearray()
    for data in [segment, *([rest] if rest else []), b""]:
        exchange.receive_data(data)
        while (event := exchange.next_event()) not in (ex.NEED_DATA, ex.PAUSED):
            if isinstance(event, ex.Output):
                output += b"".join(bytes(p) for _, p in event.pieces)
            if isinstance(event, ex.EndOfMessage):
                break
    assert output == b"first\n"


def test_hijacked_exec_session(engine: Engine, sleeper: str) -> None:
    with Client(engine.host) as client:
        client.negotiate()
        created = client.request(
            api.exec_create(sleeper, ["sh", "-c", "cat; echo done >&2"], stdin=True)
        ).document
        assert isinstance(created, dict)
        session = client.hijack(api.exec_start(str(created["Id"])))
        payload = bytes(range(256)) * 1000
        session.send(payload)
        session.close_stdin()
        out, err = bytearray(), bytearray()
        for stream, data in session:
            (out if stream == mux.STDOUT else err).extend(data)
        session.close()
        inspected = client.request(api.exec_inspect(str(created["Id"]))).document
    assert out == payload and err == b"done\n"
    assert isinstance(inspected, dict) and inspected["ExitCode"] == 0


def test_logs_stream_events(engine: Engine) -> None:
    cid = engine.run_container(["sh", "-c", "echo a; echo b >&2"])
    with Client(engine.host) as client:
        events = list(client.stream(api.logs(cid, ApiVersion(1, 12))))
        pieces = [(s, bytes(p)) for e in events if isinstance(e, ex.Output) for s, p in e.pieces]
    assert sorted(pieces) == [(1, b"a\n"), (2, b"b\n")]
    assert isinstance(events[-1], ex.EndOfMessage)


def test_version_document(engine: Engine) -> None:
    with Client(engine.host) as client:
        document = client.request(api.engine_version(ApiVersion(1, 12))).document
    assert isinstance(document, dict) and "ApiVersion" in document
    json.dumps(document)
