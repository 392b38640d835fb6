"""The C demuxer (native/demux.c) behind the same interface as the Python one.

See :mod:`wireproto._mux_python` for the behaviour; this module only moves
spans between Python and C.  The C side writes piece boundaries into arrays
allocated here and grown as chunks grow, so the hot loop allocates nothing;
``feed_into`` makes no Python object per frame, only one append per stream.
"""

from __future__ import annotations

from typing import Any

from wireproto._backend import require_native
from wireproto._mux_python import STREAMS, byte_view, immutable
from wireproto._sinks import Sinks, deliver, sink_for
from wireproto.errors import FrameError, InvalidFrameHeader, StreamFailed, TruncatedFrame

_native = require_native()
ffi: Any = _native.ffi
lib: Any = _native.lib

HEADER_SIZE = 8
# Scratch memory is written before it is read: no need to zero it.
_alloc_uncleared = ffi.new_allocator(should_clear_after_alloc=False)


class Demuxer:
    """Splits a v1.6 multiplexed stream; see wireproto._mux_python.Demuxer."""

    def __init__(self) -> None:
        self._state = ffi.new("wp_demux *")
        self._capacity = 0  # largest chunk the arrays below can take
        self._streams: Any = None
        self._starts: Any = None
        self._ends: Any = None
        self._scratch: Any = None
        self._counts = ffi.new("size_t[4]")
        self._scratch_used = ffi.new("size_t *")
        self._direct = ffi.new("int64_t[4]")
        self._error: Exception | None = None

    @property
    def offset(self) -> int:
        return int(self._state.offset)

    def feed(self, data: bytes | bytearray | memoryview) -> list[tuple[int, memoryview]]:
        self._check_usable()
        view = immutable(data)
        size = len(view)
        self._reserve(size)
        count = lib.wp_demux_pieces(
            self._state,
            ffi.from_buffer(view),
            size,
            self._scratch,
            self._streams,
            self._starts,
            self._ends,
            self._scratch_used,
        )
        pieces = self._pieces(view, count)
        if self._state.error:
            error = self._frame_error()
            error.pieces = pieces
            raise error
        return pieces

    def feed_into(self, data: bytes | bytearray | memoryview, sinks: Sinks) -> None:
        self._check_usable()
        view = byte_view(data)
        size = len(view)
        self._reserve(size)
        lib.wp_demux_split(
            self._state, ffi.from_buffer(view), size, self._scratch, self._counts, self._direct
        )
        try:
            self._gather(view, size, sinks)
        except Exception as exc:
            self._error = exc
            raise
        if self._state.error:
            raise self._frame_error()

    def close(self) -> None:
        self._check_usable()
        state = self._state
        if state.have:
            missing = HEADER_SIZE - state.have
            self._fail(TruncatedFrame(self.offset, missing, in_header=True))
        if state.remaining:
            self._fail(TruncatedFrame(self.offset, int(state.remaining), in_header=False))

    def _check_usable(self) -> None:
        if self._error is not None:
            raise StreamFailed(self._error)

    def _fail(self, error: FrameError) -> None:
        self._error = error
        raise error

    def _frame_error(self) -> FrameError:
        state = self._state
        offset = int(state.error_offset)
        error = InvalidFrameHeader(offset, int(state.error_index), int(state.error_byte))
        self._error = error
        return error

    def _reserve(self, size: int) -> None:
        """Grows the span arrays and scratch to take a chunk of ``size`` bytes."""
        if size <= self._capacity:
            return
        capacity = max(size, 2 * self._capacity, 4096)
        slots = capacity // HEADER_SIZE + 2
        self._streams = _alloc_uncleared("uint8_t[]", slots)
        self._starts = _alloc_uncleared("size_t[]", slots)
        self._ends = _alloc_uncleared("size_t[]", slots)
        self._scratch = _alloc_uncleared("uint8_t[]", STREAMS * capacity)
        self._capacity = capacity

    def _pieces(self, view: memoryview, count: int) -> list[tuple[int, memoryview]]:
        if count == 0:
            return []
        streams = ffi.buffer(self._streams, count)[:]
        starts = ffi.unpack(self._starts, count)
        ends = ffi.unpack(self._ends, count)
        used = self._scratch_used[0]
        if not used:
            return list(zip(streams, map(view.__getitem__, map(slice, starts, ends)), strict=False))
        # Merged pieces live in scratch, reused by the next call: copy them out once.
        merged = memoryview(ffi.buffer(self._scratch, used)[:])
        flag = lib.WP_IN_SCRATCH
        return [
            (s & 3, merged[a:b]) if s & flag else (s, view[a:b])
            for s, a, b in zip(streams, starts, ends, strict=False)
        ]

    def _gather(self, view: memoryview, size: int, sinks: Sinks) -> None:
        counts = ffi.unpack(self._counts, STREAMS)
        direct = ffi.unpack(self._direct, STREAMS)
        # Every sink is looked up before any is written, so a missing one loses nothing.
        targets = [(sink_for(sinks, s), s) for s in range(STREAMS) if counts[s]]
        for sink, stream in targets:
            count, start = counts[stream], direct[stream]
            if start >= 0:
                deliver(sink, view[start : start + count])
            else:
                deliver(sink, memoryview(ffi.buffer(self._scratch + stream * size, count)))
