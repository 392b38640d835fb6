"""HTTP/1.1 chunked transfer coding, alone and carrying a multiplexed stream.

Strategy: the same byte-level state machine as native/chunked.c (size line,
CRLFs, trailer section; nothing buffered, so a line split across inputs costs
no copy), with a regular-expression fast path for a whole size line and for
the CRLF after data, which is how nearly every byte arrives.  Chunk data is
handed on as views of the input.  ``ChunkedDemuxer`` runs the demuxer over
each data span in the same pass and merges pieces across chunks exactly as
the C backend does, so both give identical pieces.

Limits: a size line may be at most 4096 bytes and the trailer section 16384
(as h11 bounds chunk header lines): a peer cannot make us scan forever.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from wireproto.codec.python.mux import Collector, Demuxer, feed_pieces, feed_sinks
from wireproto.codec.sinks import Sinks
from wireproto.codec.views import (
    BytesLike,
    Failable,
    ForwardsBodyEnd,
    Piece,
    immutable,
    missing_detail,
    stream_end,
)
from wireproto.errors import FrameError, IncompleteBody, InvalidChunk

MAX_LINE = 4096
MAX_TRAILER = 16384
MAX_DIGITS = 16

(
    SIZE,
    EXTENSION,
    SIZE_LF,
    DATA,
    DATA_CR,
    DATA_LF,
    LINE_START,
    TRAILER,
    TRAILER_LF,
    FINAL_LF,
    DONE,
) = range(11)
BAD_SIZE, SIZE_TOO_LONG, LINE_TOO_LONG, BAD_LINE_END, NO_DATA_END, TRAILER_TOO_LONG = range(1, 7)

# A whole size line: hex size, optional extensions, CRLF.
_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})(?:[;\t ][^\r\n\x00]*)?\r\n")
_HEX = frozenset(b"0123456789abcdefABCDEF")


class ChunkedDecoder(Failable):
    """Decodes a chunked body: feed wire bytes, get body bytes.

    ``feed`` returns the chunk data as views (of the input when it is
    ``bytes``, else of a private copy).  Once the last chunk and trailer
    section are read, ``done`` is true and ``trailing`` holds the bytes that
    followed the body (the next response, or nothing).
    """

    def __init__(self) -> None:
        self.offset = 0  # wire offset of the next byte, from the body's start
        self.done = False
        self.trailing = b""
        self.remaining = 0  # chunk-data bytes of the current chunk still due
        self._state = SIZE
        self._size = 0
        self._digits = 0
        self._line_len = 0
        self._trailer_len = 0
        self._error: InvalidChunk | None = None

    def feed(self, data: BytesLike) -> list[memoryview]:
        view = immutable(data)
        spans = [view[a:b] for a, b in self.spans(view)]
        if self._error is not None:
            self._error.pieces = list(spans)
            raise self._error
        return spans

    def close(self) -> None:
        """Says the connection ended; IncompleteBody unless the body did."""
        self.check_usable()
        if not self.done:
            raise IncompleteBody(self.offset, missing_detail(self.remaining))

    @property
    def error(self) -> InvalidChunk | None:
        return self._error

    def spans(self, view: memoryview) -> Iterator[tuple[int, int]]:
        """Consumes ``view``, yielding each chunk-data span as (start, stop).

        Stops early at the end of the body (``trailing`` takes the rest) or
        at a framing error (``error``); ``offset`` is kept current between
        yields, so a caller may stop iterating at any span.
        """
        self.check_usable()
        if self.done:
            self.trailing += bytes(view)
            return
        end = len(view)
        pos = 0
        while pos < end:
            if self._state == DATA:
                stop = min(end, pos + self.remaining)
                self.remaining -= stop - pos
                if not self.remaining:
                    self._state = DATA_CR
                self.offset += stop - pos
                yield pos, stop
                pos = stop
            elif (
                self._state == DATA_CR and pos + 1 < end and view[pos] == 13 and view[pos + 1] == 10
            ):
                self._state = SIZE
                self._size = self._digits = 0
                self.offset += 2
                pos += 2
            elif self._state == SIZE and not self._digits and (line := self._size_line(view, pos)):
                self.offset += line
                pos += line
            else:
                pos = self._framing_bytes(view, pos)
                if self._error is not None or self.done:
                    break
        if self.done:
            self.trailing = bytes(view[pos:])

    def _size_line(self, view: memoryview, pos: int) -> int:
        """Takes a whole, valid size line at ``pos`` in one step: its length, or 0."""
        match = _SIZE_LINE.match(view, pos)
        if match is None or match.end() - pos - 1 > MAX_LINE:
            return 0
        self._size = int(match.group(1), 16)
        self._digits = len(match.group(1))
        self._enter_data()
        return int(match.end() - pos)

    def _enter_data(self) -> None:
        self._line_len = 0
        self.remaining = self._size
        self._state = DATA if self._size else LINE_START

    def _framing_bytes(self, view: memoryview, pos: int) -> int:
        """Takes framing bytes one at a time until data, the end, or an error."""
        end = len(view)
        while pos < end and self._state not in (DATA, DONE):
            code = self._framing_byte(view[pos])
            if code:
                self._error = InvalidChunk(code, self.offset, view[pos])
                return pos
            pos += 1
            self.offset += 1
        return pos

    def _framing_byte(self, byte: int) -> int:
        state = self._state
        if state == DATA_CR:
            self._state = DATA_LF
            return 0 if byte == 0x0D else NO_DATA_END
        if state == DATA_LF:
            self._state = SIZE
            self._size = self._digits = 0
            return 0 if byte == 0x0A else NO_DATA_END
        if state in (SIZE, EXTENSION, SIZE_LF):
            return self._size_line_byte(byte)
        return self._trailer_byte(byte)

    def _size_line_byte(self, byte: int) -> int:
        if self._state != SIZE_LF:
            self._line_len += 1
            if self._line_len > MAX_LINE:
                return LINE_TOO_LONG
        if self._state == SIZE:
            return self._size_byte(byte)
        if self._state == EXTENSION:
            if byte == 0x0D:
                self._state = SIZE_LF
            return BAD_LINE_END if byte in (0x0A, 0) else 0
        if byte != 0x0A:
            return BAD_LINE_END
        self._enter_data()
        return 0

    def _size_byte(self, byte: int) -> int:
        if byte in _HEX:
            if self._digits == MAX_DIGITS:
                return SIZE_TOO_LONG
            self._size = self._size << 4 | int(chr(byte), 16)
            self._digits += 1
            return 0
        if self._digits and byte in b"; \t":
            self._state = EXTENSION
            return 0
        if self._digits and byte == 0x0D:
            self._state = SIZE_LF
            return 0
        return BAD_LINE_END if self._digits and byte == 0x0A else BAD_SIZE

    def _trailer_byte(self, byte: int) -> int:
        state = self._state
        if state != FINAL_LF:
            self._trailer_len += 1
            if self._trailer_len > MAX_TRAILER:
                return TRAILER_TOO_LONG
        if state == LINE_START:
            self._state = FINAL_LF if byte == 0x0D else TRAILER
            return BAD_LINE_END if byte == 0x0A else 0
        if state == TRAILER:
            if byte == 0x0D:
                self._state = TRAILER_LF
            return BAD_LINE_END if byte == 0x0A else 0
        if state == TRAILER_LF:
            self._state = LINE_START
            return 0 if byte == 0x0A else BAD_LINE_END
        if byte != 0x0A:
            return BAD_LINE_END  # a failed body is not done
        self._state = DONE
        self.done = True
        return 0


class ChunkedDemuxer(ForwardsBodyEnd[ChunkedDecoder]):
    """A chunked body that carries a multiplexed stream, decoded in one pass.

    The same interface as :class:`wireproto.codec.python.mux.Demuxer`, plus
    ``done`` and ``trailing`` as on :class:`ChunkedDecoder`.  Framing errors
    raise :class:`~wireproto.errors.InvalidChunk` (wire offset), stream errors
    :class:`~wireproto.errors.FrameError` (stream offset).
    """

    def __init__(self) -> None:
        self._wire = ChunkedDecoder()
        self._demuxer = Demuxer()

    @property
    def offset(self) -> int:
        """Stream bytes consumed (the body without its chunk framing)."""
        return self._demuxer.offset

    def feed(self, data: BytesLike) -> list[Piece]:
        return feed_pieces(self._walk, data)

    def feed_into(self, data: BytesLike, sinks: Sinks) -> None:
        feed_sinks(self._walk, self._demuxer, data, sinks)

    def close(self) -> None:
        """The connection ended: the body must be complete, and the stream too."""
        self._wire.close()
        self._demuxer.close()

    def _walk(self, view: memoryview, out: Collector) -> FrameError | InvalidChunk | None:
        """Demuxes the chunk data of ``view`` into ``out``; the error that stopped it."""
        self._demuxer.check_usable()
        for start, stop in self._wire.spans(view):
            error = self._demuxer.walk(view, out, start, stop)
            if error is not None:
                return error
        if self._wire.error is not None:
            return self._wire.error
        return stream_end(self._demuxer) if self._wire.done else None
