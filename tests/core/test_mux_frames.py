"""The demuxer's per-frame mode: one piece per frame, on both backends, fed any way."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wireproto import mux
from wireproto.errors import InvalidFrameHeader, TruncatedFrame

FRAMES = [(1, b"line one\n"), (1, b"line two\n"), (2, b"oops\n"), (1, b""), (1, b"x" * 5000)]
WIRE = b"".join(mux.encode(s, p) for s, p in FRAMES)


def frames_of(backend: str, chunks: list[bytes]) -> list[tuple[int, bytes]]:
    demuxer = mux.frame_demuxer(backend)
    out = []
    for chunk in chunks:
        out += [(s, bytes(p)) for s, p in demuxer.feed(chunk)]
    demuxer.close()
    return out


def test_one_piece_per_frame(backend: str, split: Callable[[bytes], list[bytes]]) -> None:
    # Adjacent stdout lines stay apart (the default mode merges them); empty frames give nothing.
    assert frames_of(backend, split(WIRE)) == [f for f in FRAMES if f[1]]


def test_the_default_mode_still_merges(backend: str) -> None:
    pieces = mux.demuxer_class(backend)().feed(WIRE)
    assert next((s, bytes(p)) for s, p in pieces) == (1, b"line one\nline two\n")


def test_a_cut_frame_is_in_the_truncation_error(
    backend: str, split: Callable[[bytes], list[bytes]]
) -> None:
    demuxer = mux.frame_demuxer(backend)
    got = [bytes(p) for chunk in split(WIRE[:-1000]) for _, p in demuxer.feed(chunk)]
    assert got == [b"line one\n", b"line two\n", b"oops\n"]
    with pytest.raises(TruncatedFrame) as caught:
        demuxer.close()
    assert caught.value.pieces == [(1, b"x" * 4000)]


def test_a_bad_header_keeps_the_frames_before_it(
    backend: str, split: Callable[[bytes], list[bytes]]
) -> None:
    demuxer = mux.frame_demuxer(backend)
    got: list[tuple[int, bytes]] = []
    with pytest.raises(InvalidFrameHeader) as caught:
        for chunk in split(WIRE[:-5008] + b"0 is not a header"):
            got += [(s, bytes(p)) for s, p in demuxer.feed(chunk)]
    got += [(s, bytes(p)) for s, p in caught.value.pieces]
    assert got == [(1, b"line one\n"), (1, b"line two\n"), (2, b"oops\n")]
    assert caught.value.offset == len(WIRE) - 5008
