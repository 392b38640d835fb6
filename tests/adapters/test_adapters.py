"""One behavioural suite for the three adapters (blocking, asyncio, trio), no Docker needed.

Strategy: each scenario is written once, as an async function over an async
client; the blocking client runs behind a thin async facade.  Fake engines
are threads on unix sockets that answer from canned bytes; with
``delivery="byte_by_byte"`` they write the response one byte at a time and
the client reads one byte per read (every adapter's read buffer is patched
to a single byte), so every head, chunk and frame boundary falls between
two reads.  Both demuxer backends run every scenario.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.adapters import Adapter, collect
from tests.support.sockets import (
    CHUNKED_MUX,
    PING_OK,
    UPGRADED,
    FakeEngine,
    Handler,
    TLSVerifyEngine,
    answer,
    before_ping,
    chunked,
    keep_alive,
    read_head,
)
from wireproto import api, mux
from wireproto.errors import (
    APIError,
    EngineUnreachable,
    IncompleteBody,
    InvalidFrameHeader,
    NotFound,
)
from wireproto.exchange import EndOfMessage, Output
from wireproto.http import Response
from wireproto.versions import ApiVersion

# --- requests and keep-alive ---------------------------------------------------------------------


def test_sequential_calls_reuse_one_connection(
    adapter: Adapter, fake: Callable[..., FakeEngine], delivery: str
) -> None:
    requests: list[bytes] = []
    engine = fake(keep_alive(requests=requests), trickle=delivery == "byte_by_byte")

    async def scenario() -> list[bytes]:
        async with adapter.client(engine.host) as client:
            return [(await client.request(api.ping())).data for _ in range(3)]

    assert adapter.run(scenario) == [b"OK"] * 3
    assert engine.connections == 1 and len(requests) == 3
    assert requests[0].startswith(b"GET /_ping HTTP/1.1\r\n")


def test_a_connection_the_engine_closed_is_replaced(
    adapter: Adapter, fake: Callable[..., FakeEngine]
) -> None:
    engine = fake(keep_alive(limit=1))

    async def scenario() -> None:
        async with adapter.client(engine.host) as client:
            for _ in range(3):
                assert (await client.request(api.ping())).data == b"OK"
                await adapter.sleep(0.01)

    adapter.run(scenario)
    assert engine.connections == 3


def test_a_stale_connection_is_retried_once(
    adapter: Adapter, fake: Callable[..., FakeEngine]
) -> None:
    """The engine closes the idle connection just as the next request goes out."""

    def handle(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(PING_OK)
        read_head(conn)  # the second request: dropped unanswered

    engine = fake(handle)

    async def scenario() -> None:
        async with adapter.client(engine.host) as client:
            for _ in range(2):
                assert (await client.request(api.ping())).data == b"OK"

    adapter.run(scenario)
    assert engine.connections == 2


def test_connection_close_is_honoured(adapter: Adapter, fake: Callable[..., FakeEngine]) -> None:
    engine = fake(answer(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nOK"))

    async def scenario() -> None:
        async with adapter.client(engine.host) as client:
            await client.request(api.ping())
            await client.request(api.ping())

    adapter.run(scenario)
    assert engine.connections == 2


def test_negotiation_and_its_fallback(adapter: Adapter, fake: Callable[..., FakeEngine]) -> None:
    modern = fake(keep_alive())
    legacy = fake(before_ping)

    async def scenario() -> tuple[Any, ...]:
        async with adapter.client(modern.host) as a, adapter.client(legacy.host) as b:
            return (
                await a.negotiate(),
                await a.negotiate(ApiVersion(1, 12)),
                await b.negotiate(),
            )

    assert adapter.run(scenario) == (ApiVersion(1, 41), ApiVersion(1, 12), ApiVersion(1, 9))


def test_a_document_and_an_api_error(
    adapter: Adapter, fake: Callable[..., FakeEngine], delivery: str
) -> None:
    body = b'{"Id":"c1","State":{"Running":true}}'
    error = b'{"message":"No such container: c2"}'

    def handle(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        read_head(conn)
        conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n")
        conn.sendall(b"Content-Length: %d\r\n\r\n%s" % (len(error), error))

    engine = fake(handle, trickle=delivery == "byte_by_byte")

    async def scenario() -> object:
        async with adapter.client(engine.host) as client:
            document = (await client.request(api.inspect_container("c1"))).document
            with pytest.raises(NotFound) as caught:
                await client.request(api.inspect_container("c2"))
            assert caught.value.message == "No such container: c2"
            return document

    assert adapter.run(scenario) == {"Id": "c1", "State": {"Running": True}}
    assert engine.connections == 1


# --- streams -------------------------------------------------------------------------------------


def test_logs_stream_byte_exact(
    adapter: Adapter, fake: Callable[..., FakeEngine], delivery: str
) -> None:
    out = b"".join(b"line %d\n" % i for i in range(200))
    err = bytes(range(256)) * 4
    frames = [mux.encode(1 + (i % 2), (out, err)[i % 2][i * 50 : i * 50 + 50]) for i in range(40)]
    frames += [mux.encode(1, out[1000:]), mux.encode(2, err[1000:]), mux.encode(1, b"")]
    expected_out = b"".join(out[i * 50 : i * 50 + 50] for i in range(0, 40, 2)) + out[1000:]
    expected_err = b"".join(err[i * 50 : i * 50 + 50] for i in range(1, 40, 2)) + err[1000:]
    engine = fake(answer(CHUNKED_MUX + chunked(*frames)), trickle=delivery == "byte_by_byte")

    async def scenario() -> tuple[list[Any], dict[int, bytearray]]:
        async with adapter.client(engine.host) as client, client.stream(api.logs("c1")) as s:
            return await collect(s)

    events, output = adapter.run(scenario)
    assert isinstance(events[0], Response) and events[0].status == 200
    assert isinstance(events[-1], EndOfMessage)
    assert output[1] == expected_out and output[2] == expected_err


def test_logs_into_sinks(adapter: Adapter, fake: Callable[..., FakeEngine]) -> None:
    frames = [mux.encode(1, b"x" * 1000), mux.encode(2, b"y" * 10), mux.encode(1, b"z")]
    engine = fake(answer(CHUNKED_MUX + chunked(*frames)))
    sinks = [bytearray() for _ in range(4)]

    async def scenario() -> list[Any]:
        async with (
            adapter.client(engine.host) as client,
            client.stream(api.logs("c1"), sinks=sinks) as events,
        ):
            return [event async for event in events]

    events = adapter.run(scenario)
    assert [type(e) for e in events] == [Response, EndOfMessage]
    assert (sinks[1], sinks[2]) == (b"x" * 1000 + b"z", b"y" * 10)


def test_a_stream_cut_short_raises_after_the_data(
    adapter: Adapter, fake: Callable[..., FakeEngine], delivery: str
) -> None:
    body = b"%x\r\n%s\r\n" % (11, mux.encode(1, b"line\n")[:11])
    engine = fake(answer(CHUNKED_MUX + body), trickle=delivery == "byte_by_byte")
    output = bytearray()

    async def scenario() -> None:
        async with adapter.client(engine.host) as client, client.stream(api.logs("c1")) as s:
            async for event in s:
                if isinstance(event, Output):
                    output.extend(b"".join(bytes(p) for _, p in event.pieces))

    with pytest.raises(IncompleteBody):
        adapter.run(scenario)
    assert output == b"lin"


def test_a_bad_frame_raises_after_the_data_before_it(
    adapter: Adapter, fake: Callable[..., FakeEngine], delivery: str
) -> None:
    body = chunked(mux.encode(1, b"good\n") + b"\x07\x00\x00\x00\x00\x00\x00\x01x")
    engine = fake(answer(CHUNKED_MUX + body), trickle=delivery == "byte_by_byte")
    output = bytearray()

    async def scenario() -> None:
        async with adapter.client(engine.host) as client, client.stream(api.logs("c1")) as s:
            async for event in s:
                if isinstance(event, Output):
                    output.extend(b"".join(bytes(p) for _, p in event.pieces))

    with pytest.raises(InvalidFrameHeader):
        adapter.run(scenario)
    assert output == b"good\n"


# --- hijacked sessions ---------------------------------------------------------------------------


def echo_after_half_close(received: bytearray, done: threading.Event) -> Handler:
    def handle(conn: socket.socket) -> None:
        read_head(conn)
        # The first output travels in the same segment as the 101 head.
        conn.sendall(UPGRADED + mux.encode(1, b"ready\n"))
        while chunk := conn.recv(65536):  # stdin until the client's half-close
            received.extend(chunk)
        conn.sendall(mux.encode(1, bytes(received)) + mux.encode(2, b"bye\n"))
        done.set()

    return handle


def test_hijacked_session_with_half_close(
    adapter: Adapter, fake: Callable[..., FakeEngine], delivery: str
) -> None:
    received = bytearray()
    done = threading.Event()
    engine = fake(echo_after_half_close(received, done), trickle=delivery == "byte_by_byte")
    payload = bytes(range(256)) * 64

    async def scenario() -> tuple[Any, dict[int, bytearray]]:
        async with adapter.client(engine.host) as client:
            session = await client.hijack(api.attach("c1", stdin=True))
            await session.send(b"hello ")
            await session.send(payload)
            await session.close_stdin()
            _, output = await collect(session.events())
            await session.aclose()
            return session.response, output

    response, output = adapter.run(scenario)
    assert done.wait(5)
    assert response.status == 101 and response.hijacked
    assert received == b"hello " + payload
    assert output[1] == b"ready\nhello " + payload and output[2] == b"bye\n"


def test_hijacked_session_into_sinks(adapter: Adapter, fake: Callable[..., FakeEngine]) -> None:
    engine = fake(answer(UPGRADED + mux.encode(1, b"out") + mux.encode(2, b"err")))
    sinks = [bytearray() for _ in range(4)]

    async def scenario() -> list[Any]:
        async with adapter.client(engine.host) as client:
            session = await client.hijack(api.attach("c1", tty=False), sinks=sinks)
            events = [event async for event in session.events()]
            await session.aclose()
            return events

    events = adapter.run(scenario)
    assert [type(e) for e in events] == [EndOfMessage]
    assert (sinks[1], sinks[2]) == (b"out", b"err")


def test_hijack_error_reply(adapter: Adapter, fake: Callable[..., FakeEngine]) -> None:
    engine = fake(answer(b"HTTP/1.1 404 Not Found\r\n\r\nNo such container: c1\r\n"))

    async def scenario() -> None:
        async with adapter.client(engine.host) as client:
            await client.hijack(api.attach("c1"))

    with pytest.raises(NotFound, match="No such container: c1"):
        adapter.run(scenario)


# --- errors --------------------------------------------------------------------------------------


def test_timeout_waiting_for_the_head(adapter: Adapter, fake: Callable[..., FakeEngine]) -> None:
    gate = threading.Event()

    def handle(conn: socket.socket) -> None:
        read_head(conn)
        gate.wait(5)

    engine = fake(handle)

    async def scenario() -> None:
        async with adapter.client(engine.host, timeout=0.2) as client:
            await client.request(api.ping())

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        adapter.run(scenario)
    assert time.monotonic() - started < 3
    gate.set()


def test_unreachable(adapter: Adapter, tmp_path: Path) -> None:
    async def scenario(host: str) -> None:
        async with adapter.client(host) as client:
            await client.request(api.ping())

    with pytest.raises(EngineUnreachable, match="cannot connect"):
        adapter.run(scenario, f"unix://{tmp_path}/none.sock")
    with pytest.raises(EngineUnreachable):
        adapter.run(scenario, "tcp://127.0.0.1:1")


def test_an_error_status_with_a_plain_body(
    adapter: Adapter, fake: Callable[..., FakeEngine]
) -> None:
    engine = fake(answer(b"HTTP/1.1 500 Server Error\r\nContent-Length: 4\r\n\r\nboom"))

    async def scenario() -> None:
        async with adapter.client(engine.host) as client:
            await client.request(api.ping())

    with pytest.raises(APIError) as caught:
        adapter.run(scenario)
    assert caught.value.status == 500 and caught.value.message == "boom"


def test_a_failed_stream_stays_over(
    async_adapter: Adapter, fake: Callable[..., FakeEngine]
) -> None:
    """After a bad frame, asking again ends the stream (never a hang, never more data).

    (A blocking stream is a generator, which Python itself ends after it raises.)
    """
    adapter = async_adapter
    body = chunked(b"\x09\x00\x00\x00\x00\x00\x00\x01x")
    engine = fake(answer(CHUNKED_MUX + body))

    async def scenario() -> None:
        async with adapter.client(engine.host) as client:
            stream = client.stream(api.logs("c1"))
            async with stream:
                with pytest.raises(InvalidFrameHeader):
                    async for _ in stream:
                        pass
                with pytest.raises(StopAsyncIteration):
                    await stream.__anext__()

    adapter.run(scenario)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls_with_verification_and_a_client_certificate(adapter: Adapter, tmp_path: Path) -> None:
    engine = TLSVerifyEngine(tmp_path, [PING_OK, CHUNKED_MUX + chunked(mux.encode(1, b"secure\n"))])
    env = {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)}

    async def scenario() -> tuple[bytes, dict[int, bytearray]]:
        async with adapter.client(f"tcp://localhost:{engine.port}", environ=env) as client:
            ping = (await client.request(api.ping())).data
            async with client.stream(api.logs("c1")) as events:
                return ping, (await collect(events))[1]

    ping, output = adapter.run(scenario)
    engine.close()
    assert ping == b"OK" and output[1] == b"secure\n"
    assert b"Host: localhost:%d\r\n" % engine.port in engine.seen[0]
