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
from typing import Union

from wireproto import _backend
from wireproto._mux_python import COALESCE_BELOW, immutable
from wireproto._mux_python import Demuxer as PythonDemuxer
from wireproto._sinks import Sinks, deliver, sink_for
from wireproto.errors import LocalProtocolError, StreamFailed

STDIN = 0
STDOUT = 1
STDERR = 2
SYSTEMERR = 3  # newer engines: the engine itself failed while reading logs

HEADER_SIZE = 8
MAX_PAYLOAD = 2**32 - 1
_HEADER = struct.Struct(">BxxxI")

BACKEND = _backend.BACKEND

AnyDemuxer = Union[PythonDemuxer, "NativeDemuxer"]


def demuxer_class(backend: str) -> type[PythonDemuxer] | type[NativeDemuxer]:
    """The Demuxer class of ``backend`` ("native" or "python")."""
    if _backend.choose(backend) == "native":
        from wireproto._mux_native import Demuxer as native

        return native
    return PythonDemuxer


if BACKEND == "native":
    from wireproto._mux_native import Demuxer as NativeDemuxer

    Demuxer: type[PythonDemuxer] | type[NativeDemuxer] = NativeDemuxer
else:
    Demuxer = PythonDemuxer


def header(stream: int, size: int) -> bytes:
    """The 8-byte header of a frame of ``size`` payload bytes on ``stream``."""
    if not STDIN <= stream <= SYSTEMERR:
        raise LocalProtocolError(f"stream must be 0..3 (stdin..systemerr), not {stream}")
    if not 0 <= size <= MAX_PAYLOAD:
        raise LocalProtocolError(f"frame payload must be 0..{MAX_PAYLOAD} bytes, not {size}")
    return _HEADER.pack(stream, size)


def encode(stream: int, payload: bytes | bytearray | memoryview) -> bytes:
    """One frame carrying ``payload`` on ``stream``."""
    return header(stream, len(memoryview(payload).cast("B"))) + payload


def encode_raw(stream: int, payload: bytes | bytearray | memoryview) -> bytes:
    """What a TTY stream carries for ``payload``: the bytes themselves.

    The stream id is accepted so callers need not branch; a TTY merges
    stdout and stderr, so any stream but stdin is allowed.
    """
    if not STDOUT <= stream <= SYSTEMERR:
        raise LocalProtocolError(f"a TTY stream carries output streams 1..3, not {stream}")
    return bytes(payload)


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

    def feed(self, data: bytes | bytearray | memoryview) -> list[tuple[int, bytes | memoryview]]:
        self._check_open()
        view = immutable(data)
        self._offset += len(view)
        if not len(view):
            return []
        if len(view) < COALESCE_BELOW:  # short pieces are bytes, as the demuxers give them
            return [(STDOUT, bytes(view))]
        return [(STDOUT, view)]

    def feed_into(self, data: bytes | bytearray | memoryview, sinks: Sinks) -> None:
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


def decoder(tty: bool) -> AnyDemuxer | RawStream:
    """The stream decoder for a container with (raw) or without (multiplexed) a TTY."""
    return RawStream() if tty else Demuxer()
