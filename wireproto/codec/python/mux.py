"""The pure-Python demuxer: the reference backend, which holds the docs.

Strategy: ``walk`` turns an input chunk into payload *segments* (stream,
start, end) as soon as their bytes are present, consuming the headers between
them; a header split across chunks is gathered in ``_header``, each byte
checked as it arrives so a raw TTY stream fails on its first byte.  The
segments go to a collector: ``Pieces`` makes ``feed``'s ordered pieces
(adjacent short segments of one stream merged), ``StreamSpans`` gathers each
stream's segments for ``feed_into``'s sinks.  Each collector has its own loop
over the frames whose header is whole in the input (where nearly all the time
goes on log lines), so no segment tuple is made on the way.  The C backend
(native/demux.c) does exactly the same walk and the same merging, so both
hand out identical pieces for identical inputs.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Protocol

from wireproto.codec.sinks import Sinks, deliver, sink_for
from wireproto.codec.views import (
    COALESCE_BELOW,
    HEADER_SIZE,
    STREAMS,
    BytesLike,
    Demuxing,
    Failable,
    Piece,
    byte_view,
    immutable,
)
from wireproto.errors import FrameError, InvalidChunk, InvalidFrameHeader, TruncatedFrame

_HEADER = struct.Struct(">II")
# A valid first header word is 0x0s000000 with s in 0..3.
_INVALID_WORD_BITS = 0xFCFFFFFF

# What a collector's loop over whole frames returns: where it stopped, the
# stream and payload still due of the last frame (its payload runs past the
# input), and the position of a bad header, or -1.
FramesEnd = tuple[int, int, int, int]


def header_byte_error(index: int, value: int) -> bool:
    """Whether header byte ``index`` (0..7) may not have ``value``."""
    if index == 0:
        return value >= STREAMS
    return index < 4 and value != 0


class Demuxer(Demuxing):
    """Splits a v1.6 multiplexed stream (attach, exec, logs without a TTY).

    Feed it bytes as they arrive, split anywhere.  Payload is delivered as
    soon as it arrives, never held back until its frame is complete, so a
    huge frame fed in small chunks costs no more memory than one chunk.
    Zero-length frames are legal and produce nothing.

    Bad input raises a :class:`~wireproto.errors.FrameError` naming the stream
    offset of the bad byte; everything before it has been delivered (for
    ``feed``, in the exception's ``pieces``).  After an error the demuxer
    stays failed: each later call raises :class:`~wireproto.errors.StreamFailed`.
    """

    def __init__(self, per_frame: bool = False) -> None:
        self._offset = 0  # stream offset of the next byte
        self._remaining = 0  # payload bytes of the current frame still due
        self._stream = 0  # stream id of the current frame
        self._header = bytearray()  # a header split across chunks
        self._error: Exception | None = None
        # Per-frame mode (see FrameJoin): ``feed`` gives one piece per frame.
        self._frames = FrameJoin() if per_frame else None

    @property
    def offset(self) -> int:
        """Bytes consumed since the stream began."""
        return self._offset

    def feed(self, data: BytesLike) -> list[Piece]:
        """Demuxes ``data``; returns ``(stream, payload)`` pieces in order.

        Concatenating the payloads of one stream's pieces gives that stream.
        A piece may hold several adjacent short frames of one stream.  A
        payload is ``bytes`` (pieces under 1 KiB, as on the native backend)
        or a read-only view: views are of ``data`` itself when it is
        ``bytes`` (they keep it alive), else of a private copy; all stay
        valid for good.
        """
        if self._frames is None:
            return feed_pieces(self.walk, data)
        view = immutable(data)
        collector = FramePieces()
        error = self.walk(view, collector)
        # The last piece is an open frame's when the input ended inside its payload.
        last_open = self._remaining > 0 and collector.segment_end == len(view)
        pieces = self._frames.frames(collector.pieces, last_open and error is None)
        if error is not None:
            error.pieces = pieces
            raise error
        return pieces

    def feed_into(self, data: BytesLike, sinks: Sinks) -> None:
        """Demuxes ``data``, appending each stream's payload to ``sinks[stream]``.

        ``sinks`` maps stream ids to sinks (see :mod:`wireproto.codec.sinks`): a
        bytearray, or an object whose ``write`` consumes the view it is given
        during the call.  Each stream's sink gets at most one append per call.
        """
        feed_sinks(self.walk, self, data, sinks)

    def truncation(self) -> TruncatedFrame | None:
        """The error of the stream ending here: TruncatedFrame inside a frame, else None."""
        if self._header:
            return TruncatedFrame(self._offset, HEADER_SIZE - len(self._header), in_header=True)
        if self._remaining:
            return truncated_payload(self._offset, self._remaining, self._frames)
        return None

    def walk(
        self, data: memoryview, out: Collector, start: int = 0, end: int | None = None
    ) -> FrameError | None:
        """Consumes ``data[start:end]`` (stream bytes), handing its payload
        segments to ``out``; returns the error that stopped it.  Positions stay
        those of ``data``: a chunked body's spans are walked in place."""
        self.check_usable()
        end = len(data) if end is None else end
        pos = start
        base = self._offset - start  # the stream offset of data[0]
        remaining = self._remaining
        stream = self._stream
        error = None
        while True:
            if remaining:
                if pos == end:
                    break
                stop = min(pos + remaining, end)
                out.segment(data, stream, pos, stop)
                remaining -= stop - pos
                pos = stop
            elif pos == end:
                break
            elif not self._header and end - pos >= HEADER_SIZE:
                pos, stream, remaining, bad = out.whole_frames(data, pos, end)
                if bad >= 0:
                    error = self._bad_header(data, bad, base)
                    break
            else:
                value = data[pos]
                if header_byte_error(len(self._header), value):
                    error = InvalidFrameHeader(base + pos, len(self._header), value)
                    break
                self._header.append(value)
                pos += 1
                if len(self._header) == HEADER_SIZE:
                    word, remaining = _HEADER.unpack(self._header)
                    stream = word >> 24
                    self._header.clear()
        self._remaining = remaining
        self._stream = stream
        self._offset = base + pos
        self._error = error
        return error

    @staticmethod
    def _bad_header(data: memoryview, pos: int, base: int) -> InvalidFrameHeader:
        index = next(i for i in range(4) if header_byte_error(i, data[pos + i]))
        return InvalidFrameHeader(base + pos + index, index, data[pos + index])


Walk = Callable[[memoryview, "Collector"], FrameError | InvalidChunk | None]


def feed_pieces(walk: Walk, data: BytesLike) -> list[Piece]:
    """``feed`` of a demuxer whose ``walk`` consumes input: the pieces of
    ``data``, or the error that stopped the walk, raised with them."""
    collector = Pieces()
    error = walk(immutable(data), collector)
    pieces = collector.finish()
    if error is not None:
        error.pieces = pieces
        raise error
    return pieces


def feed_sinks(walk: Walk, demuxer: Failable, data: BytesLike, sinks: Sinks) -> None:
    """``feed_into`` of a demuxer whose ``walk`` consumes input: each stream's
    payload appended to its sink; ``demuxer`` fails if a sink raises."""
    collector = StreamSpans()
    error = walk(byte_view(data), collector)
    try:
        collector.deliver(sinks)
    except Exception as exc:
        demuxer.fail(exc)  # payload of this chunk was consumed but not delivered
        raise
    if error is not None:
        raise error


class Collector(Protocol):
    """Where :meth:`Demuxer.walk` hands the payload segments of an input."""

    def segment(self, data: memoryview, stream: int, start: int, stop: int) -> None:
        """One segment, ``data[start:stop]`` of ``stream``."""

    def whole_frames(self, data: memoryview, pos: int, end: int) -> FramesEnd:
        """Takes the frames from ``pos`` on whose header is whole in ``data[:end]``."""
        ...


class Pieces:
    """``feed``'s collector: ordered pieces, adjacent short segments of one
    stream merged (also across the inputs of a chunked body's spans).

    A short piece is ``bytes`` (cut from a ``bytes`` copy of the input, made
    once, when the first short segment comes: slicing and joining ``bytes``
    is cheaper than views), a long one a view of the input.
    """

    def __init__(self) -> None:
        self.pieces: list[Piece] = []
        self._run: list[bytes] = []  # the short segments of the open piece
        self._word = -1  # its stream's header word (stream << 24), or -1: no open piece
        self._raw: tuple[memoryview, bytes] | None = None  # an input and its bytes

    def segment(self, data: memoryview, stream: int, start: int, stop: int) -> None:
        if stop - start >= COALESCE_BELOW:
            self._close_run()
            self.pieces.append((stream, data[start:stop]))
        elif stream << 24 == self._word:
            self._run.append(bytes(data[start:stop]))
        else:
            self._close_run()
            self._run = [bytes(data[start:stop])]
            self._word = stream << 24

    def whole_frames(self, data: memoryview, pos: int, end: int) -> FramesEnd:
        """The hot loop of ``feed``: one unpack per frame, short payloads cut
        from ``bytes`` and merged by stream as they come (the open piece is
        kept in locals: a method call per piece would cost more than the piece's work)."""
        unpack_from = _HEADER.unpack_from
        add_piece = self.pieces.append
        join = b"".join
        # The constants as locals: read once per frame, a local is cheaper than a global.
        invalid, header, short = _INVALID_WORD_BITS, HEADER_SIZE, COALESCE_BELOW
        last_header = end - header
        raw: bytes | None = None
        run, word_of_run = self._run, self._word
        try:
            while pos <= last_header:
                word, size = unpack_from(data, pos)
                if word & invalid:
                    return pos, 0, 0, pos
                start = pos + header
                pos = start + size
                if pos > end:  # the payload runs past the input: walk() takes it
                    return start, word >> 24, size, -1
                if size < short:
                    if raw is None:
                        raw = self._bytes_of(data)
                    piece = raw[start:pos]
                    if word == word_of_run:
                        run.append(piece)
                    elif size:  # an empty frame neither opens nor closes a piece
                        if run:  # (inline: a call per piece costs more than the join)
                            add_piece((word_of_run >> 24, run[0] if len(run) == 1 else join(run)))
                        run, word_of_run = [piece], word
                else:
                    if run:
                        add_piece((word_of_run >> 24, run[0] if len(run) == 1 else join(run)))
                    run, word_of_run = [], -1
                    add_piece((word >> 24, data[start:pos]))
            return pos, 0, 0, -1
        finally:
            self._run, self._word = run, word_of_run

    def _bytes_of(self, data: memoryview) -> bytes:
        """``data`` as ``bytes``, made once per input (a chunked body's spans
        are all walked in the one input): the object it views when that is
        exactly it, else a copy."""
        if self._raw is not None and self._raw[0] is data:
            return self._raw[1]
        whole = data.obj
        raw = whole if type(whole) is bytes and len(whole) == data.nbytes else data.tobytes()
        self._raw = data, raw
        return raw

    def finish(self) -> list[Piece]:
        """The pieces, the open one closed."""
        self._close_run()
        return self.pieces

    def _close_run(self) -> None:
        if self._run:
            self.pieces.append((self._word >> 24, _joined(self._run)))
            self._run = []
        self._word = -1


def _joined(run: list[bytes]) -> bytes:
    return run[0] if len(run) == 1 else b"".join(run)


class StreamSpans:
    """``feed_into``'s collector: each stream's segments, as views."""

    def __init__(self) -> None:
        self.spans: list[list[memoryview]] = [[] for _ in range(STREAMS)]

    def segment(self, data: memoryview, stream: int, start: int, stop: int) -> None:
        self.spans[stream].append(data[start:stop])

    def whole_frames(self, data: memoryview, pos: int, end: int) -> FramesEnd:
        """The hot loop of ``feed_into``: one unpack per frame.

        Its header lines repeat those of :meth:`Pieces.whole_frames` on
        purpose: a frame generator shared by both would add a generator resume
        per frame to the hottest loop (see docs/performance.md)."""
        unpack_from = _HEADER.unpack_from
        spans = self.spans
        while end - pos >= HEADER_SIZE:
            word, size = unpack_from(data, pos)
            if word & _INVALID_WORD_BITS:
                return pos, 0, 0, pos
            start = pos + HEADER_SIZE
            pos = start + size
            if pos > end:  # the payload runs past the input: walk() takes it
                return start, word >> 24, size, -1
            if size:
                spans[word >> 24].append(data[start:pos])
        return pos, 0, 0, -1

    def deliver(self, sinks: Sinks) -> None:
        """Appends each stream's segments to its sink, one append per stream."""
        # Every sink is looked up before any is written, so a missing one loses nothing.
        targets = [(sink_for(sinks, s), views) for s, views in enumerate(self.spans) if views]
        for sink, views in targets:
            deliver(sink, views[0] if len(views) == 1 else memoryview(b"".join(views)))


class FramePieces(Pieces):
    """Per-frame ``feed``'s collector: each segment its own piece, never merged.

    ``segment_end`` is where the last segment handed over by ``walk`` ended
    (-1 after whole frames): when that is the input's end and payload is
    still due, the last piece is an open frame's.
    """

    def __init__(self) -> None:
        super().__init__()
        self.segment_end = -1

    def segment(self, data: memoryview, stream: int, start: int, stop: int) -> None:
        if stop - start >= COALESCE_BELOW:
            self.pieces.append((stream, data[start:stop]))
        else:
            self.pieces.append((stream, bytes(data[start:stop])))
        self.segment_end = stop

    def whole_frames(self, data: memoryview, pos: int, end: int) -> FramesEnd:
        """One piece per non-empty frame: bytes when short, else a view."""
        self.segment_end = -1
        unpack_from = _HEADER.unpack_from
        add_piece = self.pieces.append
        raw: bytes | None = None
        while end - pos >= HEADER_SIZE:
            word, size = unpack_from(data, pos)
            if word & _INVALID_WORD_BITS:
                return pos, 0, 0, pos
            start = pos + HEADER_SIZE
            pos = start + size
            if pos > end:  # the payload runs past the input: walk() takes it
                return start, word >> 24, size, -1
            if size >= COALESCE_BELOW:
                add_piece((word >> 24, data[start:pos]))
            elif size:  # an empty frame gives nothing, as in the merging mode
                if raw is None:
                    raw = self._bytes_of(data)
                add_piece((word >> 24, raw[start:pos]))
        return pos, 0, 0, -1

    def finish(self) -> list[Piece]:
        return self.pieces


class FrameJoin:
    """Per-frame mode, shared by both backends: one piece per frame.

    docker-py hands out one item per frame (a log line per item), while the
    merging mode joins adjacent frames of a stream.  A frame's payload is
    still cut wherever inputs end; this holds the pieces of a frame the input
    ended inside and hands out the whole frame (as ``bytes``) once its last
    piece comes.  A frame whole in one input is the piece the walk made
    (``bytes`` under 1 KiB, else a read-only view), never copied again.
    """

    def __init__(self) -> None:
        self.open: list[bytes | memoryview] = []  # the pieces of the open frame so far
        self.stream = 0

    def frames(self, pieces: list[Piece], last_open: bool) -> list[Piece]:
        """The whole frames among ``pieces`` (one input's, in order); the last
        one is kept back when ``last_open``.  Pieces are never merged by the
        walk in this mode, so only the first can continue a held frame."""
        if self.open and pieces:
            stream, first = pieces[0]
            self.open.append(first)
            if len(pieces) == 1 and last_open:
                return []
            pieces[0] = (stream, b"".join(self.open))
            self.open = []
        if last_open and pieces:
            self.stream, tail = pieces.pop()
            self.open = [tail]
        return pieces

    def held(self) -> list[Piece]:
        """The open frame's payload so far, as one piece (none if no frame is open)."""
        if not self.open:
            return []
        return [(self.stream, b"".join(self.open))]


def truncated_payload(offset: int, remaining: int, frames: FrameJoin | None) -> TruncatedFrame:
    """The stream ended inside a frame's payload; in per-frame mode the error's
    ``pieces`` hold what came of that frame, which no piece carried yet."""
    error = TruncatedFrame(offset, remaining, in_header=False)
    if frames is not None:
        error.pieces = frames.held()
    return error
