"""HTTP/1.1 chunked bodies, and chunked bodies that carry a multiplexed stream.

The engine sends logs as one HTTP chunk per log message, each chunk one frame
header plus one line: decoding the chunks and the frames in one pass, in C,
is what makes the logs path fast.  ``ChunkedDecoder`` and ``ChunkedDemuxer``
are the backend chosen at import (see :mod:`wireproto.mux`); both behave
identically.  The pure-Python reference is :mod:`wireproto._chunked_python`.
"""

from __future__ import annotations

from typing import Any

from wireproto import _backend, _chunked_python

MAX_LINE = _chunked_python.MAX_LINE
MAX_TRAILER = _chunked_python.MAX_TRAILER

BACKEND = _backend.BACKEND


def classes(backend: str) -> Any:
    """The module holding ChunkedDecoder and ChunkedDemuxer for ``backend``."""
    if _backend.choose(backend) == "native":
        from wireproto import _chunked_native

        return _chunked_native
    return _chunked_python


_chosen = classes(BACKEND)
ChunkedDecoder: type[_chunked_python.ChunkedDecoder] = _chosen.ChunkedDecoder
ChunkedDemuxer: type[_chunked_python.ChunkedDemuxer] = _chosen.ChunkedDemuxer
