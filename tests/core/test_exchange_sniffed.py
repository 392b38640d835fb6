"""The sniffed stdio framing (``tty=None``, the default) on chunked bodies.

Once the first payload bytes tell a multiplexed stream, the body goes
through the fused chunked demuxer, as when the caller knew: everything a
caller can see (events, sink bytes, errors and their offsets, keep-alive)
must be what the known framing gives, for every way the reads are cut, on
both backends, with Output events and with sinks.
"""

from __future__ import annotations

import pytest

from tests.core.test_exchange import OK_CHUNKED, Split, chunk, run, run_with, stdio_call
from wireproto import body, mux
from wireproto import exchange as ex

NEXT = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
FRAMES = [(1, b"hello\n"), (2, b"oops\n"), (1, b"x" * 300), (2, b""), (1, b"end\n")]
MUXED = b"".join(mux.encode(s, p) for s, p in FRAMES)


def chunks_of(stream: bytes, sizes: list[int]) -> bytes:
    out, at = b"", 0
    for size in sizes:
        out += chunk(stream[at : at + size])
        at += size
    return out + (chunk(stream[at:]) if at < len(stream) else b"")


BODIES = {
    "frame per chunk": b"".join(chunk(mux.encode(s, p)) for s, p in FRAMES) + b"0\r\n\r\n",
    "header split over chunks": chunks_of(MUXED, [1, 2, 1, 5, 3]) + b"0\r\n\r\n",
    "with the next response": chunks_of(MUXED, [7, 100]) + b"0\r\n\r\n" + NEXT,
    "trailer": chunk(MUXED) + b"0\r\nX-Trailer: 1\r\n\r\n",
    "bad frame header": chunk(mux.encode(1, b"ok\n") + b"\x09\0\0\0\0\0\0\1z") + b"0\r\n\r\n",
    "bad chunk line": chunks_of(MUXED, [2, 20]) + b"zz\r\n",
    "cut inside a frame": chunk(MUXED[:-3]) + b"0\r\n\r\n",
    "cut inside a chunk": chunks_of(MUXED, [30])[:-10],
    "cut before the fourth byte": b"10\r\n\x01\x00",
    "empty": b"0\r\n\r\n",
    "no stream byte yet": b"",
}


def observed(result: object, exchange: ex.Exchange) -> tuple[object, ...]:
    assert hasattr(result, "streams") and hasattr(result, "error") and hasattr(result, "events")
    error = result.error
    where = getattr(error, "offset", None)
    ends = sum(isinstance(e, ex.EndOfMessage) for e in result.events)
    kind = exchange.framing.kind if exchange.framing is not None else None
    streams = {s: bytes(v) for s, v in result.streams.items()}
    return streams, type(error), where, ends, exchange.reusable, exchange.state, kind


@pytest.mark.parametrize("case", list(BODIES))
@pytest.mark.parametrize("into", [False, True], ids=["events", "sinks"])
@pytest.mark.parametrize("eof", [True, False], ids=["closed", "open"])
def test_sniffed_is_what_the_known_framing_gives(
    backend: str, split: Split, case: str, into: bool, eof: bool
) -> None:
    wire = OK_CHUNKED + BODIES[case]
    known = run_with(stdio_call(tty=False), backend, split(wire), into, eof=eof)
    sniffed = run_with(stdio_call(tty=None), backend, split(wire), into, eof=eof)
    if case in ("empty", "cut before the fourth byte", "no stream byte yet"):
        # too short to tell: the sniffed stream is raw, as it always was
        held = b"\x01\x00" if case == "cut before the fourth byte" and eof else b""
        assert sniffed[1].streams[1] == held
        return
    assert observed(sniffed[1], sniffed[0]) == observed(known[1], known[0])


def test_sniffed_output_pieces_are_the_known_ones(backend: str, split: Split) -> None:
    wire = OK_CHUNKED + BODIES["header split over chunks"]
    pieces = []
    for tty in (False, None):
        result = run(ex.Exchange(stdio_call(tty=tty), backend=backend), split(wire))
        outputs = [e for e in result.events if isinstance(e, ex.Output)]
        pieces.append([(s, bytes(p)) for o in outputs for s, p in o.pieces])
    assert pieces[0] == pieces[1]


def test_a_reused_receive_buffer_is_safe_while_sniffing(backend: str) -> None:
    """The first reads are held until the framing is told: they must be copies."""
    wire = OK_CHUNKED + BODIES["header split over chunks"]
    exchange = ex.Exchange(stdio_call(tty=None), backend=backend)
    buffer = bytearray(5)
    got = {1: bytearray(), 2: bytearray()}
    for start in range(0, len(wire), 5):
        piece = wire[start : start + 5]
        buffer[: len(piece)] = piece
        exchange.receive_data(memoryview(buffer)[: len(piece)])
        while (event := exchange.next_event()) not in (ex.NEED_DATA, ex.PAUSED):
            if isinstance(event, ex.Output):
                for stream, payload in event.pieces:
                    got[stream] += payload
        buffer[:] = b"\xff" * 5  # the caller reuses its buffer for the next read
    assert got == {1: b"hello\n" + b"x" * 300 + b"end\n", 2: b"oops\n"}


@pytest.mark.parametrize("into", [False, True], ids=["events", "sinks"])
def test_a_sniffed_multiplexed_body_reaches_the_fused_decoder(backend: str, into: bool) -> None:
    """The default framing must cost what the known one does: one fused pass."""
    sinks = {s: bytearray() for s in range(4)} if into else None
    exchange = ex.Exchange(stdio_call(tty=None), backend=backend, sinks=sinks)
    exchange.receive_data(OK_CHUNKED + chunk(mux.encode(1, b"hi\n")))
    while exchange.next_event() is not ex.NEED_DATA:
        pass
    reader = exchange._body
    reader = getattr(reader, "reader", reader)
    assert isinstance(reader, body.FusedStdio)
