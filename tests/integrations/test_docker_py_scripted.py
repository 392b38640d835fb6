"""docker-py on wireproto against stock docker-py, on exactly the same bytes
(a scripted loopback peer): items, types, order, Nones and errors alike; and
the defects of stock docker-py that wireproto fixes."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import docker
import pytest

from tests.integrations.scripted import (
    CONTAINER,
    chunked,
    frames,
    inspect,
    ok,
    scripted,
    upgraded,
)
from wireproto.integrations import docker_py

LOGS = f"/containers/{CONTAINER}/logs"
JSON = f"/containers/{CONTAINER}/json"
ATTACH = f"/containers/{CONTAINER}/attach"
LINES = [(1, b"line %d\n" % i) for i in range(50)] + [(2, b"err\n"), (1, b""), (1, b"z" * 3000)]
WIRE = frames(*LINES)
# The chunks cut frames anywhere (headers included), as a proxy may.
CUT_CHUNKS = [WIRE[i : i + 37] for i in range(0, len(WIRE), 37)]


def both(script: dict[str, bytes], call: Callable[[Any], Any]) -> tuple[Any, Any]:
    """What ``call`` gives (or raises) on stock docker-py and on wireproto."""
    results: list[tuple[Any, ...]] = []
    with scripted(script) as url:
        for cls in (docker.APIClient, docker_py.APIClient):
            client = cls(base_url=url, version="1.41")
            try:
                results.append(("ok", call(client)))
            except Exception as error:
                results.append(("error", type(error), str(error)))
            finally:
                client.close()
    return results[0], results[1]


def with_types(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [with_types(v) for v in value]
    return (type(value).__name__, value)


@pytest.mark.parametrize("chunks", [[WIRE], CUT_CHUNKS, [bytes([b]) for b in WIRE[:400]]])
def test_logs_stream_items_alike(chunks: list[bytes]) -> None:
    script = {JSON: inspect(False), LOGS: ok(chunked(*chunks), b"application/octet-stream")}
    stock, ours = both(script, lambda c: with_types(list(c.logs(CONTAINER, stream=True))))
    assert stock == ours
    assert stock[0] == "ok"


@pytest.mark.parametrize("tty", [False, True])
@pytest.mark.parametrize("chunks", [[WIRE], CUT_CHUNKS])
def test_logs_buffered_alike(chunks: list[bytes], tty: bool) -> None:
    script = {JSON: inspect(tty), LOGS: ok(chunked(*chunks), b"application/octet-stream")}
    stock, ours = both(script, lambda c: with_types(c.logs(CONTAINER)))
    assert stock == ours
    assert stock[0] == "ok"


@pytest.mark.parametrize("cut", [3, 500, len(WIRE) - 100])
def test_a_cut_logs_stream_ends_alike(cut: int) -> None:
    answer = ok(chunked(WIRE)[: cut + 5], b"application/octet-stream")
    answer = answer.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
    script = {JSON: inspect(False), LOGS: answer}
    stock, ours = both(script, lambda c: with_types(list(c.logs(CONTAINER, stream=True))))
    assert stock == ours


def test_a_cut_logs_stream_is_a_typed_error_when_strict() -> None:
    answer = ok(chunked(WIRE)[:500], b"application/octet-stream")
    answer = answer.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1)
    with scripted({JSON: inspect(False), LOGS: answer}) as url:
        client = docker_py.APIClient(base_url=url, version="1.41", strict=True)
        from wireproto.errors import IncompleteBody

        with pytest.raises(IncompleteBody):
            list(client.logs(CONTAINER, stream=True))


@pytest.mark.parametrize("decode", [False, True])
def test_json_stream_items_alike(decode: bool) -> None:
    messages = [b'{"status":"Pulling","id":"%d"}\r\n' % i for i in range(20)]
    body = chunked(*messages, b'{"status":"a"}{"status":"b"}\n', b'{"stat', b'us":"c"}\n')
    script = {"/images/create": ok(body)}
    stock, ours = both(script, lambda c: with_types(list(c.pull("x", tag="1", stream=True,
                                                                  decode=decode))))
    assert stock == ours
    assert stock[0] == "ok"


def test_json_stream_error_alike() -> None:
    script = {"/images/create": ok(chunked(b'{"status":"a"}\n', b'{"broken'))}
    stock, ours = both(script, lambda c: list(c.pull("x", tag="1", stream=True, decode=True)))
    assert stock == ours
    assert stock[0] == "error"


@pytest.mark.parametrize("demux", [False, True])
@pytest.mark.parametrize(
    "stream", [[(1, b"out\n")], [(2, b"err\n")], [(1, b"a"), (2, b"b"), (1, b"c")], []]
)
def test_exec_start_alike_when_nothing_comes_with_the_head(
    demux: bool, stream: list[tuple[int, bytes]]
) -> None:
    # Stock docker-py only gets this right when the head came alone: the peer
    # sends head and stream in one write, so compare on what it does get right
    # (no bytes with the head means: an empty stream).
    script = {"/exec/e1/start": upgraded(b""), "/exec/e1/json": inspect(False)}
    stock, ours = both(script, lambda c: c.exec_start("e1", demux=demux))
    assert stock == ours
    assert stock == ("ok", (None, None) if demux else b"")


def client_class() -> Any:
    """The client the regression tests run on; WIREPROTO_DOCKERPY_STOCK=1 runs
    them on stock docker-py, to see them fail there."""
    return docker.APIClient if os.environ.get("WIREPROTO_DOCKERPY_STOCK") else docker_py.APIClient


@pytest.mark.parametrize("demux", [False, True])
def test_regression_frames_that_came_with_the_101_head_are_kept(demux: bool) -> None:
    items = [(1, b"first line\n"), (2, b"an error\n"), (1, b"0" * 5000)]
    script = {"/exec/e1/start": upgraded(frames(*items))}
    with scripted(script) as url:
        client = client_class()(base_url=url, version="1.41")
        got = client.exec_start("e1", demux=demux)
    if demux:
        assert got == (b"first line\n" + b"0" * 5000, b"an error\n")
    else:
        assert got == b"first line\nan error\n" + b"0" * 5000


def test_regression_attach_socket_serves_the_head_bytes_first() -> None:
    script = {ATTACH: upgraded(frames((1, b"hello\n"))), JSON: inspect(False)}
    with scripted(script) as url:
        client = client_class()(base_url=url, version="1.41")
        sock = client.attach_socket(CONTAINER, params={"stdout": 1, "stream": 1})
        data = b""
        while chunk := sock.read(4096):
            data += chunk
    assert data == frames((1, b"hello\n"))


def test_regression_a_character_split_between_chunks_stays_whole() -> None:
    message = '{"status":"Téléchargement ✓"}\n'.encode()
    cut = message.index("✓".encode()) + 1  # inside the three bytes of the check mark
    script = {"/images/create": ok(chunked(message[:cut], message[cut:]))}
    with scripted(script) as url:
        client = client_class()(base_url=url, version="1.41")
        got = list(client.pull("x", tag="1", stream=True, decode=True))
    assert got == [{"status": "Téléchargement ✓"}]
