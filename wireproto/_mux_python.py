"""The pure-Python demuxer: the reference backend, which holds the docs.

Strategy: ``walk`` turns an input chunk into payload *segments* (stream,
start, end) as soon as their bytes are present, consuming the headers between
them; a header split across chunks is gathered in ``_header``, each byte
checked as it arrives so a raw TTY stream fails on its first byte.  ``feed``
turns segments into ordered pieces (adjacent short segments of one stream
merged), ``feed_into`` gathers each stream's segments for its sink.  The C
backend (native/demux.c) does exactly the same walk and the same merging, so
both hand out identical pieces for identical inputs.
"""

from __future__ import annotations

import struct

from wireproto._sinks import Sinks, deliver, sink_for
from wireproto.errors import FrameError, InvalidFrameHeader, StreamFailed, TruncatedFrame

HEADER_SIZE = 8
STREAMS = 4
# Adjacent segments of one stream shorter than this are merged into one piece
# (WP_COALESCE_BELOW in native/wireproto.h): fewer Python objects per chunk
# for log lines, while bulk payloads stay views of the input.
COALESCE_BELOW = 1024
_HEADER = struct.Struct(">II")
# A valid first header word is 0x0s000000 with s in 0..3.
_INVALID_WORD_BITS = 0xFCFFFFFF

Segment = tuple[int, int, int]
Piece = tuple[int, bytes | memoryview]


def header_byte_error(index: int, value: int) -> bool:
    """Whether header byte ``index`` (0..7) may not have ``value``."""
    if index == 0:
        return value >= STREAMS
    return index < 4 and value != 0


def immutable(data: bytes | bytearray | memoryview) -> memoryview:
    """A byte view of ``data`` that nobody can change under us.

    Pieces handed out are views of the input; a mutable input (a bytearray, a
    view of a reused receive buffer) is copied once so that they stay valid.
    """
    if isinstance(data, bytes):
        return memoryview(data)
    view = data if isinstance(data, memoryview) else memoryview(data)
    if isinstance(view.obj, bytes) and view.format in ("B", "b", "c"):
        return view
    return memoryview(view.tobytes())


def byte_view(data: bytes | bytearray | memoryview) -> memoryview:
    """``data`` as a flat view of unsigned bytes, without a copy."""
    view = memoryview(data)
    return view if view.format == "B" else view.cast("B")


class Demuxer:
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

    def __init__(self) -> None:
        self._offset = 0  # stream offset of the next byte
        self._remaining = 0  # payload bytes of the current frame still due
        self._stream = 0  # stream id of the current frame
        self._header = bytearray()  # a header split across chunks
        self._error: Exception | None = None

    @property
    def offset(self) -> int:
        """Bytes consumed since the stream began."""
        return self._offset

    def feed(self, data: bytes | bytearray | memoryview) -> list[Piece]:
        """Demuxes ``data``; returns ``(stream, payload)`` pieces in order.

        Concatenating the payloads of one stream's pieces gives that stream.
        A piece may hold several adjacent short frames of one stream.  A
        payload is ``bytes`` or a read-only view (this backend gives views;
        the native one gives ``bytes`` for pieces under 1 KiB): views are of
        ``data`` itself when it is ``bytes`` (they keep it alive), else of a
        private copy; all stay valid for good.
        """
        view = immutable(data)
        segments, error = self.walk(view)
        pieces = pieces_of([(view, segments)])
        if error is not None:
            error.pieces = pieces
            raise error
        return pieces

    def feed_into(self, data: bytes | bytearray | memoryview, sinks: Sinks) -> None:
        """Demuxes ``data``, appending each stream's payload to ``sinks[stream]``.

        ``sinks`` maps stream ids to sinks (see :mod:`wireproto._sinks`): a
        bytearray, or an object whose ``write`` consumes the view it is given
        during the call.  Each stream's sink gets at most one append per call.
        """
        view = byte_view(data)
        segments, error = self.walk(view)
        try:
            gather([(view, segments)], sinks)
        except Exception as exc:
            self.fail(exc)  # payload of this chunk was consumed but not delivered
            raise
        if error is not None:
            raise error

    def close(self) -> None:
        """Says the stream ended; TruncatedFrame if it ended inside a frame."""
        self._check_usable()
        if self._header:
            missing = HEADER_SIZE - len(self._header)
            self._fail(TruncatedFrame(self._offset, missing, in_header=True))
        if self._remaining:
            self._fail(TruncatedFrame(self._offset, self._remaining, in_header=False))

    def _check_usable(self) -> None:
        if self._error is not None:
            raise StreamFailed(self._error)

    def _fail(self, error: FrameError) -> None:
        self._error = error
        raise error

    def fail(self, error: Exception) -> None:
        """Marks the demuxer failed by ``error`` (a layer above lost payload)."""
        self._error = self._error or error

    def walk(self, data: memoryview) -> tuple[list[Segment], FrameError | None]:
        """Consumes ``data``: its payload segments, and the error that stopped it."""
        self._check_usable()
        segments: list[Segment] = []
        end = len(data)
        pos = 0
        remaining = self._remaining
        stream = self._stream
        error = None
        while True:
            if remaining:
                if pos == end:
                    break
                stop = min(pos + remaining, end)
                segments.append((stream, pos, stop))
                remaining -= stop - pos
                pos = stop
            elif pos == end:
                break
            elif not self._header and end - pos >= HEADER_SIZE:
                pos, stream, remaining, error = self._whole_frames(data, pos, segments)
                if error is not None:
                    break
            else:
                value = data[pos]
                if header_byte_error(len(self._header), value):
                    error = InvalidFrameHeader(self._offset + pos, len(self._header), value)
                    break
                self._header.append(value)
                pos += 1
                if len(self._header) == HEADER_SIZE:
                    word, remaining = _HEADER.unpack(self._header)
                    stream = word >> 24
                    self._header.clear()
        self._remaining = remaining
        self._stream = stream
        self._offset += pos
        self._error = error
        return segments, error

    def _whole_frames(
        self, data: memoryview, pos: int, segments: list[Segment]
    ) -> tuple[int, int, int, InvalidFrameHeader | None]:
        """The hot loop: frames whose header is whole in ``data``, one unpack each.

        Returns where it stopped, the stream and payload still due of the last
        frame (its payload runs past the data), and the error if a header is bad.
        """
        end = len(data)
        unpack_from = _HEADER.unpack_from
        append = segments.append
        stream = 0
        while end - pos >= HEADER_SIZE:
            word, size = unpack_from(data, pos)
            if word & _INVALID_WORD_BITS:
                return pos, stream, 0, self._bad_header(data, pos)
            stream = word >> 24
            pos += HEADER_SIZE
            stop = pos + size
            if stop > end:
                return pos, stream, size, None
            if size:
                append((stream, pos, stop))
            pos = stop
        return pos, stream, 0, None

    def _bad_header(self, data: memoryview, pos: int) -> InvalidFrameHeader:
        index = next(i for i in range(4) if header_byte_error(i, data[pos + i]))
        return InvalidFrameHeader(self._offset + pos + index, index, data[pos + index])


Group = tuple[memoryview, list[Segment]]


def pieces_of(groups: list[Group]) -> list[Piece]:
    """The ordered pieces of the segments in ``groups``.

    ``groups`` pairs each input view with its segments: one group for a plain
    stream, one per chunk for a chunked body.  Adjacent short segments of one
    stream merge into one piece, across groups too.
    """
    pieces: list[Piece] = []
    run: list[memoryview] = []  # the views the last piece is made of
    last_stream = -1
    previous_small = False
    for view, segments in groups:
        for stream, start, stop in segments:
            small = stop - start < COALESCE_BELOW
            if small and previous_small and stream == last_stream:
                run.append(view[start:stop])
                continue
            if len(run) > 1:
                pieces[-1] = (last_stream, memoryview(b"".join(run)))
            run = [view[start:stop]]
            pieces.append((stream, run[0]))
            last_stream = stream
            previous_small = small
    if len(run) > 1:
        pieces[-1] = (last_stream, memoryview(b"".join(run)))
    return pieces


def gather(groups: list[Group], sinks: Sinks) -> None:
    """Appends each stream's segments to its sink, one append per stream."""
    spans: list[list[memoryview]] = [[] for _ in range(STREAMS)]
    for view, segments in groups:
        for stream, start, stop in segments:
            spans[stream].append(view[start:stop])
    # Every sink is looked up before any is written, so a missing one loses nothing.
    targets = [(sink_for(sinks, s), views) for s, views in enumerate(spans) if views]
    for sink, views in targets:
        deliver(sink, views[0] if len(views) == 1 else memoryview(b"".join(views)))
