"""HTTP/1.1 chunked bodies, and chunked bodies that carry a multiplexed stream.

The engine sends logs as one HTTP chunk per log message, each chunk one frame
header plus one line: decoding the chunks and the frames in one pass, in C,
is what makes the logs path fast.  ``ChunkedDecoder`` and ``ChunkedDemuxer``
are the backend chosen at import (see :mod:`wireproto.codec.backend`); both
behave identically.  The pure-Python reference is
:mod:`wireproto.codec.python.chunked`.
"""

from __future__ import annotations

from wireproto.codec import backend as _backend
from wireproto.codec.python.chunked import MAX_LINE, MAX_TRAILER
from wireproto.codec.views import BodyDecoding, ChunkedDemuxing

__all__ = ["BACKEND", "MAX_LINE", "MAX_TRAILER", "ChunkedDecoder", "ChunkedDemuxer", "classes"]

BACKEND = _backend.BACKEND


def classes(backend: str) -> _backend.Classes:
    """The decoder classes (ChunkedDecoder, ChunkedDemuxer...) of ``backend``."""
    return _backend.classes(_backend.choose(backend))


ChunkedDecoder: type[BodyDecoding] = _backend.classes().ChunkedDecoder
ChunkedDemuxer: type[ChunkedDemuxing] = _backend.classes().ChunkedDemuxer
