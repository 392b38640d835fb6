"""Response bodies: the framing on the wire, then the payload by kind.

Strategy: a body is two layers.  The *transport* layer knows where the body
ends on the connection: a Content-Length, the chunked coding, or the close
of the connection (also the case of a hijacked stream).  The *payload* layer
turns the body bytes into what the call wants: container output (through a
demuxer or a raw pass-through), bytes, one JSON document, or an error
message.  For the hot case, a chunked body carrying a multiplexed stream
(logs), both layers are one fused decoder, :class:`chunked.ChunkedDemuxer`.

The contract is typed: a payload turns views into body events (``Output``,
``Data``, ``Document``), and a :class:`Reader` (a transport and a payload, or
the fused decoder) is all the exchange talks to, so it never asks what kind
of payload it holds.  The transport is picked from :data:`TRANSPORTS` by the
body's framing, as h11 picks its readers.

Every payload ``feed`` takes views that may point into a buffer the caller
reuses: what a payload keeps past the call, it copies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from wireproto import framing, jsonstream
from wireproto.codec import backend as codec_backend
from wireproto.codec.mux import RawStream
from wireproto.codec.sinks import Sinks
from wireproto.codec.views import (
    BodyDecoding,
    BodyEnd,
    ChunkedDemuxing,
    Decoder,
    ForwardsBodyEnd,
    Piece,
    immutable,
)
from wireproto.errors import (
    FrameError,
    IncompleteBody,
    InvalidChunk,
    InvalidResponse,
    NestingTooDeep,
)
from wireproto.framing import Framing
from wireproto.http import Call, Response, status_error

# --- the events a body makes --------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Output:
    """Container output: ``(stream, payload)`` pieces in order (STDIO calls)."""

    pieces: list[Piece]


@dataclass(frozen=True, slots=True, kw_only=True)
class Data:
    """Body bytes as they arrived (BYTES, TAR and JSONSTREAM calls)."""

    data: memoryview


@dataclass(frozen=True, slots=True, kw_only=True)
class Document:
    """The whole JSON document of a DOCUMENT call, as the engine sent it.

    Deliberately not normalised: events are what came over the wire (what a
    transcript records and a proxy forwards), and a document that fits no
    known shape must not fail the exchange, whose connection may still be
    reused.  ``exchange.call.normalise(value)`` gives today's shape; the
    adapters' ``Reply.document`` is exactly that.
    """

    value: object


@dataclass(frozen=True, slots=True, kw_only=True)
class EndOfMessage:
    """The body (or the hijacked stream) ended cleanly."""


BodyEvent = Output | Data | Document

# --- transports -------------------------------------------------------------


class Transport(BodyEnd, Protocol):
    """Where the body ends on the connection."""

    def feed(self, data: memoryview) -> list[memoryview]:
        """The body bytes in ``data``; InvalidChunk (with the views before the
        bad byte) when its framing is broken."""
        ...

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


class ChunkedBody(ForwardsBodyEnd[BodyDecoding]):
    """A body in the chunked transfer coding (RFC 9112 section 7.1)."""

    def __init__(self, backend: str | None = None) -> None:
        self._wire: BodyDecoding = codec_backend.classes(backend).ChunkedDecoder()

    def feed(self, data: memoryview) -> list[memoryview]:
        return self._wire.feed(data)

    def close(self) -> None:
        self._wire.close()


BodyFraming = Literal["none", "length", "chunked", "close"]
# The transport of each framing (h11's READERS), made with the framing's arguments.
TRANSPORTS: dict[BodyFraming, Callable[..., Transport]] = {
    "none": NoBody,
    "length": LengthBody,
    "chunked": ChunkedBody,
    "close": UntilClose,
}


# --- payloads ---------------------------------------------------------------


class Payload(Protocol):
    """Turns body bytes into events by the call's kind."""

    @property
    def framing(self) -> Framing | None:
        """The stdio framing used (resolved or sniffed so far); None for other bodies."""

    @property
    def error(self) -> Exception | None:
        """A decoding error, raised once the events decoded before it are out."""

    def feed(self, views: list[memoryview]) -> list[BodyEvent]:
        """Consumes body bytes; the events they made."""
        ...

    def release(self) -> list[BodyEvent]:
        """The body broke off: the events of bytes still held back."""
        ...

    def finish(self) -> list[BodyEvent]:
        """The body is complete on the wire: its last events (a cut stream raises)."""
        ...

    def outcome(self) -> list[BodyEvent]:
        """What the complete body means (a Document), or the error it reports;
        asked once the connection's part of the exchange is done."""
        ...


class Discard:
    """Reads and drops the body (EMPTY calls); the base of the other payloads."""

    framing: Framing | None = None
    error: Exception | None = None

    def feed(self, views: list[memoryview]) -> list[BodyEvent]:
        return []

    def release(self) -> list[BodyEvent]:
        return []

    def finish(self) -> list[BodyEvent]:
        return []

    def outcome(self) -> list[BodyEvent]:
        return []


class Bytes(Discard):
    """Body bytes as they come, one read-only view per feed."""

    def feed(self, views: list[memoryview]) -> list[BodyEvent]:
        if not views:
            return []
        if len(views) == 1:
            return [Data(data=immutable(views[0]))]
        return [Data(data=memoryview(b"".join(views)))]


class Collect:
    """Gathers a whole body under a limit (for a JSON document or an error message)."""

    def __init__(self, limit: int, *, truncate: bool, what: str) -> None:
        self.data = bytearray()
        self.limit = limit
        self.truncate = truncate  # keep the first `limit` bytes instead of failing
        self.what = what
        self.received = 0

    def feed(self, views: list[memoryview]) -> None:
        for view in views:
            self.received += len(view)
            room = self.limit - len(self.data)
            if len(view) > room and not self.truncate:
                raise InvalidResponse(
                    f"{self.what} longer than {self.limit} bytes", self.received, counts="body"
                )
            self.data += view[:room]

    def finish(self) -> bytes:
        return bytes(self.data)


class DocumentBody(Discard):
    """The JSON document of a DOCUMENT call (an empty body makes none)."""

    def __init__(self, limit: int) -> None:
        self._collected = Collect(limit, truncate=False, what="JSON document")

    def feed(self, views: list[memoryview]) -> list[BodyEvent]:
        self._collected.feed(views)
        return []

    def outcome(self) -> list[BodyEvent]:
        received = self._collected.finish()
        return [Document(value=document(received))] if received else []


class ErrorBody(Discard):
    """The body of a status the call does not expect: an error status (its
    message becomes the APIError raised) or an undocumented success status
    (UnexpectedStatus)."""

    def __init__(self, limit: int, response: Response, call: Call) -> None:
        self._collected = Collect(limit, truncate=True, what="error body")
        self._response = response
        self._call = call

    def feed(self, views: list[memoryview]) -> list[BodyEvent]:
        self._collected.feed(views)
        return []

    def outcome(self) -> list[BodyEvent]:
        raise status_error(self._call, self._response, self._collected.finish())


def document(received: bytes) -> object:
    """The JSON document of a body; InvalidResponse when it is not JSON.

    NestingTooDeep when it nests deeper than ``jsonstream.MAX_DEPTH``: checked
    first, as ``json.loads`` recurses once per level.
    """
    jsonstream.check_depth(received)
    try:
        return json.loads(received)
    except ValueError as exc:
        raise InvalidResponse(
            f"body is not a JSON document: {exc}", len(received), counts="body"
        ) from exc
    except RecursionError as exc:  # within the limit, but the caller's stack was deep
        detail = "json.loads ran out of Python stack"
        raise NestingTooDeep(jsonstream.MAX_DEPTH, 0, received[:24], detail) from exc


class Stdio(Discard):
    """Container output, multiplexed or raw, by the framing resolved (or sniffed).

    With ``sinks``, output goes straight to them (``feed_into``) and feed
    makes no events; else it makes ``Output`` events of the ``(stream,
    payload)`` pieces.  A frame error is raised on the feed after the one
    that delivered the pieces decoded before it, so none is lost.
    """

    def __init__(
        self,
        chosen: Framing | None,
        make_demuxer: Callable[[], Decoder],
        sinks: Sinks | None,
    ) -> None:
        self.framing: Framing | None = chosen
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

    def feed(self, views: list[memoryview]) -> list[BodyEvent]:
        if not views:
            return []
        data = views[0] if len(views) == 1 else memoryview(b"".join(views))
        if self._decoder is None:
            sniffed = self._sniff(data, at_end=False)
            if sniffed is None:
                return []
            data = sniffed
        return self._decode(data)

    def _sniff(self, data: memoryview, *, at_end: bool) -> memoryview | None:
        self._prefix += data
        chosen = framing.sniff(self._prefix, at_end=at_end)
        if chosen is None:
            return None
        self._start(chosen)
        return memoryview(self._prefix)

    def _decode(self, data: memoryview) -> list[BodyEvent]:
        assert self._decoder is not None
        try:
            if self._sinks is not None:
                self._decoder.feed_into(data, self._sinks)
                return []
            return output(self._decoder.feed(data))
        except FrameError as exc:
            self.error = exc
            return output(list(exc.pieces))

    def finish(self) -> list[BodyEvent]:
        events = self.release()
        if self.error is None and self._decoder is not None:
            self._decoder.close()
        return events

    def release(self) -> list[BodyEvent]:
        """Decodes the first bytes still held for sniffing, as the stream's end
        tells (too short for a frame header: raw), so they are not lost."""
        if self._decoder is not None:
            return []
        rest = self._sniff(memoryview(b""), at_end=True)
        return self._decode(rest) if rest is not None and len(rest) else []


def output(pieces: list[Piece]) -> list[BodyEvent]:
    """The Output event of ``pieces``, or none when there are none."""
    return [Output(pieces=pieces)] if pieces else []


# --- readers: what the exchange feeds ---------------------------------------


class Reader(BodyEnd, Protocol):
    """A response body, from wire bytes to events: the exchange's one handle on it.

    ``error`` is the first bad byte's error, raised by the exchange once the
    events decoded before it are out; ``release``, ``finish`` and ``outcome``
    are the payload's (see :class:`Payload`).
    """

    @property
    def framing(self) -> Framing | None: ...

    @property
    def error(self) -> Exception | None: ...

    def feed(self, data: memoryview) -> list[BodyEvent]: ...

    def close(self) -> None:
        """The connection closed: IncompleteBody unless the body is complete."""

    def release(self) -> list[BodyEvent]: ...

    def finish(self) -> list[BodyEvent]: ...

    def outcome(self) -> list[BodyEvent]: ...


class Layered(ForwardsBodyEnd[Transport]):
    """A transport finding the body's end and a payload decoding what it holds."""

    def __init__(self, transport: Transport, payload: Payload) -> None:
        self._wire = transport
        self.payload = payload
        self._bad_chunk: InvalidChunk | None = None

    @property
    def framing(self) -> Framing | None:
        return self.payload.framing

    @property
    def error(self) -> Exception | None:
        """The payload's error first: it came before the framing error, if both."""
        return self.payload.error or self._bad_chunk

    def feed(self, data: memoryview) -> list[BodyEvent]:
        try:
            views = self._wire.feed(data)
        except InvalidChunk as exc:  # the body up to the bad byte is still payload
            self._bad_chunk = exc
            views = [view for view in exc.pieces if isinstance(view, memoryview)]
        events = self.payload.feed(views)
        if self._bad_chunk is not None:  # the body broke off: nothing more comes
            events += self.payload.release()
        return events

    def close(self) -> None:
        self._wire.close()

    def release(self) -> list[BodyEvent]:
        return self.payload.release()

    def finish(self) -> list[BodyEvent]:
        return self.payload.finish()

    def outcome(self) -> list[BodyEvent]:
        return self.payload.outcome()


class FusedStdio(ForwardsBodyEnd[ChunkedDemuxing]):
    """A chunked body carrying a multiplexed stream: one fused decoder, both layers."""

    def __init__(self, chosen: Framing, sinks: Sinks | None, backend: str | None = None) -> None:
        self.framing: Framing | None = chosen
        self._wire: ChunkedDemuxing = codec_backend.classes(backend).ChunkedDemuxer()
        self._sinks = sinks
        self.error: FrameError | InvalidChunk | None = None

    def feed(self, data: memoryview) -> list[BodyEvent]:
        try:
            if self._sinks is not None:
                self._wire.feed_into(data, self._sinks)
                return []
            return output(self._wire.feed(data))
        except (FrameError, InvalidChunk) as exc:
            self.error = exc
            return output(list(exc.pieces))  # type: ignore[arg-type]

    def close(self) -> None:
        self._wire.close()

    def release(self) -> list[BodyEvent]:
        return []  # nothing is held back: every byte was decoded as it came

    def finish(self) -> list[BodyEvent]:
        return []  # the end of the body checked the stream's (see codec.views.stream_end)

    def outcome(self) -> list[BodyEvent]:
        return []


class SniffedChunkedStdio:
    """A chunked stdio body whose framing only its first payload bytes tell.

    The wire bytes are held (and a probe de-chunks them) until the first
    ``framing.SNIFF_SIZE`` payload bytes arrived; then they are replayed from
    the body's start into the reader the framing calls for: the fused
    decoder for a multiplexed stream (so the default, ``tty=None``, costs
    what a known framing costs), else a chunked transport under a sniffing
    :class:`Stdio`.  A body that ends or breaks before deciding is replayed
    into the latter, which decides as before.  Replaying from the start keeps
    every offset and error exactly what one reader alone would give.
    """

    def __init__(
        self, make_demuxer: Callable[[], Decoder], sinks: Sinks | None, backend: str | None
    ) -> None:
        self._make_demuxer = make_demuxer
        self._sinks = sinks
        self._backend = backend
        self._probe: BodyDecoding = codec_backend.classes(backend).ChunkedDecoder()
        self._held: list[memoryview] = []  # wire bytes since the body's start
        self._prefix = b""
        self._replayed: list[BodyEvent] = []  # events of a replay no feed handed out
        self.reader: Reader | None = None  # once decided: what every byte goes to

    @property
    def framing(self) -> Framing | None:
        return self.reader.framing if self.reader is not None else None

    @property
    def error(self) -> Exception | None:
        return self.reader.error if self.reader is not None else None

    @property
    def done(self) -> bool:
        return self.reader is not None and self.reader.done

    @property
    def trailing(self) -> bytes:
        return self.reader.trailing if self.reader is not None else b""

    def feed(self, data: memoryview) -> list[BodyEvent]:
        if self.reader is not None:
            return self.reader.feed(data)
        view = immutable(data)  # held past this call: a reused buffer is copied
        self._held.append(view)
        try:
            spans = self._probe.feed(view)
        except InvalidChunk:  # the fallback reader raises it, after the payload before it
            return self._decide(None)
        for span in spans:
            self._prefix += span[: framing.SNIFF_SIZE - len(self._prefix)]
        chosen = framing.sniff(self._prefix, at_end=False)
        if chosen is None and not self._probe.done:
            return []
        return self._decide(chosen)

    def _decide(self, chosen: Framing | None) -> list[BodyEvent]:
        reader: Reader
        if chosen is not None and chosen.kind == "multiplexed":
            reader = FusedStdio(chosen, self._sinks, backend=self._backend)
        else:  # raw, or not told before the body ended or broke: Stdio sniffs as ever
            payload = Stdio(None, self._make_demuxer, self._sinks)
            reader = Layered(ChunkedBody(self._backend), payload)
        self.reader = reader
        events: list[BodyEvent] = []
        for view in self._held:
            events += reader.feed(view)
            if reader.error is not None:
                break
        self._held = []
        return events

    def _decided(self) -> Reader:
        if self.reader is None:
            self._replayed = self._decide(None)
        assert self.reader is not None
        return self.reader

    def close(self) -> None:
        self._decided().close()

    def _with_replayed(self, events: list[BodyEvent]) -> list[BodyEvent]:
        replayed, self._replayed = self._replayed, []
        return replayed + events

    def release(self) -> list[BodyEvent]:
        return self._with_replayed(self._decided().release())

    def finish(self) -> list[BodyEvent]:
        return self._with_replayed(self._decided().finish())

    def outcome(self) -> list[BodyEvent]:
        return self._decided().outcome()
