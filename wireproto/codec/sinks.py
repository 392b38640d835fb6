"""Where ``feed_into`` puts payload: shared by both demuxer backends.

A sink is a ``bytearray`` (extended in place) or any object with a
``write(data)`` that consumes all of ``data`` before returning, as
``io.BufferedWriter.write`` does.  The data handed to ``write`` may be a view
of a buffer the demuxer reuses: per the ``io`` contract, it is valid only
during the call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from wireproto.errors import MissingSink


class Writable(Protocol):
    def write(self, data: memoryview, /) -> object: ...


Sink = bytearray | Writable
Sinks = Mapping[int, Sink] | Sequence[Sink]


def sink_for(sinks: Sinks, stream: int) -> Sink:
    """The sink of ``stream``; MissingSink when the caller gave none."""
    try:
        return sinks[stream]
    except (KeyError, IndexError):
        raise MissingSink(stream) from None


def deliver(sink: Sink, data: memoryview) -> None:
    """Appends ``data`` to ``sink``."""
    if isinstance(sink, bytearray):
        sink += data
    else:
        sink.write(data)
