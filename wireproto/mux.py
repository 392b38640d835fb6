"""The v1.6 multiplexed stdout/stderr stream: see :mod:`wireproto.codec.mux`.

Kept as the documented import path; everything here is re-exported from there.
"""

from wireproto.codec.mux import (
    BACKEND,
    HEADER_SIZE,
    MAX_PAYLOAD,
    STDERR,
    STDIN,
    STDOUT,
    SYSTEMERR,
    Demuxer,
    RawStream,
    decoder,
    demuxer_class,
    encode,
    frame_demuxer,
    header,
)

__all__ = [
    "BACKEND",
    "HEADER_SIZE",
    "MAX_PAYLOAD",
    "STDERR",
    "STDIN",
    "STDOUT",
    "SYSTEMERR",
    "Demuxer",
    "RawStream",
    "decoder",
    "demuxer_class",
    "encode",
    "frame_demuxer",
    "header",
]
