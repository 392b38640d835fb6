"""Chunked logs in memory: the public ``Exchange`` against other HTTP parsers.

The response is what dockerd sends for ``GET /containers/(id)/logs`` without
a TTY: a head, then a chunked body of one multiplexed frame per HTTP chunk
(70/30 stdout/stderr, seeded), here with chunks of 128 bytes (log lines) and
of 16 KiB (export, save, big lines), cut into 64 KiB reads as a socket would
hand them out.  wireproto runs through its public API (``Exchange``): with
sinks or with Output events, the caller knowing there is no TTY
(``tty=False``) or not (``tty=None``, the default: the framing is sniffed).
The other parsers only de-chunk (none of them demultiplexes): h11, aiohttp's
C parser and ``http.client`` reading an in-memory socket; the limit is a
plain copy of the reads.  A contender that is not installed is reported as
such, with how to install it.
"""

from __future__ import annotations

import asyncio
import http.client
import io
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import h11

from wireproto import api, mux
from wireproto.exchange import NEED_DATA, Exchange, Output

READ_SIZE = 64 * 1024
CHUNK_SIZES = (128, 16 * 1024)
HEAD = (
    b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\n"
    b"Content-Type: application/vnd.docker.raw-stream\r\n"
    b"Docker-Experimental: false\r\nOstype: linux\r\nServer: Docker/20.10.24 (linux)\r\n"
    b"Date: Mon, 01 Jan 2024 00:00:00 GMT\r\nTransfer-Encoding: chunked\r\n\r\n"
)
INSTALL_HINT = "pip install '.[bench]'"


@dataclass(frozen=True)
class Work:
    chunk_size: int
    reads: list[memoryview]  # the whole response, head included
    payload: int  # frame payload bytes (what a demultiplexer hands out)
    chunk_data: int  # chunk data bytes (what a de-chunking parser hands out)
    size: int  # response bytes


def workload(chunk_size: int, size: int, seed: int = 128) -> Work:
    """About ``size`` bytes of response: one frame per chunk, each ``chunk_size`` bytes."""
    rng = random.Random(f"{seed}-{chunk_size}")
    line = chunk_size - mux.HEADER_SIZE
    text = bytes(rng.choice(b"abcdefgh ") for _ in range(line + 64))
    chunks = []
    for _ in range(max(1, min(4096, size // chunk_size))):
        stream = mux.STDOUT if rng.random() < 0.7 else mux.STDERR
        start = rng.randrange(64)
        frame = mux.encode(stream, text[start : start + line - 1] + b"\n")
        chunks.append(b"%x\r\n%s\r\n" % (len(frame), frame))
    block = b"".join(chunks)
    repeats = max(1, size // len(block))
    data = HEAD + block * repeats + b"0\r\n\r\n"
    view = memoryview(data)
    reads = [view[i : i + READ_SIZE] for i in range(0, len(view), READ_SIZE)]
    count = len(chunks) * repeats
    return Work(chunk_size, reads, count * line, count * chunk_size, len(data))


class _Counter:
    """A sink that only counts (a consumer writing the output out would drain it)."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, data: memoryview, /) -> int:
        self.count += len(data)
        return len(data)


def exchange_sinks(tty: bool | None) -> Callable[[Work], int]:
    def run(work: Work) -> int:
        counter = _Counter()
        exchange = Exchange(api.logs("bench", tty=tty), sinks=[counter] * 4)
        exchange.data_to_send()
        for data in work.reads:
            exchange.receive_data(data)
            while exchange.next_event() is not NEED_DATA:
                if exchange.state == "DONE":
                    break
        return counter.count

    return run


def exchange_events(tty: bool | None) -> Callable[[Work], int]:
    def run(work: Work) -> int:
        exchange = Exchange(api.logs("bench", tty=tty))
        exchange.data_to_send()
        seen = 0
        for data in work.reads:
            exchange.receive_data(data)
            while (event := exchange.next_event()) is not NEED_DATA:
                if isinstance(event, Output):
                    seen += sum(len(piece) for _, piece in event.pieces)
                elif exchange.state == "DONE":
                    break
        return seen

    return run


def run_h11(work: Work) -> int:
    return h11_dechunked(work.reads)


def h11_dechunked(reads: Iterable[bytes | memoryview]) -> int:
    """The body bytes h11 hands out for a response fed as ``reads`` (head first), as a
    client that sent a GET would; it de-chunks only."""
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/logs", headers=[("Host", "docker")]))
    client.send(h11.EndOfMessage())
    seen = 0
    for data in reads:
        client.receive_data(bytes(data))
        while True:
            event = client.next_event()
            if event is h11.NEED_DATA or isinstance(event, h11.EndOfMessage):
                break
            if isinstance(event, h11.Data):
                seen += len(event.data)
    return seen


def run_aiohttp(work: Work) -> int:
    """aiohttp's C response parser (what aiodocker runs on), its payload drained per read."""
    from aiohttp.base_protocol import BaseProtocol
    from aiohttp.http_parser import HttpResponseParserC

    loop = asyncio.new_event_loop()
    try:
        parser = HttpResponseParserC(BaseProtocol(loop), loop, 2**16)
        payload = None
        seen = 0
        for data in work.reads:
            messages, _upgraded, _tail = parser.feed_data(bytes(data))
            if messages:
                payload = messages[0][1]
            while payload is not None and (piece := payload.read_nowait()):
                seen += len(piece)
        return seen
    finally:
        loop.close()


class _MemorySocket:
    """What http.client.HTTPResponse needs of a socket: ``makefile`` over the reads."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self._data), READ_SIZE)


def run_http_client(work: Work) -> int:
    data = b"".join(work.reads)  # before the clock would be fairer; it is a memcpy (the limit)
    response = http.client.HTTPResponse(_MemorySocket(data))  # type: ignore[arg-type]
    response.begin()
    seen = 0
    while piece := response.read(READ_SIZE):
        seen += len(piece)
    return seen


_COPY_TARGETS: dict[int, bytearray] = {}


def memcpy(work: Work) -> int:
    target = _COPY_TARGETS.setdefault(work.size, bytearray(work.size))
    view, position = memoryview(target), 0
    for data in work.reads:
        view[position : position + len(data)] = data
        position += len(data)
    return work.payload  # counts as having seen every payload byte


@dataclass(frozen=True)
class Contender:
    name: str
    run: Callable[[Work], int]
    sees: str  # "payload" (demultiplexed) or "chunks" (de-chunked only)
    slow: bool = False  # runs over the smaller workload
    missing: str | None = None  # why it cannot run, and how to install it


LIMIT = "memory copy (limit)"
BASELINE = "h11"
ANCHORS = ("h11", "aiohttp C parser", "http.client")


def contenders() -> list[Contender]:
    entrants = [
        Contender(LIMIT, memcpy, "payload"),
        Contender("Exchange + sinks, tty known", exchange_sinks(False), "payload"),
        Contender("Exchange + sinks, sniffed", exchange_sinks(None), "payload"),
        Contender("Exchange Output, tty known", exchange_events(False), "payload"),
        Contender("Exchange Output, sniffed", exchange_events(None), "payload"),
        Contender(BASELINE, run_h11, "chunks", slow=True),
        Contender("http.client", run_http_client, "chunks"),
    ]
    try:
        from aiohttp.http_parser import HttpResponseParserC  # noqa: F401
    except ImportError:
        hint = f"aiohttp (its C parser) is not installed: {INSTALL_HINT}"
        entrants.append(Contender("aiohttp C parser", run_aiohttp, "chunks", missing=hint))
    else:
        entrants.append(Contender("aiohttp C parser", run_aiohttp, "chunks"))
    return entrants


def timed(contender: Contender, work: Work, repeat: int) -> tuple[float, float, int]:
    """(wall s, CPU s, response bytes) of the fastest of ``repeat`` passes; checks the bytes."""
    expected = work.payload if contender.sees == "payload" else work.chunk_data
    best: tuple[float, float] | None = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.thread_time()
        seen = contender.run(work)
        result = (time.perf_counter() - wall, time.thread_time() - cpu)
        if seen != expected:
            raise RuntimeError(f"{contender.name}: saw {seen} bytes, not {expected}")
        if best is None or result[0] < best[0]:
            best = result
    assert best is not None
    return best[0], best[1], work.size
