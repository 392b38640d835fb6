"""The C chunked decoder and fused chunked demuxer (native/chunked.c).

See :mod:`wireproto.codec.python.chunked` for the behaviour; this module only
moves spans between Python and C, reusing the demuxer's span buffers.
"""

from __future__ import annotations

from typing import Any

from wireproto.codec.native.mux import Demuxer, SpanBuffers, ffi, lib
from wireproto.codec.sinks import Sinks
from wireproto.codec.views import (
    BytesLike,
    Failable,
    ForwardsBodyEnd,
    Piece,
    byte_view,
    immutable,
    missing_detail,
    stream_end,
)
from wireproto.errors import FrameError, IncompleteBody, InvalidChunk


class _Chunks(Failable):
    """The chunked-framing state shared by both native classes."""

    def __init__(self) -> None:
        self.state: Any = ffi.new("wp_chunked *")
        self.trailing = b""
        self._error: InvalidChunk | None = None

    @property
    def done(self) -> bool:
        return bool(self.state.done)

    def after(self, view: memoryview, consumed: int) -> InvalidChunk | None:
        """Keeps the bytes past the body's end; the framing error C found, if any."""
        state = self.state
        if state.done:
            self.trailing = view[consumed:].tobytes()
        if state.error:
            self._error = InvalidChunk(
                int(state.error), int(state.error_offset), int(state.error_byte)
            )
        return self._error

    def close(self) -> None:
        self.check_usable()
        if not self.state.done:
            raise IncompleteBody(int(self.state.offset), missing_detail(self.state.remaining))


class ChunkedDecoder(ForwardsBodyEnd[_Chunks]):
    """Decodes a chunked body; see wireproto.codec.python.chunked.ChunkedDecoder."""

    def __init__(self) -> None:
        self._wire = _Chunks()
        self._buffers = SpanBuffers(1 / 3)

    @property
    def offset(self) -> int:
        return int(self._wire.state.offset)

    def feed(self, data: BytesLike) -> list[memoryview]:
        view = immutable(data)
        self._wire.check_usable()
        if self._wire.done:
            self._wire.trailing += view.tobytes()
            return []
        buffers = self._buffers
        buffers.reserve(len(view))
        count = lib.wp_chunked_spans(
            self._wire.state,
            ffi.from_buffer(view),
            len(view),
            buffers.starts,
            buffers.ends,
            buffers.consumed,
        )
        starts = ffi.unpack(buffers.starts, count)
        ends = ffi.unpack(buffers.ends, count)
        spans = list(map(view.__getitem__, map(slice, starts, ends)))
        error = self._wire.after(view, buffers.consumed[0])
        if error is not None:
            error.pieces = list(spans)
            raise error
        return spans

    def close(self) -> None:
        self._wire.close()


class ChunkedDemuxer(ForwardsBodyEnd[_Chunks]):
    """A chunked multiplexed body in one pass; see wireproto.codec.python.chunked."""

    def __init__(self) -> None:
        self._wire = _Chunks()
        self._demuxer = Demuxer()
        self._buffers = SpanBuffers(1 / 4)

    @property
    def offset(self) -> int:
        return self._demuxer.offset

    def feed(self, data: BytesLike) -> list[Piece]:
        view = immutable(data)
        if not self._usable(view):
            return []
        buffers = self._buffers
        buffers.reserve(len(view))
        pieces = buffers.pieces(view, self.walk_pieces(ffi.from_buffer(view), view))
        error = self._error(view)
        if error is not None:
            error.pieces = pieces
            raise error
        return pieces

    def feed_into(self, data: BytesLike, sinks: Sinks) -> None:
        view = byte_view(data)
        if not self._usable(view):
            return
        buffers = self._buffers
        buffers.reserve(len(view))
        try:
            buffers.deliver(view, ffi.from_buffer(view), sinks, self)
        except Exception as exc:
            self._demuxer.fail(exc)  # payload consumed but not delivered
            raise
        error = self._error(view)
        if error is not None:
            raise error

    @property
    def state(self) -> Any:
        """The demuxer's state (see Walker)."""
        return self._demuxer.state

    def walk_pieces(self, source: Any, view: memoryview) -> int:
        """Runs the fused C walk that lists pieces; returns how many (see Walker)."""
        buffers, states = self._buffers, (self._wire.state, self._demuxer.state)
        return int(
            lib.wp_chunked_demux_pieces(
                *states, source, len(view), *buffers.piece_outputs, buffers.consumed
            )
        )

    def walk_gather(self, source: Any, view: memoryview) -> int:
        """Runs the fused C walk that gathers each stream's payload (see Walker)."""
        buffers, states = self._buffers, (self._wire.state, self._demuxer.state)
        return int(
            lib.wp_chunked_demux_gather(
                *states, source, len(view), *buffers.gather_outputs, buffers.consumed
            )
        )

    def close(self) -> None:
        self._wire.close()
        self._demuxer.close()

    def _usable(self, view: memoryview) -> bool:
        """False once the body is done (the bytes join ``trailing``)."""
        self._demuxer.check_usable()
        self._wire.check_usable()
        if not self._wire.done:
            return True
        self._wire.trailing += view.tobytes()
        return False

    def _error(self, view: memoryview) -> InvalidChunk | FrameError | None:
        if self._demuxer.state.error:
            return self._demuxer.frame_error()
        error = self._wire.after(view, self._buffers.consumed[0])
        if error is None and self._wire.state.done:
            return stream_end(self._demuxer)
        return error
