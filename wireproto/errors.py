"""Every error wireproto raises, in one hierarchy.

``ProtocolError`` splits as h11's does: ``LocalProtocolError`` when the caller
asked for something the protocol (or the API version in use) does not allow,
``RemoteProtocolError`` when the peer sent bytes that break it.  Each error
says what went wrong and where: an offset, a field, a version.

Every ``offset`` names what it counts, from 0 at the first byte of:

* the *stream*: what a decoder is fed after the HTTP framing is undone
  (a multiplexed stream with its frame headers, a JSON stream);
* the *body*: the HTTP body as it came on the wire (chunk framing included);
* the *response*: the whole response, head included.

A decoder that fails part-way raises a :class:`DecodeError` whose
``delivered`` holds what it decoded before the bad byte.
"""

from __future__ import annotations

import reprlib
from typing import ClassVar, Generic, TypeVar, overload

T = TypeVar("T")


class WireprotoError(Exception):
    """Base of every error raised by wireproto."""


class ProtocolError(WireprotoError):
    """The wire protocol was broken, by us or by the peer."""


class LocalProtocolError(ProtocolError):
    """The caller asked for something the protocol does not allow."""


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes that break the protocol."""


class DecodeError(RemoteProtocolError, Generic[T]):
    """A decoder failed on the peer's bytes after decoding part of its input.

    ``delivered`` holds, in order, what the failing ``feed`` (or ``close``)
    call decoded before the bad byte, so nothing already decoded is lost.
    Each subclass also names it for what it holds (``pieces``, ``values``).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.delivered: list[T] = []


class DeliveredAs(Generic[T]):
    """``delivered`` under the name a subclass gives it for what it holds
    (``pieces``, ``values``): one list, read and set through either name."""

    @overload
    def __get__(self, error: None, owner: type[object]) -> DeliveredAs[T]: ...

    @overload
    def __get__(self, error: DecodeError[T], owner: type[object]) -> list[T]: ...

    def __get__(
        self, error: DecodeError[T] | None, owner: type[object]
    ) -> DeliveredAs[T] | list[T]:
        return self if error is None else error.delivered

    def __set__(self, error: DecodeError[T], delivered: list[T]) -> None:
        error.delivered = delivered


class FrameError(DecodeError[tuple[int, bytes | memoryview]]):
    """A multiplexed stream is malformed.

    ``offset`` is the stream offset (bytes of the multiplexed stream since it
    began, frame headers included) of the offending byte or, for truncation,
    of the end of the stream.  ``pieces`` (``delivered``) holds the
    ``(stream, payload)`` pieces :meth:`wireproto.mux.Demuxer.feed` decoded
    in the failing call before the bad byte.
    """

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset

    pieces: DeliveredAs[tuple[int, bytes | memoryview]] = DeliveredAs()


class InvalidFrameHeader(FrameError):
    """A frame header byte is not what a v1.6 multiplexed stream allows.

    Byte 0 must be a stream id (0 stdin, 1 stdout, 2 stderr, 3 systemerr) and
    bytes 1..3 must be zero.  A raw (TTY) stream fed to a demuxer fails here,
    on its first byte.
    """

    def __init__(self, offset: int, index: int, value: int) -> None:
        what = "stream id (0..3)" if index == 0 else "padding byte (0)"
        super().__init__(
            f"invalid frame header at stream offset {offset}: header byte {index} "
            f"is {value:#04x}, expected a {what}; is this a TTY (raw) stream?",
            offset,
        )
        self.index = index
        self.value = value


class TruncatedFrame(FrameError):
    """The stream ended inside a frame header or payload.

    ``missing`` is the number of bytes that did not arrive: for a cut payload,
    exactly how many; for a cut header, how many header bytes (the payload
    size was never read).
    """

    def __init__(self, offset: int, missing: int, in_header: bool) -> None:
        where = "frame header" if in_header else "frame payload"
        super().__init__(
            f"stream ended at offset {offset} inside a {where}: "
            f"{missing} {'header ' if in_header else ''}bytes missing",
            offset,
        )
        self.missing = missing
        self.in_header = in_header


class StreamFailed(ProtocolError):
    """The decoder already failed; it accepts no more input (as h11 does).

    ``cause`` is the error that failed it: bad input, or a sink that raised
    (the rest of that chunk's payload could not be delivered).
    """

    def __init__(self, cause: Exception) -> None:
        super().__init__(f"decoder already failed: {cause}")
        self.cause = cause


class MissingSink(LocalProtocolError):
    """``feed_into`` got payload for a stream the caller gave no sink for."""

    def __init__(self, stream: int) -> None:
        super().__init__(f"no sink for stream {stream}, which has payload")
        self.stream = stream


class InvalidResponse(RemoteProtocolError):
    """The engine's response head, or a body read whole, is malformed or too large.

    ``offset`` counts in ``counts``: ``"response"`` (the default: response
    bytes received, head included, when a head error was found) or
    ``"body"`` (bytes of the body's content, for a JSON document or an
    error body read whole).
    """

    def __init__(self, message: str, offset: int, *, counts: str = "response") -> None:
        super().__init__(f"{message} (at {counts} byte {offset})")
        self.offset = offset
        self.counts = counts


class ConnectionClosed(RemoteProtocolError):
    """The engine closed the connection before the response head was complete.

    ``received`` is how many response bytes had arrived by then.
    """

    def __init__(self, received: int) -> None:
        super().__init__(
            f"connection closed by the engine after {received} bytes, "
            "before the response head was complete"
        )
        self.received = received


class RequestCut(ConnectionError, WireprotoError):
    """The engine closed the connection before the request went out whole, and never answered.

    A ``ConnectionError`` with the failed write's ``errno`` (EPIPE, ECONNRESET);
    the write's own error is its ``__cause__``.
    """

    def __init__(self, failed: OSError) -> None:
        reason = failed.strerror or type(failed).__name__
        super().__init__(
            failed.errno,
            f"the engine closed the connection before the request was sent whole, "
            f"without an answer ({reason})",
        )

    def __str__(self) -> str:
        return str(self.strerror)


class APIError(WireprotoError):
    """The engine answered with an error status (>= 400).

    ``message`` is the engine's own text: the ``message`` field of its JSON
    body (API >= 1.24) or its plain-text body (older versions); ``body`` is
    the raw body as received (at most ``http.MAX_ERROR_BODY`` bytes).
    """

    def __init__(
        self, status: int, message: str, body: bytes = b"", *, reason: str = "", target: str = ""
    ) -> None:
        where = f" for {target}" if target else ""
        super().__init__(f"engine error {status}{where}: {message}")
        self.status = status
        self.message = message
        self.body = body
        self.reason = reason
        self.target = target


class UnexpectedStatus(RemoteProtocolError):
    """The engine answered a success status the call does not document.

    ``status`` is what came, ``expected`` the statuses the API documents for
    the call (:attr:`wireproto.http.Call.statuses`), ``body`` the body as
    received (at most ``http.MAX_ERROR_BODY`` bytes), ``target`` the request
    target.  A caller that reads the body as the documented status promises
    would misread it, so nothing of it is handed out as output.
    """

    def __init__(
        self, status: int, expected: tuple[int, ...], body: bytes = b"", *, target: str = ""
    ) -> None:
        documented = ", ".join(map(str, expected))
        super().__init__(
            f"engine answered status {status} for {target or 'the request'}, "
            f"which the API does not document for it (expected {documented})"
        )
        self.status = status
        self.expected = expected
        self.body = body
        self.target = target


class NotFound(APIError):
    """404: no such container, image, exec instance or endpoint."""


class Conflict(APIError):
    """409: the object is in a state that forbids the request (e.g. not running)."""


class InvalidVersion(LocalProtocolError):
    """An API version string is not ``MAJOR.MINOR``, or is out of range."""


class InvalidEngineVersion(RemoteProtocolError):
    """The engine announced an API version that is not ``MAJOR.MINOR``: its fault, not ours."""


class EngineUnreachable(WireprotoError):
    """No connection to the engine could be made (or it dropped before answering).

    ``host`` is the address tried, as given (``unix:///...``, ``tcp://...``).
    """

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"cannot connect to the Docker engine at {host}: {reason}")
        self.host = host
        self.reason = reason


class InvalidChunk(DecodeError[memoryview | tuple[int, bytes | memoryview]]):
    """A chunked body's framing (RFC 9112 section 7.1) is malformed.

    ``offset`` is the body offset (bytes of the body on the wire, chunk
    framing included) of the offending byte; ``value`` is that byte.
    ``pieces`` (``delivered``) holds what the failing call decoded before it:
    chunk data views from a chunked decoder, ``(stream, payload)`` pieces
    from a chunked demuxer.
    """

    MESSAGES: ClassVar[dict[int, str]] = {
        1: "a chunk size must be hex digits",
        2: "a chunk size has more than 16 hex digits",
        3: "a chunk-size line is over 4096 bytes",
        4: "a chunk-size or trailer line does not end in CRLF",
        5: "chunk data is not followed by CRLF",
        6: "the trailer section is over 16384 bytes",
    }

    def __init__(self, code: int, offset: int, value: int) -> None:
        super().__init__(
            f"invalid chunked body at body offset {offset}: {self.MESSAGES[code]} "
            f"(got byte {value:#04x})"
        )
        self.code = code
        self.offset = offset
        self.value = value

    pieces: DeliveredAs[memoryview | tuple[int, bytes | memoryview]] = DeliveredAs()


class IncompleteBody(RemoteProtocolError):
    """The connection ended before the body did.

    ``offset`` is the body offset (bytes of the body on the wire) where it
    ended; for a WebSocket attach cut inside a frame, the bytes of that
    frame that had arrived.
    """

    def __init__(self, offset: int, detail: str) -> None:
        super().__init__(f"body ended early at offset {offset}: {detail}")
        self.offset = offset


# --- JSON streams (pull, push, build, events) ---------------------------------------------------


class JSONValuesError(DecodeError[object]):
    """A JSON-stream decoder failed: ``values`` is what it decoded before (``delivered``)."""

    values: DeliveredAs[object] = DeliveredAs()


class JSONStreamError(JSONValuesError):
    """A JSON stream is malformed: bad JSON, an over-long value, or a cut value.

    ``offset`` is the stream offset (bytes of the JSON stream since it began,
    chunk framing not counted) of the offending byte, or of the start of the
    value that is too long or cut; ``excerpt`` shows the bytes around it.
    ``values`` (``delivered``) holds what
    :meth:`wireproto.jsonstream.JSONStreamDecoder.feed` decoded in the
    failing call before the bad value (typed messages, when raised through
    :class:`wireproto.progress.MessageDecoder`).
    """

    def __init__(self, message: str, offset: int, excerpt: bytes = b"") -> None:
        shown = f" near {excerpt!r}" if excerpt else ""
        super().__init__(f"{message} at stream offset {offset}{shown}")
        self.offset = offset
        self.excerpt = excerpt


class MalformedJSON(JSONStreamError):
    """Bytes that are not JSON (or not UTF-8) where a JSON value should be."""


class ObjectTooLarge(JSONStreamError):
    """A single JSON value is longer than the decoder's ``max_size``."""


class TruncatedJSON(JSONStreamError):
    """The stream ended inside a JSON value."""


class NestingTooDeep(JSONStreamError):
    """A JSON value is nested deeper than ``max_depth`` levels (``[`` and ``{`` open).

    ``offset`` is the stream offset of the opening bracket that goes past the
    limit (for a value within the limit that the parser still could not take,
    the value's start, and ``detail`` says why); for a JSON document read
    whole, the offset in that document.
    """

    def __init__(self, max_depth: int, offset: int, excerpt: bytes = b"", detail: str = "") -> None:
        why = f": {detail}" if detail else ""
        super().__init__(
            f"JSON nested deeper than {max_depth} levels (max_depth){why}", offset, excerpt
        )
        self.max_depth = max_depth


class StreamMessageError(WireprotoError):
    """The engine reported an error in-band, inside a JSON stream (``{"error": ...}``).

    ``message`` is the engine's text, ``code`` is ``errorDetail.code`` when it
    sent one (a failed build step's exit status, from API 1.8).
    """

    operation = "operation"

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(f"{self.operation} failed: {message}")
        self.message = message
        self.code = code


class PullError(StreamMessageError):
    """``POST /images/create`` reported an error in its progress stream."""

    operation = "pull"


class PushError(StreamMessageError):
    """``POST /images/(name)/push`` reported an error in its progress stream."""

    operation = "push"


class BuildError(StreamMessageError):
    """``POST /build`` reported an error; ``exit_code`` is the failing step's status."""

    operation = "build"

    @property
    def exit_code(self) -> int | None:
        return self.code


class CredentialsError(WireprotoError):
    """Registry credentials could not be read (config.json, a credential helper).

    The message names the file or helper, never a secret.
    """


# --- API versions (the endpoint catalogue) -------------------------------------------------------


class UnsupportedInVersion(InvalidVersion):
    """The API version in use lacks an endpoint, parameter or behaviour that was asked for.

    ``feature`` names it (a row of :mod:`wireproto.api.gates`), ``needs`` says
    which versions have it (``1.10+``, ``<= 1.11``) and ``version`` is the one
    in use (None: unprefixed, the engine's newest).  Nothing is silently dropped.
    """

    def __init__(self, feature: str, needs: str, version: object, *, what: str = "") -> None:
        used = f"API {version}" if version is not None else "the engine's newest API (unprefixed)"
        detail = f" ({what})" if what else ""
        super().__init__(f"{feature}{detail} needs API {needs}; this call uses {used}")
        self.feature = feature
        self.needs = needs
        self.version = version


def short_repr(value: object, width: int = 60) -> str:
    """``repr(value)`` cut to ``width`` characters, without recursing far or building a huge string.

    reprlib stops at a few levels and a few items per container, so a value
    nested thousands deep or megabytes long costs little.
    """
    shown = _SHORT.repr(value)
    return shown if len(shown) <= width else shown[: width - 3] + "..."


_SHORT = reprlib.Repr()
_SHORT.maxlevel = 3
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlong = 60


class MalformedMessage(JSONValuesError):
    """A JSON-stream message is not an object, or a known field has the wrong type.

    From :class:`wireproto.progress.MessageDecoder`, ``values`` (``delivered``)
    holds the messages decoded before the value that is not an object.
    """

    def __init__(self, field: str, value: object) -> None:
        shown = short_repr(value)
        super().__init__(f"malformed message: {field} is {type(value).__name__} {shown}")
        self.field = field
        self.value = value


class BuildContextError(WireprotoError):
    """A build context cannot be read (or a file changed size while it was sent)."""
