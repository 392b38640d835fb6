"""Response bodies: the framing on the wire, then the payload by kind.

Strategy: a body is two layers.  The *transport* layer knows where the body
ends on the connection: a Content-Length, the chunked coding, or the close
of the connection (also the case of a hijacked stream).  The *payload* layer
turns the body bytes into what the call wants: container output (through a
demuxer or a raw pass-through), bytes, one JSON document, or an error
message.  For the hot case, a chunked body carrying a multiplexed stream
(logs), both layers are one fused decoder, :class:`chunked.ChunkedDemuxer`.

Every payload ``feed`` takes views that may point into a buffer the caller
reuses: what a payload keeps past the call, it copies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Protocol

from wireproto import framing, jsonstream
from wireproto.codec import backend as codec_backend
from wireproto.codec.mux import RawStream
from wireproto.codec.sinks import Sinks
from wireproto.codec.views import BodyDecoding, ChunkedDemuxing, Decoder, Piece, immutable
from wireproto.errors import (
    FrameError,
    IncompleteBody,
    InvalidChunk,
    InvalidResponse,
    NestingTooDeep,
)
from wireproto.framing import Framing


class Transport(Protocol):
    """Where the body ends on the connection."""

    @property
    def done(self) -> bool:
        """The whole body has been read."""

    @property
    def trailing(self) -> bytes:
        """Bytes received after the body's end (valid once done)."""

    def feed(self, data: memoryview) -> list[memoryview]: ...

    def close(self) -> None:
        """The connection closed: completes a close-delimited body, else IncompleteBody."""


class NoBody:
    """No body at all (HEAD, 1xx, 204, 304)."""

    done = True

    def __init__(self) -> None:
        self.trailing = b""

    def feed(self, data: memoryview) -> list[memoryview]:
        self.trailing += bytes(data)
        return []

    def close(self) -> None:
        pass


class LengthBody:
    """A body of ``Content-Length`` bytes."""

    def __init__(self, length: int) -> None:
        self.length = length
        self.remaining = length
        self.done = length == 0
        self.trailing = b""

    def feed(self, data: memoryview) -> list[memoryview]:
        if self.done:
            self.trailing += bytes(data)
            return []
        take = min(self.remaining, len(data))
        self.remaining -= take
        if not self.remaining:
            self.done = True
            self.trailing = bytes(data[take:])
        return [data[:take]] if take else []

    def close(self) -> None:
        if not self.done:
            received = self.length - self.remaining
            raise IncompleteBody(
                received, f"{self.remaining} of {self.length} bytes (Content-Length) missing"
            )


class UntilClose:
    """A body that ends when the connection does (also a hijacked stream)."""

    trailing = b""

    def __init__(self) -> None:
        self.done = False

    def feed(self, data: memoryview) -> list[memoryview]:
        return [data] if len(data) else []

    def close(self) -> None:
        self.done = True


class ChunkedBody:
    """A body in the chunked transfer coding (RFC 9112 section 7.1)."""

    def __init__(self, backend: str | None = None) -> None:
        self._decoder: BodyDecoding = codec_backend.classes(backend).ChunkedDecoder()

    @property
    def done(self) -> bool:
        return self._decoder.done

    @property
    def trailing(self) -> bytes:
        return bytes(self._decoder.trailing)

    def feed(self, data: memoryview) -> list[memoryview]:
        return self._decoder.feed(data)

    def close(self) -> None:
        self._decoder.close()


# --- payloads ---------------------------------------------------------------


class Payload(Protocol):
    def feed(self, views: list[memoryview]) -> object:
        """Consumes body bytes; returns the event payload they made, or None."""

    def finish(self) -> object:
        """The body is complete: a last event payload, or None."""


class Discard:
    """Reads and drops the body (EMPTY calls)."""

    def feed(self, views: list[memoryview]) -> object:
        return None

    def finish(self) -> object:
        return None


class Bytes:
    """Body bytes as they come, one read-only view per feed."""

    def feed(self, views: list[memoryview]) -> object:
        if not views:
            return None
        if len(views) == 1:
            return immutable(views[0])
        return memoryview(b"".join(views))

    def finish(self) -> object:
        return None


class Collect:
    """Gathers the whole body under a limit, for a JSON document or an error."""

    def __init__(self, limit: int, *, truncate: bool, what: str) -> None:
        self.data = bytearray()
        self.limit = limit
        self.truncate = truncate  # keep the first `limit` bytes instead of failing
        self.what = what
        self.received = 0

    def feed(self, views: list[memoryview]) -> object:
        for view in views:
            self.received += len(view)
            room = self.limit - len(self.data)
            if len(view) > room and not self.truncate:
                raise InvalidResponse(f"{self.what} longer than {self.limit} bytes", self.received)
            self.data += view[:room]
        return None

    def finish(self) -> object:
        return bytes(self.data)


def document(received: bytes) -> object:
    """The JSON document of a body; InvalidResponse when it is not JSON.

    NestingTooDeep when it nests deeper than ``jsonstream.MAX_DEPTH``: checked
    first, as ``json.loads`` recurses once per level.
    """
    jsonstream.check_depth(received)
    try:
        return json.loads(received)
    except ValueError as exc:
        raise InvalidResponse(f"body is not a JSON document: {exc}", len(received)) from exc
    except RecursionError as exc:  # within the limit, but the caller's stack was deep
        detail = "json.loads ran out of Python stack"
        raise NestingTooDeep(jsonstream.MAX_DEPTH, 0, received[:24], detail) from exc


class Stdio:
    """Container output, multiplexed or raw, by the framing resolved (or sniffed).

    With ``sinks``, output goes straight to them (``feed_into``) and feed
    returns nothing; else it returns the ``(stream, payload)`` pieces.  A
    frame error is raised on the feed after the one that delivered the
    pieces decoded before it, so none is lost.
    """

    def __init__(
        self,
        chosen: Framing | None,
        make_demuxer: Callable[[], Decoder],
        sinks: Sinks | None,
    ) -> None:
        self.framing = chosen
        self._make_demuxer = make_demuxer
        self._sinks = sinks
        self._decoder: Decoder | None = None
        self._prefix = b""  # first bytes, held until the framing is sniffed
        self.error: FrameError | None = None
        if chosen is not None:
            self._start(chosen)

    def _start(self, chosen: Framing) -> None:
        self.framing = chosen
        if chosen.kind == "raw":
            self._decoder = RawStream()
        else:
            self._decoder = self._make_demuxer()

    def feed(self, views: list[memoryview]) -> object:
        if not views:
            return None
        data = views[0] if len(views) == 1 else memoryview(b"".join(views))
        if self._decoder is None:
            sniffed = self._sniff(data, at_end=False)
            if sniffed is None:
                return None
            data = sniffed
        return self._decode(data)

    def _sniff(self, data: memoryview, *, at_end: bool) -> memoryview | None:
        self._prefix += data
        chosen = framing.sniff(self._prefix, at_end=at_end)
        if chosen is None:
            return None
        self._start(chosen)
        return memoryview(self._prefix)

    def _decode(self, data: memoryview) -> list[Piece] | None:
        assert self._decoder is not None
        try:
            if self._sinks is not None:
                self._decoder.feed_into(data, self._sinks)
                return None
            return self._decoder.feed(data)
        except FrameError as exc:
            self.error = exc
            return list(exc.pieces)

    def finish(self) -> object:
        pieces = self.release()
        if self.error is None and self._decoder is not None:
            self._decoder.close()
        return pieces

    def release(self) -> list[Piece] | None:
        """Decodes the first bytes still held for sniffing, as the stream's end
        tells (too short for a frame header: raw), so they are not lost."""
        if self._decoder is not None:
            return None
        rest = self._sniff(memoryview(b""), at_end=True)
        return self._decode(rest) if rest is not None and len(rest) else None


class FusedStdio:
    """A chunked body carrying a multiplexed stream: one fused decoder, both layers.

    Plays both the Transport and the Payload role.
    """

    def __init__(self, chosen: Framing, sinks: Sinks | None, backend: str | None = None) -> None:
        self.framing = chosen
        self._decoder: ChunkedDemuxing = codec_backend.classes(backend).ChunkedDemuxer()
        self._sinks = sinks
        self.error: FrameError | InvalidChunk | None = None

    @property
    def done(self) -> bool:
        return self._decoder.done

    @property
    def trailing(self) -> bytes:
        return bytes(self._decoder.trailing)

    def feed_wire(self, data: memoryview) -> list[Piece] | None:
        try:
            if self._sinks is not None:
                self._decoder.feed_into(data, self._sinks)
                return None
            return self._decoder.feed(data)
        except (FrameError, InvalidChunk) as exc:
            self.error = exc
            return list(exc.pieces)  # type: ignore[arg-type]

    def close(self) -> None:
        self._decoder.close()
