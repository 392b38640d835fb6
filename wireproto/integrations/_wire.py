"""The body of a docker-py (requests/urllib3) response, read off the wire by wireproto.

docker-py reads streams through urllib3 and http.client, which cost a Python
call per HTTP chunk and per frame.  Here the body's wire bytes are taken from
the buffered reader http.client reads the head with (``read1``: the bytes it
already holds first, then one socket read at a time) and decoded by wireproto.
That is only right while nobody has read body bytes yet: :func:`wire_of`
checks it and says None otherwise, and the caller then leaves the response to
stock docker-py.  Never a guess that could lose a byte.
"""

from __future__ import annotations

import http.client
import io
from collections.abc import Iterator
from typing import Any

from wireproto.codec.python.chunked import ChunkedDecoder as ChunkTracker
from wireproto.codec.views import BytesLike
from wireproto.errors import InvalidChunk

READ_SIZE = 65536


class CutBody(Exception):
    """The connection ended before the body did (``strict`` callers get this)."""


class WireBody:
    """A response body read straight off the buffered reader under http.client."""

    def __init__(self, fp: io.BufferedReader, chunked: bool, length: int | None) -> None:
        self.fp = fp
        self.chunked = chunked
        self.length = length  # Content-Length still due, or None: until the connection ends
        self.cut = False  # the connection ended before the body did

    def read(self, size: int = READ_SIZE) -> bytes:
        """One read off the wire: the bytes already buffered, else one socket read.
        b"" at the connection's end, or once the socket was shut from another thread."""
        try:
            return self.fp.read1(size)
        except (OSError, ValueError):  # closed under us (docker-py's close() from a thread)
            return b""

    def raw_reads(self) -> Iterator[bytes]:
        """The body's bytes as read (chunked framing still on), up to its end."""
        due = self.length
        while due is None or due > 0:
            data = self.read(READ_SIZE if due is None else min(READ_SIZE, due))
            if not data:
                self.cut = due is not None
                return
            if due is not None:
                due -= len(data)
            yield data

    def reads(self, decoder: Any = None) -> Iterator[BytesLike]:
        """The body's bytes, chunked framing taken off (one item per read)."""
        if not self.chunked:
            yield from self.raw_reads()
            return
        chunks = decoder if decoder is not None else _chunked_decoder()
        for data in self.raw_reads():
            spans = chunks.feed(data)
            if len(spans) == 1:
                yield spans[0]
            elif spans:
                yield b"".join(spans)
            if chunks.done:
                return
        self.cut = True

    def chunks(self) -> Iterator[bytes]:
        """Whole HTTP chunks, one item each (docker-py's ``_stream_helper``
        without decode); a chunk cut by the connection's end is not given."""
        if not self.chunked:
            yield from self.raw_reads()
            return
        tracker = ChunkTracker()  # exposes ``remaining``: where chunks end
        held: list[memoryview] = []
        for data in self.raw_reads():
            try:
                spans = tracker.feed(data)
            except InvalidChunk as error:
                raise CutBody(str(error)) from error
            for index, span in enumerate(spans):
                held.append(span)
                if index < len(spans) - 1 or not tracker.remaining:
                    yield b"".join(held)
                    held = []
            if tracker.done:
                return
        self.cut = True


def _chunked_decoder() -> Any:
    from wireproto.chunked import ChunkedDecoder

    return ChunkedDecoder()


def wire_of(response: Any) -> WireBody | None:
    """The body of ``response`` (a requests Response made with stream=True) to
    read off the wire, or None when that would not be safe: not http.client
    under urllib3, a transfer or content coding, or body bytes already read
    by somebody (urllib3 buffering ahead, http.client inside a chunk)."""
    raw = getattr(response, "raw", None)
    fp = getattr(raw, "_fp", None)
    if not isinstance(fp, http.client.HTTPResponse):
        return None
    buffered = getattr(fp, "fp", None)
    if not isinstance(buffered, io.BufferedReader) or buffered.closed:
        return None
    if getattr(raw, "_fp_bytes_read", None) != 0:
        return None
    decoded = getattr(raw, "_decoded_buffer", None)
    if decoded is not None and len(decoded):
        return None
    encoding = fp.getheader("Content-Encoding")
    if encoding not in (None, "", "identity"):
        return None
    if fp.chunked and fp.chunk_left is not None:
        return None
    if getattr(response, "_content_consumed", False) or getattr(response, "_content", False):
        return None
    return WireBody(buffered, bool(fp.chunked), None if fp.chunked else fp.length)
