"""Flow control and cancellation of the async adapters (asyncio and trio), no Docker needed.

Backpressure: a fake engine writes as fast as the socket lets it while the
consumer stops asking for events; the engine must be held back by the
kernel's buffers (the adapter stops reading) and the client's memory must
stay under a ceiling.  Cancellation: a task cancelled or timed out while
waiting for output, or in the middle of a send that cannot complete,
closes the connection (the engine sees EOF, the socket's descriptor is
released), tells the exchange that pending bytes were never sent, and
leaves no task behind.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import trio

from tests.support.adapters import Adapter
from tests.support.sockets import CHUNKED_MUX, UPGRADED, FakeEngine, read_head
from wireproto import api, mux
from wireproto.errors import StreamFailed
from wireproto.exchange import Exchange, Output
from wireproto.http import BodyKind, Call, Request

FRAME = mux.encode(1, b"x" * 65536)
CHUNK = b"%x\r\n%s\r\n" % (len(FRAME), FRAME)
# What may sit between a stalled consumer and the engine: the unix socket's
# send and receive buffers (a few hundred KiB each by default) and one read
# buffer; a reader that did not stop would take hundreds of MiB in the pause.
MAX_IN_FLIGHT = 8 * 1024 * 1024
MEMORY_CEILING = 4 * 1024 * 1024


@pytest.fixture(params=["asyncio", "trio"])
def adapter(request: pytest.FixtureRequest, backend: str) -> Adapter:
    return Adapter(request.param, backend)


async def cancel_after(adapter: Adapter, seconds: float, run: Callable[[], Awaitable[Any]]) -> bool:
    """Runs ``run`` and cancels it after ``seconds``: True if it was cancelled."""
    if adapter.name == "trio":
        with trio.move_on_after(seconds) as scope:
            await run()
        return bool(scope.cancelled_caught)
    try:
        await asyncio.wait_for(run(), seconds)
    except asyncio.TimeoutError:
        return True
    return False


def socket_closed(adapter: Adapter, conn: Any) -> bool:
    if adapter.name == "trio":
        return bool(conn.stream.socket.fileno() == -1)
    sock = conn.transport.get_extra_info("socket")
    return sock is None or sock.fileno() == -1


def other_tasks(adapter: Adapter) -> int:
    if adapter.name == "trio":
        return 0  # the adapter starts no task: a scope, not a nursery
    return len(asyncio.all_tasks()) - 1


class Flood:
    """An engine that answers logs with 64 KiB frames as fast as the socket takes them."""

    def __init__(self) -> None:
        self.sent = 0
        self.stop = threading.Event()
        self.closed = threading.Event()

    def __call__(self, conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(CHUNKED_MUX)
        try:
            while not self.stop.is_set():
                conn.sendall(CHUNK)
                self.sent += len(CHUNK)
        finally:
            self.closed.set()


def test_a_stalled_consumer_holds_the_engine_back(
    adapter: Adapter, fake: Callable[..., FakeEngine]
) -> None:
    flood = Flood()
    engine = fake(flood)

    async def scenario() -> tuple[int, int, int, bool]:
        async with adapter.client(engine.host) as client, client.stream(api.logs("c1")) as s:
            received = 0
            async for event in s:
                if isinstance(event, Output):
                    received += sum(len(p) for _, p in event.pieces)
                    if received >= 1 << 20:
                        break
            await adapter.sleep(0.5)  # the consumer stalls; the engine keeps writing
            reading = adapter.name == "trio" or s.connection.transport.is_reading()  # type: ignore[union-attr]
            in_flight = flood.sent - received
            async for event in s:  # and it resumes, for 16 MiB more
                if isinstance(event, Output):
                    received += sum(len(p) for _, p in event.pieces)
                    if received >= 17 << 20:
                        break
            return in_flight, received, flood.sent, reading

    tracemalloc.start()
    try:
        in_flight, received, sent, reading = adapter.run(scenario)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        flood.stop.set()
    assert flood.closed.wait(5)
    assert not reading if adapter.name == "asyncio" else True
    assert in_flight < MAX_IN_FLIGHT, f"{in_flight} bytes in flight while the consumer stalled"
    assert received >= 17 << 20 and sent + len(CHUNK) >= received
    assert peak < MEMORY_CEILING, f"peak traced memory {peak} bytes"
    print(f"{adapter.name}: in flight {in_flight}, peak traced {peak}, received {received}")


def test_cancelled_while_waiting_for_output(
    adapter: Adapter, fake: Callable[..., FakeEngine]
) -> None:
    engine_saw_eof = threading.Event()

    def handle(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(CHUNKED_MUX + b"%x\r\n%s\r\n" % (len(FRAME), FRAME))
        if conn.recv(1) == b"":  # nothing more: wait for the client to go away
            engine_saw_eof.set()

    engine = fake(handle)
    seen: dict[str, Any] = {}

    async def scenario() -> tuple[bool, int]:
        async with adapter.client(engine.host) as client:

            async def follow() -> None:
                async with client.stream(api.logs("c1", follow=True)) as s:
                    seen["stream"] = s
                    async for _ in s:
                        pass

            cancelled = await cancel_after(adapter, 0.3, follow)
            return cancelled, other_tasks(adapter)

    cancelled, tasks = adapter.run(scenario)
    assert cancelled and tasks == 0
    assert engine_saw_eof.wait(5)
    stream = seen["stream"]
    assert socket_closed(adapter, stream.connection)
    assert stream.exchange.state == "BODY" and not stream.exchange.reusable


def test_cancelled_mid_send_tells_the_exchange(
    adapter: Adapter, fake: Callable[..., FakeEngine]
) -> None:
    """stdin the engine never reads: the send blocks, is cancelled, and send_failed() is called."""
    engine_saw_eof = threading.Event()

    def handle(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(UPGRADED)
        time.sleep(1)  # reads nothing meanwhile
        while conn.recv(1 << 20):
            pass
        engine_saw_eof.set()

    engine = fake(handle)
    seen: dict[str, Any] = {}

    async def scenario() -> bool:
        async with adapter.client(engine.host) as client:
            session = await client.hijack(api.attach("c1", stdin=True))
            seen["session"] = session

            async def flood_stdin() -> None:
                for _ in range(64):
                    await session.send(b"y" * (1 << 20))

            return await cancel_after(adapter, 0.3, flood_stdin)

    assert adapter.run(scenario)
    session = seen["session"]
    assert session.exchange.state == "FAILED"
    with pytest.raises(StreamFailed, match="sending the request failed"):
        session.exchange.next_event()
    assert socket_closed(adapter, session.connection)
    assert engine_saw_eof.wait(5)


def test_cancelled_while_sending_a_streamed_request_body(
    adapter: Adapter, fake: Callable[..., FakeEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine_saw_eof = threading.Event()

    def handle(conn: socket.socket) -> None:
        read_head(conn)
        time.sleep(1)  # reads nothing meanwhile
        while conn.recv(1 << 20):
            pass
        engine_saw_eof.set()

    engine = fake(handle)
    seen: dict[str, Any] = {}
    failed: list[Exchange] = []
    send_failed = Exchange.send_failed

    def spy(self: Exchange) -> None:
        failed.append(self)
        send_failed(self)

    monkeypatch.setattr(Exchange, "send_failed", spy)

    def body() -> Iterator[bytes]:
        for _ in range(256):
            yield b"t" * (1 << 20)

    request = Request(method="POST", target="/build", body=body())
    call = Call(request=request, kind=BodyKind.JSONSTREAM)

    async def scenario() -> bool:
        async with adapter.client(engine.host, timeout=None) as client:
            stream = client.stream(call)
            seen["stream"] = stream

            async def run() -> None:
                async with stream:
                    pass

            return await cancel_after(adapter, 0.3, run)

    assert adapter.run(scenario)
    assert seen["stream"].exchange is None  # the head never came
    assert len(failed) == 1 and failed[0].state == "FAILED" and not failed[0].reusable
    assert engine_saw_eof.wait(5)


def test_a_timeout_closes_the_connection(adapter: Adapter, fake: Callable[..., FakeEngine]) -> None:
    engine_saw_eof = threading.Event()

    def handle(conn: socket.socket) -> None:
        read_head(conn)
        if conn.recv(1) == b"":
            engine_saw_eof.set()

    engine = fake(handle)

    async def scenario() -> int:
        async with adapter.client(engine.host, timeout=0.2) as client:
            with pytest.raises(TimeoutError):
                await client.request(api.ping())
            return other_tasks(adapter)

    assert adapter.run(scenario) == 0
    assert engine_saw_eof.wait(5)
