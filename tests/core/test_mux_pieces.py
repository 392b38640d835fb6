"""The native demuxer's pieces, cut in C (``wireproto._pieces``) or with struct: the same lists.

``feed`` on a read of log lines makes one ``(stream, bytes)`` pair a piece;
the C cutter is only a faster way to make the list the struct path makes,
so every list is compared whole: streams, types, bytes, merges, and what an
error carries.  The cutter's own argument checks are tested directly: a bad
span is a ValueError, never a read outside the arrays.
"""

from __future__ import annotations

import importlib
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wireproto import mux
from wireproto.codec import backend
from wireproto.errors import FrameError

try:
    _pieces: Any = importlib.import_module("wireproto._pieces")
    native_mux: Any = importlib.import_module("wireproto.codec.native.mux")
except ImportError:
    _pieces = native_mux = None

pytestmark = pytest.mark.skipif(
    _pieces is None or backend.load_native() is None, reason="wireproto._pieces is not built"
)

Typed = list[tuple[int, type, bytes]]

frames = st.lists(
    st.tuples(
        st.integers(0, 3),
        st.one_of(
            st.binary(max_size=200),
            st.integers(900, 1100).map(lambda n: bytes([n % 251]) * n),  # the merge threshold
            st.integers(0, 70_000).map(lambda n: bytes([n % 13]) * n),
        ),
    ),
    max_size=40,
)


def typed(pieces: list[tuple[int, bytes | memoryview]]) -> Typed:
    return [(stream, type(piece), bytes(piece)) for stream, piece in pieces]


def run(make: Callable[[], Any], reads: list[bytes]) -> tuple[list[Typed], object]:
    """Each read's pieces (with their types), then the error's pieces and message."""
    demuxer = make()
    out: list[Typed] = []
    try:
        for data in reads:
            out.append(typed(demuxer.feed(data)))
        demuxer.close()
    except FrameError as error:
        out.append(typed(error.pieces))
        return out, (type(error).__name__, str(error))
    return out, None


def both_ways(
    monkeypatch: pytest.MonkeyPatch, make: Callable[[], Any], reads: list[bytes]
) -> tuple[object, object]:
    in_c = run(make, reads)
    with monkeypatch.context() as patch:
        patch.setattr(native_mux, "_cut_in_c", None)
        with_struct = run(make, reads)
    return in_c, with_struct


def reads_of(data: bytes, fractions: list[float]) -> list[bytes]:
    points = sorted({int(f * len(data)) for f in fractions})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges) if b > a]


@settings(max_examples=300, deadline=None)
@given(frames, st.lists(st.floats(0, 1), max_size=8), st.binary(max_size=9))
def test_c_and_struct_cut_the_same_pieces(
    items: list[tuple[int, bytes]], fractions: list[float], garbage: bytes
) -> None:
    data = b"".join(mux.encode(s, p) for s, p in items) + garbage
    reads = reads_of(data, fractions)
    with pytest.MonkeyPatch.context() as monkeypatch:
        for make in (mux.demuxer_class("native"), lambda: mux.frame_demuxer("native")):
            in_c, with_struct = both_ways(monkeypatch, make, reads)
            assert in_c == with_struct


def test_log_lines_are_cut_in_c(monkeypatch: pytest.MonkeyPatch) -> None:
    """A read of log lines does go through the C cutter (else the test above compares
    the struct path with itself)."""
    calls: list[int] = []
    real = native_mux._cut_in_c

    class Counting:
        @staticmethod
        def cut(*args: Any) -> Any:
            calls.append(args[-2])
            return real.cut(*args)

    monkeypatch.setattr(native_mux, "_cut_in_c", Counting)
    lines = b"".join(mux.encode(1 + i % 2, b"line %d\n" % i) for i in range(100))
    pieces = mux.demuxer_class("native")().feed(lines)
    assert calls == [100] and len(pieces) == 100
    assert all(type(p) is bytes for _, p in pieces)


def arrays(streams: bytes, spans: list[tuple[int, int]], scratch: bytes) -> tuple[Any, ...]:
    def sizes(values: list[int]) -> bytes:
        return b"".join(v.to_bytes(8, "little") for v in values)

    return (
        streams,
        sizes([a for a, _ in spans]),
        sizes([b for _, b in spans]),
        scratch,
    )


def test_the_cutter_makes_pairs_from_scratch() -> None:
    flag = native_mux.IN_SCRATCH
    args = arrays(bytes([1 | flag, 2 | flag, 1 | flag]), [(0, 3), (3, 3), (3, 7)], b"abcdefgh")
    assert _pieces.cut(*args, 3, 7) == [(1, b"abc"), (2, b""), (1, b"defg")]
    assert _pieces.cut(*args, 0, 7) == []


def test_the_cutter_leaves_a_read_with_pieces_in_place() -> None:
    flag = native_mux.IN_SCRATCH
    args = arrays(bytes([1 | flag, 2]), [(0, 3), (0, 5)], b"abcdefgh")
    assert _pieces.cut(*args, 2, 3) is None


@pytest.mark.parametrize(
    ("spans", "count", "used"),
    [
        ([(0, 9)], 1, 8),  # a piece past used
        ([(5, 3)], 1, 8),  # a piece ending before it starts
        ([(0, 3)], 2, 3),  # more pieces than the arrays hold
        ([(0, 3)], 1, 9),  # used past scratch
        ([(0, 3)], -1, 3),
    ],
)
def test_the_cutter_refuses_spans_outside_its_arrays(
    spans: list[tuple[int, int]], count: int, used: int
) -> None:
    flag = native_mux.IN_SCRATCH
    args = arrays(bytes([1 | flag] * len(spans)), spans, b"abcdefgh")
    with pytest.raises(ValueError):
        _pieces.cut(*args, count, used)


def test_the_cutter_takes_six_arguments() -> None:
    with pytest.raises(TypeError):
        _pieces.cut(b"", b"", b"", b"", 0)
