"""Engines that stall, trickle, refuse a request body or hang up: the three adapters, no Docker.

Strategy: every fault is a real server on loopback (a unix socket, and TCP
where resets differ), written here; every scenario runs on blocking, asyncio
and trio and on both demuxer backends.  Timeouts are measured: the call must
fail with TimeoutError within the timeout plus a margin, and a stream that
idles longer than the timeout between chunks must not be cut.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from wsproto.frame_protocol import FrameProtocol, Opcode

from tests.support.adapters import Adapter, collect
from tests.support.sockets import CHUNKED_MUX, FakeEngine, Handler, chunked, read_head
from wireproto import api, mux
from wireproto.api import build as build_api
from wireproto.api import events as events_api
from wireproto.errors import APIError, RequestCut
from wireproto.exchange import Data, EndOfMessage
from wireproto.versions import ApiVersion

V = ApiVersion(1, 41)
TIMEOUT = 1.0
MARGIN = 1.5  # a loaded 2-core machine runs six test suites at once
GATE = 20.0  # how long a stalled server holds on at most


@pytest.fixture(params=["blocking", "asyncio", "trio"])
def adapter(request: pytest.FixtureRequest, backend: str) -> Adapter:
    return Adapter(request.param, backend)


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    """Set at the end of a test: releases the servers still stalling."""
    event = threading.Event()
    yield event
    event.set()


class TCPEngine(FakeEngine):
    """FakeEngine on 127.0.0.1 (a peer that closes with unread bytes sends a reset)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.trickle = False
        self.connections = 0
        self.listener = socket.socket(socket.AF_INET)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def host(self) -> str:
        return f"tcp://127.0.0.1:{self.listener.getsockname()[1]}"


@pytest.fixture(params=["unix", "tcp"])
def engine_at(
    request: pytest.FixtureRequest, fake: Callable[..., FakeEngine]
) -> Iterator[Callable[[Handler], FakeEngine]]:
    made: list[FakeEngine] = []

    def make(handler: Handler) -> FakeEngine:
        if request.param == "unix":
            return fake(handler)
        engine = TCPEngine(handler)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.close()


def drip(conn: socket.socket, data: bytes, gate: threading.Event, every: float = 0.3) -> None:
    """Sends ``data`` one byte every ``every`` seconds, until the gate opens."""
    for i in range(len(data)):
        conn.sendall(data[i : i + 1])
        if gate.wait(every):
            return


def timed_out(adapter: Adapter, scenario: Callable[[], Any]) -> float:
    """Runs ``scenario``, which must raise TimeoutError; returns how long it took."""
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        adapter.run(scenario)
    return time.monotonic() - started


DOCUMENT = b'{"Id": "c1", "State": {"Running": true}, "Name": "/' + b"n" * 60 + b'"}'
DOCUMENT_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
DOCUMENT_HEAD += b"Content-Length: %d\r\n\r\n" % len(DOCUMENT)


# --- timeouts ------------------------------------------------------------------------------------


def inspect_with_timeout(adapter: Adapter, host: str) -> Callable[[], Any]:
    async def scenario() -> Any:
        async with adapter.client(host, timeout=TIMEOUT) as client:
            return (await client.request(api.inspect_container("c1"))).document

    return scenario


def test_an_engine_stalled_mid_body_times_out(
    adapter: Adapter, fake: Callable[..., FakeEngine], gate: threading.Event
) -> None:
    def handle(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(DOCUMENT_HEAD + DOCUMENT[:20])
        gate.wait(GATE)

    engine = fake(handle)
    assert timed_out(adapter, inspect_with_timeout(adapter, engine.host)) < TIMEOUT + MARGIN


def test_a_head_trickled_byte_by_byte_times_out(
    adapter: Adapter, fake: Callable[..., FakeEngine], gate: threading.Event
) -> None:
    def handle(conn: socket.socket) -> None:
        read_head(conn)
        drip(conn, DOCUMENT_HEAD + DOCUMENT, gate)

    engine = fake(handle)
    assert timed_out(adapter, inspect_with_timeout(adapter, engine.host)) < TIMEOUT + MARGIN


def test_a_body_trickled_byte_by_byte_times_out(
    adapter: Adapter, fake: Callable[..., FakeEngine], gate: threading.Event
) -> None:
    def handle(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(DOCUMENT_HEAD)
        drip(conn, DOCUMENT, gate)

    engine = fake(handle)
    assert timed_out(adapter, inspect_with_timeout(adapter, engine.host)) < TIMEOUT + MARGIN


def test_a_fast_document_is_not_cut(adapter: Adapter, fake: Callable[..., FakeEngine]) -> None:
    def handle(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(DOCUMENT_HEAD + DOCUMENT)

    engine = fake(handle)
    document = adapter.run(inspect_with_timeout(adapter, engine.host))
    assert document == json.loads(DOCUMENT)


IDLE = 2 * TIMEOUT  # longer than the timeout, between two chunks


def test_a_logs_stream_idling_longer_than_the_timeout_is_not_cut(
    adapter: Adapter, fake: Callable[..., FakeEngine]
) -> None:
    frames = [mux.encode(1, b"first\n"), mux.encode(2, b"second\n"), mux.encode(1, b"third\n")]

    def handle(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(CHUNKED_MUX)
        for frame in frames:
            time.sleep(IDLE)
            conn.sendall(b"%x\r\n%s\r\n" % (len(frame), frame))
        conn.sendall(b"0\r\n\r\n")

    engine = fake(handle)

    async def scenario() -> dict[int, bytearray]:
        async with (
            adapter.client(engine.host, timeout=TIMEOUT) as client,
            client.stream(api.logs("c1")) as events,
        ):
            return (await collect(events))[1]

    output = adapter.run(scenario)
    assert (output[1], output[2]) == (b"first\nthird\n", b"second\n")


def test_an_events_stream_idling_longer_than_the_timeout_is_not_cut(
    adapter: Adapter, fake: Callable[..., FakeEngine]
) -> None:
    messages = [b'{"status":"start","id":"c1"}\n', b'{"status":"die","id":"c1"}\n']

    def handle(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        for message in messages:
            time.sleep(IDLE)
            conn.sendall(chunked(message)[: -len(b"0\r\n\r\n")])
        conn.sendall(b"0\r\n\r\n")

    engine = fake(handle)

    async def scenario() -> bytes:
        got = bytearray()
        async with (
            adapter.client(engine.host, timeout=TIMEOUT) as client,
            client.stream(events_api.events(V)) as events,
        ):
            async for event in events:
                if isinstance(event, Data):
                    got += event.data
        return bytes(got)

    assert adapter.run(scenario) == b"".join(messages)


# --- an engine that refuses the request body -----------------------------------------------------

REFUSAL = json.dumps({"message": "invalid reference format"}).encode()
BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
BAD_REQUEST += b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(REFUSAL), REFUSAL)
CONTEXT_CHUNKS = 800  # 800 x 64 KiB: a 50 MiB build context


class Context:
    """A 50 MiB build context, generated; counts the chunks taken."""

    def __init__(self) -> None:
        self.taken = 0

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(CONTEXT_CHUNKS):
            self.taken += 1
            yield b"\0" * 65536


def refuse_after_head(answer: bytes) -> Handler:
    def handle(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(answer)  # and close, the body unread

    return handle


def build_call(context: Context) -> Any:
    return build_api.build(context, V, tag="Bad Tag!!")


def test_a_refused_request_body_gives_the_engine_error(
    adapter: Adapter, engine_at: Callable[[Handler], FakeEngine]
) -> None:
    engine = engine_at(refuse_after_head(BAD_REQUEST))
    context = Context()

    async def scenario() -> None:
        async with adapter.client(engine.host) as client:
            await client.request(build_call(context))

    with pytest.raises(APIError) as caught:
        adapter.run(scenario)
    assert caught.value.status == 400
    assert caught.value.message == "invalid reference format"
    assert context.taken < CONTEXT_CHUNKS  # sending stopped


def test_a_refused_request_body_with_a_success_head_is_the_send_error(
    adapter: Adapter, engine_at: Callable[[Handler], FakeEngine]
) -> None:
    """A 200 to a request that did not go out whole cannot be trusted."""
    engine = engine_at(refuse_after_head(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))

    async def scenario() -> None:
        async with adapter.client(engine.host) as client:
            await client.request(build_call(Context()))

    with pytest.raises((BrokenPipeError, ConnectionResetError)):
        adapter.run(scenario)


def test_a_request_body_refused_without_an_answer_is_the_send_error(
    adapter: Adapter, engine_at: Callable[[Handler], FakeEngine]
) -> None:
    engine = engine_at(refuse_after_head(b""))

    async def scenario() -> None:
        async with adapter.client(engine.host) as client:
            await client.request(build_call(Context()))

    with pytest.raises(RequestCut) as caught:
        adapter.run(scenario)
    assert isinstance(caught.value.__cause__, BrokenPipeError | ConnectionResetError)
    assert "closed the connection before the request was sent whole" in str(caught.value)


# --- a WebSocket engine that hangs up after its close frame --------------------------------------

WS_TEXT = b"line one\nline two\n\xff not utf-8\nlast line\n"


def ws_hang_up(conn: socket.socket) -> None:
    """Answers the handshake, sends the output and a close frame, and closes at once."""
    head = read_head(conn)
    key = next(
        line.split(b":", 1)[1].strip()
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key:")
    )
    accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    frames = FrameProtocol(client=False, extensions=[])
    lines = WS_TEXT.splitlines(keepends=True)
    out = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    out += b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    out += b"".join(bytes(frames._serialize_frame(Opcode.TEXT, line)) for line in lines)
    out += bytes(frames.close(1000))
    conn.sendall(out)
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


def test_ws_output_comes_out_when_the_engine_already_hung_up(
    adapter: Adapter, engine_at: Callable[[Handler], FakeEngine]
) -> None:
    engine = engine_at(ws_hang_up)

    async def scenario() -> tuple[bytes, bool, int | None]:
        async with adapter.client(engine.host) as client:
            session = await client.attach_ws(api.attach_ws("c1", V, logs=True, stream=False))
            events, output = await collect(session.events())
            ended = isinstance(events[-1], EndOfMessage)
            await session.aclose()
            return bytes(output[mux.STDOUT]), ended, session.ws.close_code

    for _ in range(20):
        assert adapter.run(scenario) == (WS_TEXT, True, 1000)


def test_hijacked_output_comes_out_when_stdin_finds_the_engine_gone(
    adapter: Adapter, engine_at: Callable[[Handler], FakeEngine]
) -> None:
    """Stdin written after the engine hung up fails; the output it sent is still read."""
    output = b"all the output\n" * 100
    upgraded = b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
    upgraded += b"Content-Type: application/vnd.docker.raw-stream\r\n\r\n"

    def handle(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(upgraded + output)
        conn.shutdown(socket.SHUT_RDWR)

    engine = engine_at(handle)

    async def scenario() -> tuple[bytes, bool]:
        async with adapter.client(engine.host) as client:
            session = await client.hijack(api.attach("c1", ApiVersion(1, 41), stdin=True))
            await adapter.sleep(0.2)  # the engine is gone by now
            failed = False
            for _ in range(20):  # the first writes may still land in a socket buffer
                try:
                    await session.send(b"x" * 65536)
                except OSError:
                    failed = True
                    break
            _, got = await collect(session.events())
            await session.aclose()
            return bytes(got[mux.STDOUT]), failed

    assert adapter.run(scenario) == (output, True)


def test_the_cli_says_the_engine_cut_the_build_upload(
    tmp_path: Path, engine_at: Callable[[Handler], FakeEngine]
) -> None:
    """``wireproto build`` to an engine that hangs up mid-upload says so, not a bare errno."""
    engine = engine_at(refuse_after_head(b""))
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text("FROM busybox\n")
    (context / "big").write_bytes(b"x" * (8 << 20))  # more than the socket buffers take
    command = [sys.executable, "-m", "wireproto", "-H", engine.host, "--api-version", "1.41"]
    done = subprocess.run(
        [*command, "build", "-t", "x", str(context)], capture_output=True, timeout=60
    )
    assert done.returncode == 1
    assert b"closed the connection before the request was sent whole" in done.stderr
    assert b"Errno" not in done.stderr
