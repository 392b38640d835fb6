"""Native and Python demuxers agree with each other and with the encoder, on any input."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wireproto import mux
from wireproto.codec import backend as _backend
from wireproto.errors import FrameError

pytestmark = pytest.mark.skipif(_backend.load_native() is None, reason="native not built")

frames = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.one_of(
            st.binary(max_size=64),
            st.integers(0, 256 * 1024).map(lambda n: bytes([n % 251]) * n),
        ),
    ),
    max_size=24,
)


def cut(data: bytes, fractions: list[float]) -> list[bytes]:
    points = sorted({int(f * len(data)) for f in fractions})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges) if b > a]


def run(backend: str, chunks: list[bytes]) -> tuple[list[tuple[int, bytes]], object]:
    """Pieces delivered before the end or the error, and the error as comparable data."""
    demuxer = mux.demuxer_class(backend)()
    pieces: list[tuple[int, bytes]] = []
    try:
        for chunk in chunks:
            pieces += [(s, bytes(p)) for s, p in demuxer.feed(chunk)]
        demuxer.close()
    except FrameError as error:
        pieces += [(s, bytes(p)) for s, p in error.pieces]
        return pieces, (type(error).__name__, str(error), error.offset)
    return pieces, None


def run_frames(backend: str, chunks: list[bytes]) -> tuple[list[tuple[int, bytes]], object]:
    """Per-frame mode: the frames delivered, then what the error or the end held."""
    demuxer = mux.frame_demuxer(backend)
    pieces: list[tuple[int, bytes]] = []
    try:
        for chunk in chunks:
            pieces += [(s, bytes(p)) for s, p in demuxer.feed(chunk)]
        demuxer.close()
    except FrameError as error:
        pieces += [(s, bytes(p)) for s, p in error.pieces]
        return pieces, (type(error).__name__, str(error), error.offset)
    return pieces, None


def run_into(backend: str, chunks: list[bytes]) -> tuple[list[bytes], object]:
    demuxer = mux.demuxer_class(backend)()
    sinks = [bytearray() for _ in range(4)]
    try:
        for chunk in chunks:
            demuxer.feed_into(chunk, sinks)
        demuxer.close()
    except FrameError as error:
        return [bytes(s) for s in sinks], (type(error).__name__, str(error), error.offset)
    return [bytes(s) for s in sinks], None


def streams_of(pieces: list[tuple[int, bytes]]) -> list[bytes]:
    out = [b""] * 4
    for stream, payload in pieces:
        out[stream] += payload
    return out


@settings(max_examples=300, deadline=None)
@given(frames, st.lists(st.floats(0, 1), max_size=12))
def test_backends_agree_with_the_encoder(
    frame_list: list[tuple[int, bytes]], fractions: list[float]
) -> None:
    data = b"".join(mux.encode(s, p) for s, p in frame_list)
    chunks = cut(data, fractions)
    native = run("native", chunks)
    assert native == run("python", chunks)  # identical pieces, boundaries included
    assert native[1] is None
    assert streams_of(native[0]) == streams_of(list(frame_list))
    into = run_into("native", chunks)
    assert into == run_into("python", chunks)
    assert into[0] == streams_of(list(frame_list))
    per_frame = run_frames("native", chunks)
    assert per_frame == run_frames("python", chunks)
    assert per_frame == ([(s, p) for s, p in frame_list if p], None)  # one piece per frame


@settings(max_examples=500, deadline=None)
@given(
    frames,
    st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=4),
    st.lists(st.floats(0, 1), max_size=12),
    st.integers(0, 64),
)
def test_backends_fail_alike_on_corrupted_input(
    frame_list: list[tuple[int, bytes]],
    corruptions: list[tuple[float, int]],
    fractions: list[float],
    truncate: int,
) -> None:
    data = bytearray(b"".join(mux.encode(s, p) for s, p in frame_list) or b"\x00")
    for where, value in corruptions:
        data[min(int(where * len(data)), len(data) - 1)] = value
    corrupted = bytes(data[: max(0, len(data) - truncate)])
    chunks = cut(corrupted, fractions)
    native = run("native", chunks)
    assert native == run("python", chunks)
    into = run_into("native", chunks)
    assert into == run_into("python", chunks)
    assert into[1] == native[1]
    assert into[0] == streams_of(native[0])
    per_frame = run_frames("native", chunks)
    assert per_frame == run_frames("python", chunks)
    assert per_frame[1] == native[1]  # the same error, at the same byte
    assert streams_of(per_frame[0]) == streams_of(native[0])  # nothing lost or invented
