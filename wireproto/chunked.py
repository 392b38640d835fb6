"""HTTP/1.1 chunked bodies (alone or carrying a multiplexed stream): see
:mod:`wireproto.codec.chunked`.

Kept as the documented import path; everything here is re-exported from there.
"""

from wireproto.codec.chunked import (
    BACKEND,
    MAX_LINE,
    MAX_TRAILER,
    ChunkedDecoder,
    ChunkedDemuxer,
    classes,
)

__all__ = ["BACKEND", "MAX_LINE", "MAX_TRAILER", "ChunkedDecoder", "ChunkedDemuxer", "classes"]
