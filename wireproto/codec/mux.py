"""The v1.6 multiplexed stdout/stderr stream: encode frames, demux streams.

A frame is an 8-byte header ``[stream, 0, 0, 0, size:uint32 big-endian]``
followed by ``size`` payload bytes.  Engines use it for attach, exec start and
logs of containers without a TTY; with a TTY the stream is raw bytes, which
:class:`RawStream` passes through behind the same interface.

``Demuxer`` is the backend chosen at import (``BACKEND``: "native" or
"python", forced with ``WIREPROTO_BACKEND``); both behave identically.
"""

from __future__ import annotations

import struct
from typing import Any

from wireproto.codec import backend as _backend
from wireproto.codec.sinks import Sinks, deliver, sink_for
from wireproto.codec.views import COALESCE_BELOW, BytesLike, Decoder, Piece, immutable
from wireproto.codec.views import HEADER_SIZE as HEADER_SIZE
from wireproto.errors import LocalProtocolError, StreamFailed

STDIN = 0
STDOUT = 1
STDERR = 2
SYSTEMERR = 3  # newer engines: the engine itself failed while reading logs

MAX_PAYLOAD = 2**32 - 1
_HEADER = struct.Struct(">BxxxI")

BACKEND = _backend.BACKEND
Demuxer: type[Decoder] = _backend.classes().Demuxer


def demuxer_class(backend: str) -> type[Decoder]:
    """The Demuxer class of ``backend`` ("native" or "python"; "" for the default)."""
    return _backend.classes(_backend.choose(backend)).Demuxer


def frame_demuxer(backend: str = "") -> Decoder:
    """A demuxer in per-frame mode: ``feed`` gives one piece per frame.

    The default mode merges adjacent short frames of a stream into one piece;
    here each non-empty frame is one piece, handed out once the frame is
    whole (a frame cut across inputs is held, then given as ``bytes``): the
    unit clients such as docker-py hand to their callers, a log line per item.
    ``close`` on a stream cut inside a frame raises TruncatedFrame whose
    ``pieces`` hold what came of that frame.  ``feed_into`` is unchanged.
    """
    cls: type[Any] = demuxer_class(backend)
    demuxer: Decoder = cls(per_frame=True)
    return demuxer


def header(stream: int, size: int) -> bytes:
    """The 8-byte header of a frame of ``size`` payload bytes on ``stream``."""
    if not STDIN <= stream <= SYSTEMERR:
        raise LocalProtocolError(f"stream must be 0..3 (stdin..systemerr), not {stream}")
    if not 0 <= size <= MAX_PAYLOAD:
        raise LocalProtocolError(f"frame payload must be 0..{MAX_PAYLOAD} bytes, not {size}")
    return _HEADER.pack(stream, size)


def encode(stream: int, payload: BytesLike) -> bytes:
    """One frame carrying ``payload`` on ``stream``."""
    return header(stream, len(memoryview(payload).cast("B"))) + payload


class RawStream:
    """A TTY stream behind the Demuxer interface: every byte is stdout.

    With a TTY the engine merges stdout and stderr into one raw stream; this
    passes it through as ``(STDOUT, bytes)`` pieces so callers need not branch
    on the framing.
    """

    def __init__(self) -> None:
        self._offset = 0
        self._closed = False

    @property
    def offset(self) -> int:
        return self._offset

    def feed(self, data: BytesLike) -> list[Piece]:
        self._check_open()
        view = immutable(data)
        self._offset += len(view)
        if not len(view):
            return []
        if len(view) < COALESCE_BELOW:  # short pieces are bytes, as the demuxers give them
            return [(STDOUT, bytes(view))]
        return [(STDOUT, view)]

    def feed_into(self, data: BytesLike, sinks: Sinks) -> None:
        self._check_open()
        view = memoryview(data).cast("B")
        self._offset += len(view)
        if len(view):
            deliver(sink_for(sinks, STDOUT), view)

    def close(self) -> None:
        self._check_open()
        self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            raise StreamFailed(LocalProtocolError("raw stream already closed"))


def decoder(tty: bool) -> Decoder:
    """The stream decoder for a container with (raw) or without (multiplexed) a TTY."""
    return RawStream() if tty else Demuxer()
