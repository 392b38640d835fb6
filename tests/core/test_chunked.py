"""Chunked bodies, alone and fused with the demuxer, on both backends, at any split."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wireproto import chunked, mux
from wireproto.codec import backend as _backend
from wireproto.errors import (
    IncompleteBody,
    InvalidChunk,
    InvalidFrameHeader,
    StreamFailed,
    TruncatedFrame,
)

Split = Callable[[bytes], list[bytes]]


def chunk(data: bytes, extension: bytes = b"") -> bytes:
    return b"%x%s\r\n%s\r\n" % (len(data), extension, data)


def chunked_body(parts: list[bytes], trailer: bytes = b"") -> bytes:
    return b"".join(chunk(p) for p in parts if p) + b"0\r\n" + trailer + b"\r\n"


@pytest.fixture
def module(backend: str):  # type: ignore[no-untyped-def]
    return chunked.classes(backend)


PARTS = [b"hello", b" ", b"world\n" * 300, bytes(range(256))]


def decode(decoder, chunks: list[bytes]) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(bytes(piece) for data in chunks for piece in decoder.feed(data))


def test_decodes_a_body_and_keeps_what_follows(module, split: Split) -> None:  # type: ignore[no-untyped-def]
    decoder = module.ChunkedDecoder()
    wire = chunked_body(PARTS) + b"HTTP/1.1 200 OK\r\n"
    assert decode(decoder, split(wire)) == b"".join(PARTS)
    assert decoder.done
    assert decoder.trailing == b"HTTP/1.1 200 OK\r\n"
    decoder.close()


def test_empty_input_is_fine_at_any_time(module) -> None:  # type: ignore[no-untyped-def]
    decoder, demuxer = module.ChunkedDecoder(), module.ChunkedDemuxer()
    assert decoder.feed(b"") == [] and demuxer.feed(b"") == []
    demuxer.feed_into(b"", {})
    assert decode(decoder, [chunk(b"x"), b""]) == b"x"


def test_extensions_and_trailers_are_skipped(module, split: Split) -> None:  # type: ignore[no-untyped-def]
    wire = chunk(b"abc", b";name=value") + chunk(b"def", b" ;x") + b"0;last\r\nX-Trailer: 1\r\n\r\n"
    decoder = module.ChunkedDecoder()
    assert decode(decoder, split(wire)) == b"abcdef"
    assert decoder.done and decoder.trailing == b""


def test_uppercase_and_zero_padded_sizes(module, split: Split) -> None:  # type: ignore[no-untyped-def]
    wire = b"0000A\r\n" + b"x" * 10 + b"\r\nA\r\n" + b"y" * 10 + b"\r\n0\r\n\r\n"
    assert decode(module.ChunkedDecoder(), split(wire)) == b"x" * 10 + b"y" * 10


@pytest.mark.parametrize(
    ("wire", "code", "offset"),
    [
        (b"zz\r\n", 1, 0),
        (b"\r\n", 1, 0),
        (b"5\r\nhelloXX", 5, 8),
        (b"5\r\nhello\rX", 5, 9),
        (b"5\nhello", 4, 1),
        (b"1" * 17 + b"\r\n", 2, 16),
        (b"5;" + b"e" * 5000 + b"\r\n", 3, 4096),
        (b"0\r\nX: 1\n", 4, 7),
        (b"0\r\n" + b"T" * 20000, 6, 3 + 16384),
        (b"3\r\nabc\r\n0\r\n\rX", 4, 12),
    ],
)
def test_bad_framing_names_the_offset(  # type: ignore[no-untyped-def]
    module, split: Split, wire: bytes, code: int, offset: int
) -> None:
    decoder = module.ChunkedDecoder()
    delivered = b""
    with pytest.raises(InvalidChunk) as caught:
        for data in split(wire):
            delivered += b"".join(bytes(p) for p in decoder.feed(data))
    delivered += b"".join(bytes(p) for p in caught.value.pieces)
    assert (caught.value.code, caught.value.offset) == (code, offset)
    assert delivered == (b"hello" if wire.startswith(b"5\r\nhello") else b"abc"[: len(delivered)])
    with pytest.raises(StreamFailed):
        decoder.feed(b"0\r\n\r\n")


def test_a_body_cut_short_is_incomplete(module) -> None:  # type: ignore[no-untyped-def]
    decoder = module.ChunkedDecoder()
    assert decode(decoder, [b"a\r\n01234"]) == b"01234"
    with pytest.raises(IncompleteBody, match="5 bytes of chunk data missing"):
        decoder.close()
    decoder = module.ChunkedDecoder()
    decode(decoder, [chunk(b"abc")])
    with pytest.raises(IncompleteBody, match="the last chunk never came"):
        decoder.close()


# Fused with the demuxer --------------------------------------------------------

FRAMES = [(1, b"line one\n"), (2, b"oops\n"), (1, b""), (1, b"x" * 20000), (3, b"sys"), (1, b"end")]
STREAM = b"".join(mux.encode(s, p) for s, p in FRAMES)


def engine_style(stream: bytes, cuts: list[int]) -> bytes:
    """The stream cut into chunks at ``cuts``, as an engine writing pieces would."""
    edges = [0, *cuts, len(stream)]
    return chunked_body([stream[a:b] for a, b in itertools.pairwise(edges)])


def per_stream(pieces: list[tuple[int, memoryview]]) -> list[bytes]:
    out = [b""] * 4
    for s, p in pieces:
        out[s] += bytes(p)
    return out


def expected() -> list[bytes]:
    return per_stream([(s, memoryview(p)) for s, p in FRAMES])


def test_fused_feed(module, split: Split) -> None:  # type: ignore[no-untyped-def]
    wire = engine_style(STREAM, [3, 17, 30, 31, 5000]) + b"NEXT"
    demuxer = module.ChunkedDemuxer()
    pieces = [p for data in split(wire) for p in demuxer.feed(data)]
    demuxer.close()
    assert per_stream(pieces) == expected()
    assert demuxer.done and demuxer.trailing == b"NEXT"


def test_fused_feed_into(module, split: Split) -> None:  # type: ignore[no-untyped-def]
    wire = engine_style(STREAM, [8, 17, 25])
    sinks = [bytearray() for _ in range(4)]
    demuxer = module.ChunkedDemuxer()
    for data in split(wire):
        demuxer.feed_into(data, sinks)
    demuxer.close()
    assert [bytes(s) for s in sinks] == expected()


def test_fused_stream_error_keeps_what_came_before(module, split: Split) -> None:  # type: ignore[no-untyped-def]
    wire = chunked_body([mux.encode(1, b"kept"), b"hello from a tty"])
    demuxer = module.ChunkedDemuxer()
    delivered: list[tuple[int, memoryview]] = []
    with pytest.raises(InvalidFrameHeader) as caught:
        for data in split(wire):
            delivered += demuxer.feed(data)
    delivered += caught.value.pieces
    assert per_stream(delivered)[1] == b"kept"
    assert caught.value.offset == 12  # stream offset, framing not counted
    with pytest.raises(StreamFailed):
        demuxer.feed(b"")


def test_fused_close_mid_frame(module) -> None:  # type: ignore[no-untyped-def]
    demuxer = module.ChunkedDemuxer()
    demuxer.feed(chunk(mux.encode(1, b"abcdef")[:-2]))  # no last chunk: the body is cut
    with pytest.raises(IncompleteBody):
        demuxer.close()


# A body that ends cleanly (0 CRLF CRLF) while its stream is inside a frame:
# the cut payload, a cut header, a header alone.
CUT_STREAMS = {
    "payload": mux.encode(1, b"hello\n") + mux.encode(2, b"world\n")[:-3],
    "header": mux.encode(1, b"hello\n") + mux.encode(2, b"world\n")[:5],
    "header only": mux.encode(1, b"hello\n") + mux.encode(2, b"world\n")[:8],
}


@pytest.mark.parametrize("cut", list(CUT_STREAMS))
@pytest.mark.parametrize("into", [False, True], ids=["feed", "feed_into"])
def test_fused_body_ending_mid_frame_is_truncated(  # type: ignore[no-untyped-def]
    module, split: Split, cut: str, into: bool
) -> None:
    stream = CUT_STREAMS[cut]
    wire = chunked_body([stream[:9], stream[9:]])
    demuxer = module.ChunkedDemuxer()
    sinks = [bytearray() for _ in range(4)]
    error = None
    for data in split(wire):
        try:
            if into:
                demuxer.feed_into(data, sinks)
            else:
                for stream_id, piece in demuxer.feed(data):
                    sinks[stream_id] += piece
        except TruncatedFrame as exc:
            error = exc
            for stream_id, piece in exc.pieces:
                sinks[stream_id] += piece
            break
    assert isinstance(error, TruncatedFrame)
    assert error.offset == len(stream)
    assert sinks[1] == b"hello\n"
    assert bytes(sinks[2]) == stream[22:]
    with pytest.raises(StreamFailed):
        demuxer.close()


# Differential -----------------------------------------------------------------

pytestmark_native = pytest.mark.skipif(_backend.load_native() is None, reason="native not built")


def outcome(backend: str, wire: bytes, cuts: list[int], into: bool) -> tuple[object, ...]:
    demuxer = chunked.classes(backend).ChunkedDemuxer()
    edges = sorted({0, len(wire), *[min(c, len(wire)) for c in cuts]})
    sinks = [bytearray() for _ in range(4)]
    pieces: list[tuple[int, bytes]] = []
    try:
        for a, b in itertools.pairwise(edges):
            if into:
                demuxer.feed_into(wire[a:b], sinks)
            else:
                pieces += [(s, bytes(p)) for s, p in demuxer.feed(wire[a:b])]
        demuxer.close()
        error = None
    except (InvalidChunk, IncompleteBody, InvalidFrameHeader, TruncatedFrame) as exc:
        pieces += [(s, bytes(p)) for s, p in getattr(exc, "pieces", [])]
        error = (type(exc).__name__, str(exc))
    return pieces, [bytes(s) for s in sinks], error, demuxer.trailing


@pytestmark_native
@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.binary(max_size=300)), max_size=12),
    st.lists(st.integers(0, 4000), max_size=8),
    st.lists(st.integers(0, 5000), max_size=8),
    st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 255)), max_size=2),
    st.booleans(),
)
def test_backends_agree(
    frames: list[tuple[int, bytes]],
    chunk_cuts: list[int],
    feed_cuts: list[int],
    corruptions: list[tuple[int, int]],
    into: bool,
) -> None:
    stream = b"".join(mux.encode(s, p) for s, p in frames)
    wire = bytearray(engine_style(stream, sorted({c % (len(stream) + 1) for c in chunk_cuts})))
    for where, value in corruptions:
        wire[where % len(wire)] = value
    native = outcome("native", bytes(wire), feed_cuts, into)
    assert native == outcome("python", bytes(wire), feed_cuts, into)
    if not corruptions:
        assert native[2] is None
        got = native[1] if into else per_stream([(s, memoryview(p)) for s, p in native[0]])
        assert got == per_stream([(s, memoryview(p)) for s, p in frames])
