"""Load: 1,000 concurrent log streams on asyncio and on trio, loopback only, bounded in time.

A small asyncio engine, in a thread with its own loop, serves each stream a
body unique to it (``s<stream> <n>`` lines on stdout and stderr, one chunk
per line as the engine sends them) in several bursts, so that streams
interleave.  Every stream must arrive complete and in order.  Before the
last burst every stream sits idle with its head and first output read: the
traced memory per idle stream (client and in-test engine together) is
measured there and bounded.
"""

from __future__ import annotations

import asyncio
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.support.adapters import Adapter
from wireproto import api, mux
from wireproto.exchange import Output

STREAMS = 1000
LINES = 40  # per stream and burst
BURSTS = 3
IDLE_CEILING = 64 * 1024  # bytes traced per idle stream, client and fake engine


def lines(stream: int, burst: int) -> list[tuple[int, bytes]]:
    return [(1 + (n % 2), b"s%d n%d\n" % (stream, burst * LINES + n)) for n in range(LINES)]


def expected(stream: int) -> dict[int, bytes]:
    out: dict[int, bytes] = {1: b"", 2: b""}
    for burst in range(BURSTS):
        for fd, line in lines(stream, burst):
            out[fd] += line
    return out


class LoadEngine:
    """An asyncio unix-socket engine in a thread; ``release`` lets the last bursts go."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.loop = asyncio.new_event_loop()
        self.release = asyncio.Event()
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.started.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_unix_server(self._handle, str(self.path), backlog=2048)
        )
        self.started.set()
        self.loop.run_forever()
        server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        stream = int(head.split(b"/containers/s", 1)[1].split(b"/", 1)[0])
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for burst in range(BURSTS):
            if burst == BURSTS - 1:
                await self.release.wait()
            for fd, line in lines(stream, burst):
                frame = mux.encode(fd, line)
                writer.write(b"%x\r\n%s\r\n" % (len(frame), frame))
            await writer.drain()
            await asyncio.sleep(0)
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        writer.close()

    def let_go(self) -> None:
        self.loop.call_soon_threadsafe(self.release.set)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def load_engine(tmp_path: Path) -> Iterator[LoadEngine]:
    engine = LoadEngine(tmp_path / "load.sock")
    yield engine
    engine.close()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["asyncio", "trio"])
def test_a_thousand_concurrent_log_streams(name: str, load_engine: LoadEngine) -> None:
    adapter = Adapter(name, "native" if _native() else "python")
    host = f"unix://{load_engine.path}"
    outputs = [{1: bytearray(), 2: bytearray()} for _ in range(STREAMS)]
    measured: dict[str, float] = {}

    async def one(client: Any, stream: int, first: Any) -> None:
        async with client.stream(api.logs(f"s{stream}", tty=False)) as events:
            async for event in events:
                if isinstance(event, Output):
                    for fd, piece in event.pieces:
                        outputs[stream][fd] += piece
                    if len(outputs[stream][1]) + len(outputs[stream][2]) >= 1:
                        first(stream)

    async def scenario() -> None:
        ready: set[int] = set()
        async with adapter.client(host, max_idle=0, timeout=60) as client:
            before = tracemalloc.get_traced_memory()[0]

            def first(stream: int) -> None:
                ready.add(stream)

            if name == "trio":
                async with trio.open_nursery() as nursery:
                    for stream in range(STREAMS):
                        nursery.start_soon(one, client, stream, first)
                    await _idle_then_release(adapter, ready, before, measured, load_engine)
            else:
                tasks = [asyncio.create_task(one(client, s, first)) for s in range(STREAMS)]
                await _idle_then_release(adapter, ready, before, measured, load_engine)
                await asyncio.gather(*tasks)

    tracemalloc.start()
    try:
        with _deadline(120):
            adapter.run(scenario)
    finally:
        tracemalloc.stop()
    for stream in range(STREAMS):
        want = expected(stream)
        assert outputs[stream][1] == want[1] and outputs[stream][2] == want[2], stream
    assert measured["per_idle_stream"] < IDLE_CEILING, measured
    print(f"{name}: {measured['per_idle_stream']:.0f} bytes traced per idle stream")


async def _idle_then_release(
    adapter: Adapter, ready: set[int], before: int, measured: dict[str, float], engine: LoadEngine
) -> None:
    while len(ready) < STREAMS:
        await adapter.sleep(0.05)
    await adapter.sleep(0.2)  # every stream has read what came so far and waits
    now = tracemalloc.get_traced_memory()[0]
    measured["per_idle_stream"] = (now - before) / STREAMS
    engine.let_go()


def _native() -> bool:
    from wireproto.codec import backend as _backend

    return _backend.load_native() is not None


class _deadline:
    """Fails the test instead of hanging past ``seconds`` (the load is bounded in time)."""

    def __init__(self, seconds: float) -> None:
        self.timer = threading.Timer(seconds, self._expire)
        self.expired = False

    def _expire(self) -> None:
        self.expired = True

    def __enter__(self) -> None:
        self.timer.start()

    def __exit__(self, *exc: object) -> None:
        self.timer.cancel()
        assert not self.expired, "the load test ran past its deadline"
