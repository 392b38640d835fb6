"""WebSocket attach (``GET /containers/(id)/attach/ws``) against the stub engine.

The client side is wireproto's own (``WSAttach`` through each adapter); the
frames' opcodes and the handshake refusals are read off a raw socket, as the
client hands every data frame out as bytes.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.adapters import Adapter
from tests.support.stub import raw
from wireproto import api
from wireproto.engine import StubEngine
from wireproto.exchange import EndOfMessage, Output
from wireproto.versions import ApiVersion

V = ApiVersion
KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's sample key
DATA = b"over the websocket\n" + bytes(range(256)) * 64


@pytest.fixture
def engine() -> Iterator[StubEngine]:
    with StubEngine() as server:
        yield server


def make(engine: StubEngine, config: dict[str, Any], prefix: str = "", start: bool = True) -> str:
    body = json.dumps({"Image": "busybox", **config})
    request = (
        f"POST {prefix}/containers/create HTTP/1.1\r\nHost: x\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}"
    )
    status, _, reply = raw(engine, request)
    assert status == 201, reply
    ident = str(json.loads(reply)["Id"])
    if start:
        started = f"POST {prefix}/containers/{ident}/start HTTP/1.1\r\nHost: x\r\n\r\n"
        assert raw(engine, started)[0] in (200, 204)
    return ident


async def run_ws(
    adapter: Adapter,
    engine: StubEngine,
    call: Any,
    send: bytes = b"",
    close_after: int | None = None,
) -> tuple[bytes, int | None, int]:
    """(output, the engine's close code, the response status): ``send`` goes to stdin, and
    stdin ends once ``close_after`` bytes of output came (never when None)."""
    async with adapter.client(engine.host) as client:
        session = await client.attach_ws(call)
        status = session.response.status
        if send:
            await session.send(send)
        if close_after == 0:
            await session.close_stdin()
        got = bytearray()
        async for event in session.events():
            if isinstance(event, Output):
                got += b"".join(bytes(p) for _, p in event.pieces)
                if close_after is not None and len(got) >= close_after:
                    await session.close_stdin()
                    close_after = None
            assert isinstance(event, Output | EndOfMessage)
        await session.aclose()
        return bytes(got), session.ws.close_code, status


def test_stdin_echoes_through_cat_and_stdin_end_ends_it(
    adapter: Adapter, engine: StubEngine
) -> None:
    ident = make(engine, {"Cmd": ["cat"], "OpenStdin": True})
    call = api.attach_ws(ident, V(1, 41), stdin=True)
    got, code, status = adapter.run(run_ws, adapter, engine, call, DATA, len(DATA))
    assert (got, code, status) == (DATA, 1000, 101)
    # Without StdinOnce the container's stdin stays open: cat still runs.
    assert engine.world.containers[ident].running


def test_stdin_once_closes_the_containers_stdin(adapter: Adapter, engine: StubEngine) -> None:
    ident = make(engine, {"Cmd": ["cat"], "OpenStdin": True, "StdinOnce": True})
    call = api.attach_ws(ident, V(1, 41), stdin=True)
    got, code, _ = adapter.run(run_ws, adapter, engine, call, DATA, 0)
    assert (got, code) == (DATA, 1000)  # the output went on until cat's exit
    record = engine.world.containers[ident]
    assert (record.state, record.exit_code) == ("exited", 0)


def test_the_close_comes_when_the_container_exits(adapter: Adapter, engine: StubEngine) -> None:
    ident = make(engine, {"Cmd": ["sh", "-c", "echo one; sleep 0.2; echo two >&2; exit 4"]})
    call = api.attach_ws(ident, V(1, 41), logs=True)
    got, code, _ = adapter.run(run_ws, adapter, engine, call)
    assert (got, code) == (b"one\ntwo\n", 1000)  # stdout and stderr merged, never framed


def test_logs_without_stream_of_an_exited_container(adapter: Adapter, engine: StubEngine) -> None:
    ident = make(engine, {"Cmd": ["echo", "done"]})
    call = api.attach_ws(ident, V(1, 41), logs=True, stream=False)
    assert adapter.run(run_ws, adapter, engine, call)[:2] == (b"done\n", 1000)


@pytest.mark.row("attach.ws.every_stream")
def test_old_engines_read_the_streams_asked_for_and_1_19_on_attach_every_one(
    adapter: Adapter,
) -> None:
    script = ["sh", "-c", "echo out; echo err >&2"]
    with StubEngine(api_version=V(1, 12)) as old:
        ident = make(old, {"Cmd": script}, "/v1.6")
        call = api.attach_ws(ident, V(1, 6), logs=True, stream=False, stdout=False)
        assert adapter.run(run_ws, adapter, old, call)[0] == b"err\n"
    with StubEngine() as modern:
        ident = make(modern, {"Cmd": script})
        call = api.attach_ws(ident, V(1, 24), logs=True, stream=False, stdout=False)
        assert adapter.run(run_ws, adapter, modern, call)[0] == b"out\nerr\n"


# --- the wire: frames, versions and the handshake --------------------------------------------


def handshake(path: str, *, origin: bool = True, version: str = "13") -> str:
    lines = [
        f"GET {path} HTTP/1.1",
        "Host: x",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {KEY}",
        f"Sec-WebSocket-Version: {version}",
    ]
    if origin:
        lines.append("Origin: http://localhost")
    return "\r\n".join(lines) + "\r\n\r\n"


def wire(engine: StubEngine, request: str, frames: bytes = b"") -> bytes:
    """Everything the engine writes for ``request`` (then ``frames``) until it closes."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(engine.socket_path or "")
        sock.sendall(request.encode() + frames)
        data = b""
        while piece := sock.recv(65536):
            data += piece
    return data


@pytest.mark.row("attach.ws.binary")
@pytest.mark.parametrize(("prefix", "opcode"), [("/v1.27", 0x81), ("/v1.28", 0x82), ("", 0x82)])
def test_text_frames_before_1_28_binary_from_it(
    engine: StubEngine, prefix: str, opcode: int
) -> None:
    ident = make(engine, {"Cmd": ["printf", "\xff\xfe not utf-8"]})
    data = wire(engine, handshake(f"{prefix}/containers/{ident}/attach/ws?logs=1"))
    head, _, frames = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head  # RFC 6455's answer
    payload = "\xff\xfe not utf-8".encode()
    assert frames == bytes((opcode, len(payload))) + payload + b"\x88\x02\x03\xe8"


@pytest.mark.parametrize(
    ("options", "status_line"),
    [
        ({"origin": False}, b"HTTP/1.1 403 Forbidden"),
        ({"version": "8"}, b"HTTP/1.1 400 Bad Request"),
    ],
)
def test_handshake_refused_as_x_net_websocket_refuses(
    engine: StubEngine, options: dict[str, Any], status_line: bytes
) -> None:
    ident = make(engine, {"Cmd": ["cat"], "OpenStdin": True})
    data = wire(engine, handshake(f"/containers/{ident}/attach/ws", **options))
    assert data.split(b"\r\n", 1)[0] == status_line


def test_unknown_container_is_an_ordinary_404(engine: StubEngine) -> None:
    status, _, body = raw(engine, handshake("/containers/nope/attach/ws"))
    assert (status, body) == (404, b'{"message":"No such container: nope"}\n')


@pytest.mark.row("attach.ws")
@pytest.mark.parametrize(("version", "found"), [(V(1, 3), False), (V(1, 4), True)])
def test_attach_ws_exists_from_1_4(version: ApiVersion, found: bool) -> None:
    with StubEngine(api_version=V(1, 12)) as engine:
        ident = make(engine, {"Cmd": ["echo", "hi"]})
        request = handshake(f"/v{version}/containers/{ident}/attach/ws?logs=1&stdout=1")
        if found:
            data = wire(engine, request)
            assert data.startswith(b"HTTP/1.1 101 ")
            assert data.endswith(b"\x81\x03hi\n\x88\x02\x03\xe8")  # text at 1.4
        else:
            assert raw(engine, request)[:3:2] == (404, b"404 page not found\n")  # Go's NotFound


def test_a_ping_is_answered_and_a_bad_frame_closes_with_1002(engine: StubEngine) -> None:
    ident = make(engine, {"Cmd": ["cat"], "OpenStdin": True})
    mask = b"\x00\x00\x00\x00"
    ping = b"\x89\x82" + mask + b"hi"
    unmasked = b"\x82\x02ok"  # a client's frame must be masked
    data = wire(engine, handshake(f"/containers/{ident}/attach/ws?stream=1"), ping + unmasked)
    frames = data.partition(b"\r\n\r\n")[2]
    assert frames == b"\x8a\x02hi" + b"\x88\x02\x03\xea"
