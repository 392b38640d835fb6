"""The C demuxer (native/demux.c) behind the same interface as the Python one.

See :mod:`wireproto.codec.python.mux` for the behaviour; this module only moves
spans between Python and C.  The C side writes piece boundaries into arrays
allocated here and grown as chunks grow, so the hot loop allocates nothing;
``feed_into`` makes no Python object per frame, only one append per stream.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable
from typing import Any, Protocol

from wireproto.codec.native import load_pieces, require_native
from wireproto.codec.python.mux import FrameJoin, truncated_payload
from wireproto.codec.sinks import Sinks, deliver, sink_for
from wireproto.codec.views import (
    HEADER_SIZE,
    STREAMS,
    BytesLike,
    Demuxing,
    Piece,
    byte_view,
    immutable,
)
from wireproto.errors import (
    FrameError,
    InvalidFrameHeader,
    MissingSink,
    TruncatedFrame,
)

_native = require_native()
ffi: Any = _native.ffi
lib: Any = _native.lib

IN_SCRATCH: int = lib.WP_IN_SCRATCH
FRAME_OPEN: int = lib.WP_FRAME_OPEN
_WITHOUT_FLAG = bytes(b & 3 for b in range(256))  # stream bytes without IN_SCRATCH
_FLAGGED = bytes(b for b in range(256) if b & IN_SCRATCH)
_cut_in_c = load_pieces()  # None: SpanBuffers._short_pieces cuts them with struct
# An input with at least this many frames is "small frames": see SpanBuffers.gather.
GROW_FROM_FRAMES = 8
# Scratch memory is written before it is read: no need to zero it.
_alloc_uncleared = ffi.new_allocator(should_clear_after_alloc=False)


def _lookup(sinks: Sinks, stream: int) -> object:
    """The sink of ``stream``, or None: a stream may be expected and not come."""
    try:
        return sinks[stream]
    except (KeyError, IndexError):
        return None


def _bytearray_resizer() -> Callable[[bytearray, int], int] | None:
    """CPython's PyByteArray_Resize: grows a bytearray without writing its new bytes.

    ``feed_into`` grows bytearray sinks and lets C copy the payload straight
    in: one copy instead of two (C into scratch, then ``+=``).  Elsewhere
    (no ``ctypes.pythonapi``) sinks are extended from scratch, with the same
    result.
    """
    resize = getattr(ctypes, "pythonapi", None)
    if resize is None:
        return None
    function = resize.PyByteArray_Resize
    function.argtypes = [ctypes.py_object, ctypes.c_ssize_t]
    function.restype = ctypes.c_int  # -1 sets a Python error, which PyDLL raises
    return function  # type: ignore[no-any-return]


_resize = _bytearray_resizer()
# A sink grown for a gather: (stream, sink, its old length, the cffi buffer
# C writes through).
Grown = tuple[int, bytearray, int, Any]
_STREAM_IDS = range(STREAMS)


class Walker(Protocol):
    """A demuxer's C walks over one input, as :meth:`SpanBuffers.deliver` runs them."""

    @property
    def state(self) -> Any:
        """The wp_demux, whose frame count picks the next input's path."""
        ...

    def walk_pieces(self, source: Any, view: memoryview) -> int:
        """Lists the input's pieces; returns how many."""
        ...

    def walk_gather(self, source: Any, view: memoryview) -> int:
        """Gathers each stream's payload (into ``dest`` where set); returns the
        streams fed, as a mask."""
        ...


class SpanBuffers:
    """The arrays C writes spans into, sized for the largest input so far."""

    def __init__(self, slots_per_byte: float) -> None:
        self._slots_per_byte = slots_per_byte
        self.capacity = 0
        self.streams: Any = None
        self.starts: Any = None
        self.ends: Any = None
        self.scratch: Any = None
        self.scratch_views: list[memoryview] = []
        self.counts = ffi.new("size_t[4]")
        self.dest = ffi.new("uint8_t *[4]")
        self.direct = ffi.new("int64_t[4]")
        self.scratch_used = ffi.new("size_t *")
        # Streams gather() grows the sinks of first (see there), and as a mask.
        self.expected: list[int] = []
        self.expected_mask = 0
        self.consumed = ffi.new("size_t *")
        self.format: Any = None  # struct formats C writes: see _short_pieces
        self.format_size = 0
        self.piece_outputs: tuple[Any, ...] = ()  # set by reserve()
        self.piece_arrays: tuple[Any, ...] = ()
        self.gather_outputs: tuple[Any, ...] = ()

    def reserve(self, size: int) -> None:
        """Grows the arrays and scratch to take an input of ``size`` bytes."""
        if size <= self.capacity and self.streams is not None:
            return
        capacity = max(size, 2 * self.capacity, 4096)
        slots = int(capacity * self._slots_per_byte) + 2
        self.streams = _alloc_uncleared("uint8_t[]", slots)
        self.starts = _alloc_uncleared("size_t[]", slots)
        self.ends = _alloc_uncleared("size_t[]", slots)
        self.scratch = _alloc_uncleared("uint8_t[]", STREAMS * capacity)
        self.scratch_views = [
            memoryview(ffi.buffer(self.scratch + s * capacity, capacity)) for s in range(STREAMS)
        ]
        self.capacity = capacity
        # The output arguments of the C walks, in their order (wireproto.h):
        # the pieces walks', and the gather walks' (scratch at a stride of capacity).
        self.piece_outputs = (self.scratch, self.streams, self.starts, self.ends, self.scratch_used)
        self.gather_outputs = (self.scratch, capacity, self.dest, self.counts, self.direct)
        # The same arrays as buffers, for the pieces cut in C (_cut_in_c).
        self.piece_arrays = (
            ffi.buffer(self.streams, slots),
            ffi.buffer(self.starts, slots * ffi.sizeof("size_t")),
            ffi.buffer(self.ends, slots * ffi.sizeof("size_t")),
            ffi.buffer(self.scratch, capacity),
        )

    def pieces(self, view: memoryview, count: int) -> list[Piece]:
        """The pieces C described: views of ``view``, or bytes of short ones."""
        if count == 0:
            return []
        used = self.scratch_used[0]
        if used and _cut_in_c is not None:
            cut: list[Piece] | None = _cut_in_c.cut(*self.piece_arrays, count, used)
            if cut is not None:
                return cut
        streams = ffi.buffer(self.streams, count)[:]
        if used and not streams.translate(None, _FLAGGED):  # all in scratch
            return self._short_pieces(streams, count, used)
        starts = ffi.unpack(self.starts, count)
        ends = ffi.unpack(self.ends, count)
        if not used:
            return [(s, view[a:b]) for s, a, b in zip(streams, starts, ends)]
        # Short pieces live in scratch, reused by the next call: copy them out
        # once, as bytes, so that they are cut as bytes (as all short pieces are).
        merged = ffi.buffer(self.scratch, used)[:]
        return [
            (s & 3, merged[a:b]) if s & IN_SCRATCH else (s, view[a:b])
            for s, a, b in zip(streams, starts, ends)
        ]

    def _short_pieces(self, streams: bytes, count: int, used: int) -> list[Piece]:
        """All pieces short (log lines), end to end in scratch: cut in one call.

        A struct format of their lengths (written by C) makes every piece's
        bytes object in one ``unpack_from``, with no Python bytecode per piece:
        instead of a slice per piece, which would dominate ``feed``.
        """
        if 1 + 21 * count > self.format_size:
            self.format_size = 1 + 21 * count
            self.format = _alloc_uncleared("char[]", self.format_size)
        size = lib.wp_pieces_format(self.starts, self.ends, count, self.format)
        cut = struct.Struct(ffi.buffer(self.format, size)[:])
        parts: tuple[bytes, ...] = cut.unpack_from(ffi.buffer(self.scratch, used))
        return list(zip(streams.translate(_WITHOUT_FLAG), parts))

    def deliver(self, view: memoryview, source: Any, sinks: Sinks, walker: Walker) -> None:
        """``feed_into``'s C pass and delivery: :meth:`gather` after an input of
        many small frames (``expected``), else :meth:`scatter` of the pieces."""
        if self.expected:
            self.gather(view, source, sinks, walker)
            return
        state = walker.state
        frames = state.frames
        count = walker.walk_pieces(source, view)
        self.scatter(view, sinks, count, state.frames - frames)

    def gather(self, view: memoryview, source: Any, sinks: Sinks, walker: Walker) -> None:
        """Runs the C gather and hands each stream's payload to its sink.

        The path for inputs of many small frames (see ``expected``): the
        bytearray sinks of the streams the last input fed are grown by this
        input's length (a bound on any stream's payload), C copies straight
        into them in its one walk, and they are trimmed to what came: one
        copy, no dry run.  Any other stream's payload lies in scratch, or as
        one span in the input, and is appended afterwards.  On any failure
        the sinks are left as the Python backend leaves them: filled in
        stream order up to the failing one.

        This runs once per read of log lines, beside a short C walk,
        so it is kept to a few calls per stream: C says which streams it fed
        (a bit mask), trimming is a ``del``, and ``expected`` is rebuilt only
        when it changes.
        """
        grown, grown_mask = self._grow(sinks, len(view))
        state = walker.state
        frames_before = state.frames
        fed = walker.walk_gather(source, view)
        counts, dest = self.counts, self.dest
        for stream, sink, old, buffer in grown:
            ffi.release(buffer)  # so the sink can be resized again
            dest[stream] = ffi.NULL
            del sink[old + counts[stream] :]
        plan = fed if state.frames - frames_before >= GROW_FROM_FRAMES else 0
        if plan != self.expected_mask:
            self._expect(plan)
        if fed != grown_mask:
            self._deliver_late(view, sinks, fed & ~grown_mask, grown)

    def scatter(self, view: memoryview, sinks: Sinks, count: int, frames: int) -> None:
        """Appends the ``count`` pieces C listed to their sinks, stream by stream.

        The path for inputs of few, large frames: each piece is appended from
        where it lies, so a stream arriving in two spans (the end of one
        frame, the start of the next) costs one copy, not a gather in scratch
        and an append.  ``frames`` (headers read) picks the next input's path.
        Streams are served in stream order, as the Python backend does.
        Plain loops over the few pieces, no comprehensions or array unpacks:
        each of those has a fixed cost that is not small beside the copy of
        a 64 KiB read.
        """
        if count == 2:
            self._scatter_two(view, sinks, frames)
            return
        flags, starts, ends = self.streams, self.starts, self.ends
        scratch = self.scratch_views[0]
        by_stream: dict[int, list[memoryview]] = {}
        for i in range(count):
            flag = flags[i]
            part = (scratch if flag & IN_SCRATCH else view)[starts[i] : ends[i]]
            parts = by_stream.get(flag & 3)
            if parts is None:
                by_stream[flag & 3] = [part]
            else:
                parts.append(part)
        # Every sink is looked up before any is written: a missing one loses nothing.
        targets = []
        mask = 0
        for stream in by_stream if len(by_stream) == 1 else sorted(by_stream):
            targets.append((sink_for(sinks, stream), by_stream[stream]))
            mask |= 1 << stream
        if frames >= GROW_FROM_FRAMES:
            self._expect(mask)
        for sink, parts in targets:
            if type(sink) is bytearray:
                for part in parts:  # on a plain bytearray N appends are one, observably
                    sink += part
            else:  # one write per stream per call, as documented
                deliver(sink, parts[0] if len(parts) == 1 else memoryview(b"".join(parts)))

    def _scatter_two(self, view: memoryview, sinks: Sinks, frames: int) -> None:
        """:meth:`scatter` of two pieces, written out: the shape of nearly every
        read of large frames (the end of one frame, the start of the next),
        where the general loop's bookkeeping is a large share of the read."""
        flags, starts, ends = self.streams, self.starts, self.ends
        first, second = flags[0], flags[1]
        scratch = self.scratch_views[0]
        part = (scratch if first & IN_SCRATCH else view)[starts[0] : ends[0]]
        other = (scratch if second & IN_SCRATCH else view)[starts[1] : ends[1]]
        stream, other_stream = first & 3, second & 3
        if stream == other_stream:
            sink = sink_for(sinks, stream)
            if frames >= GROW_FROM_FRAMES:
                self._expect(1 << stream)
            if type(sink) is bytearray:
                sink += part
                sink += other
            else:  # one write per stream per call
                deliver(sink, memoryview(b"".join((part, other))))
            return
        if other_stream < stream:  # streams are served in stream order
            stream, other_stream, part, other = other_stream, stream, other, part
        # Both sinks are looked up before either is written: a missing one loses nothing.
        sink, other_sink = sink_for(sinks, stream), sink_for(sinks, other_stream)
        if frames >= GROW_FROM_FRAMES:
            self._expect(1 << stream | 1 << other_stream)
        deliver(sink, part)
        deliver(other_sink, other)

    def _expect(self, mask: int) -> None:
        """Sets the streams the next input's gather grows sinks for (bit s: stream s)."""
        self.expected_mask = mask
        self.expected = [s for s in _STREAM_IDS if mask >> s & 1]

    def _grow(self, sinks: Sinks, size: int) -> tuple[list[Grown], int]:
        """Grows the ``expected`` streams' bytearray sinks by ``size`` and points
        ``dest`` at the new space (nothing without ``ctypes.pythonapi``).
        Returns them, and their streams as a bit mask.

        A sink that cannot grow (a view of it is alive, or it serves two
        streams) undoes the others: this call then takes the scratch path,
        where ``+=`` fails at the same sink as in the Python backend.
        """
        grown: list[Grown] = []
        mask = 0
        if _resize is None:
            return grown, mask
        for stream in self.expected:
            sink = _lookup(sinks, stream)
            if type(sink) is bytearray:
                old = len(sink)
                try:
                    _resize(sink, old + size)
                except BufferError:
                    self._undo(grown)
                    return [], 0
                buffer = ffi.from_buffer(sink)
                grown.append((stream, sink, old, buffer))
                mask |= 1 << stream
                self.dest[stream] = buffer + old
        return grown, mask

    def _deliver_late(
        self, view: memoryview, sinks: Sinks, late_mask: int, grown: list[Grown]
    ) -> None:
        """Appends the payload C left in scratch or in place (streams in
        ``late_mask``); undoes on failure."""
        late = [s for s in _STREAM_IDS if late_mask >> s & 1]
        counts = ffi.unpack(self.counts, STREAMS)
        direct = ffi.unpack(self.direct, STREAMS)
        try:
            # Every sink is looked up before any is written: a missing one loses nothing.
            targets = [(s, sink_for(sinks, s)) for s in late]
        except MissingSink:
            self._undo(grown)
            raise
        for stream, sink in targets:
            try:
                deliver(sink, self._payload(view, stream, counts[stream], direct[stream]))
            except BaseException:
                self._undo([g for g in grown if g[0] > stream])
                raise

    def _undo(self, grown: list[Grown]) -> None:
        """Takes grown sinks back to their old length."""
        for stream, sink, old, buffer in grown:
            ffi.release(buffer)
            del sink[old:]
            self.dest[stream] = ffi.NULL

    def _payload(self, view: memoryview, stream: int, count: int, start: int) -> memoryview:
        if start >= 0:
            return view[start : start + count]
        return self.scratch_views[stream][:count]


class Demuxer(Demuxing):
    """Splits a v1.6 multiplexed stream; see wireproto.codec.python.mux.Demuxer."""

    def __init__(self, per_frame: bool = False) -> None:
        self.state = ffi.new("wp_demux *")
        self._buffers = SpanBuffers(1 / HEADER_SIZE)
        self._error: Exception | None = None
        self._frames = FrameJoin() if per_frame else None
        self.state.per_frame = per_frame

    @property
    def offset(self) -> int:
        return int(self.state.offset)

    def feed(self, data: BytesLike) -> list[Piece]:
        self.check_usable()
        view = immutable(data)
        buffers = self._buffers
        buffers.reserve(len(view))
        count = self.walk_pieces(ffi.from_buffer(view), view)
        if self._frames is not None:
            pieces = self._frame_pieces(view, count)
        else:
            pieces = buffers.pieces(view, count)
        if self.state.error:
            error = self.frame_error()
            error.pieces = pieces
            raise error
        return pieces

    def feed_into(self, data: BytesLike, sinks: Sinks) -> None:
        self.check_usable()
        view = byte_view(data)
        buffers = self._buffers
        buffers.reserve(len(view))
        try:
            buffers.deliver(view, ffi.from_buffer(view), sinks, self)
        except Exception as exc:
            self.fail(exc)  # payload of this chunk was consumed but not delivered
            raise
        if self.state.error:
            raise self.frame_error()

    def _frame_pieces(self, view: memoryview, count: int) -> list[Piece]:
        """Per-frame ``feed``: the pieces C listed (never merged), an open
        frame's held back by FrameJoin (C flags it; the flag is cleared
        before the pieces are cut, which read the stream byte)."""
        assert self._frames is not None
        streams = self._buffers.streams
        last_open = count > 0 and bool(streams[count - 1] & FRAME_OPEN)
        if last_open:
            streams[count - 1] &= ~FRAME_OPEN
        return self._frames.frames(self._buffers.pieces(view, count), last_open)

    def walk_pieces(self, source: Any, view: memoryview) -> int:
        """Runs the C walk that lists pieces; returns how many (see Walker)."""
        outputs = self._buffers.piece_outputs
        return int(lib.wp_demux_pieces(self.state, source, len(view), *outputs))

    def walk_gather(self, source: Any, view: memoryview) -> int:
        """Runs the C walk that gathers each stream's payload (see Walker)."""
        outputs = self._buffers.gather_outputs
        return int(lib.wp_demux_gather(self.state, source, len(view), *outputs))

    def truncation(self) -> TruncatedFrame | None:
        state = self.state
        if state.have:
            return TruncatedFrame(self.offset, HEADER_SIZE - state.have, in_header=True)
        if state.remaining:
            return truncated_payload(self.offset, int(state.remaining), self._frames)
        return None

    def frame_error(self) -> FrameError:
        """The error C recorded, which fails this demuxer."""
        state = self.state
        error = InvalidFrameHeader(
            int(state.error_offset), int(state.error_index), int(state.error_byte)
        )
        self.fail(error)
        return error
