"""One call over one HTTP/1.1 connection, sans-IO: bytes in, events out.

Strategy: the loop contract is h11's.  ``data_to_send()`` hands out the
request bytes (then stdin, after a hijack); ``receive_data(data)`` appends
response bytes, ``b""`` meaning the peer closed; ``next_event()`` returns the
next event or ``NEED_DATA``.  The states run HEAD -> BODY -> DONE:

* HEAD: :class:`http.HeadReader` finds the head and h11 parses it; the bytes
  after it (the start of the body, or of the hijacked stream) stay queued,
  so nothing that arrived with the head is lost.
* BODY: a :mod:`wireproto.body` transport finds the body's end and a payload
  turns it into events by the call's kind; a chunked multiplexed body goes
  through the fused decoder in one pass.  An error status (>= 400) collects
  the body and raises :class:`errors.APIError` at its end.
* DONE: after ``EndOfMessage``; ``reusable`` says whether the connection
  can carry the next exchange (keep-alive).

Any error puts the exchange in a failed state (each later call raises
``StreamFailed``), except that events decoded before a bad byte are handed
out first and the error is raised on the following call.

Data passed to ``receive_data`` may be a view of a buffer the caller reuses,
provided ``next_event()`` is called until it returns ``NEED_DATA`` (or the
exchange ends) before the buffer is overwritten: whatever is kept is copied.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from typing import Literal

import h11

from wireproto import body, framing, versions
from wireproto.body import Data as Data
from wireproto.body import Document as Document
from wireproto.body import EndOfMessage as EndOfMessage
from wireproto.body import Output as Output
from wireproto.codec import backend as codec_backend
from wireproto.codec.sinks import Sinks
from wireproto.codec.views import Decoder
from wireproto.errors import (
    ConnectionClosed,
    IncompleteBody,
    InvalidEngineVersion,
    InvalidResponse,
    LocalProtocolError,
    ProtocolError,
    StreamFailed,
)
from wireproto.framing import Framing
from wireproto.http import (
    MAX_DOCUMENT,
    MAX_ERROR_BODY,
    MAX_HEAD_SIZE,
    UNIX_HOST,
    BodyKind,
    Call,
    HeadReader,
    Response,
    h11_request,
    response_from_h11,
)
from wireproto.sentinel import NEED_DATA as NEED_DATA
from wireproto.sentinel import PAUSED as PAUSED
from wireproto.sentinel import Sentinel as Sentinel

# What an exchange yields, and what the adapters hand out.
Event = Response | Output | Data | Document | EndOfMessage
State = Literal["HEAD", "BODY", "DONE", "FAILED"]
_HIJACK_TYPES = (framing.RAW_STREAM, framing.MULTIPLEXED_STREAM)


class Exchange:
    """Runs ``call``: see the module docstring for the loop.

    ``host`` is the Host header (``docker`` on unix sockets, host:port on
    TCP).  With ``sinks``, STDIO output is appended to ``sinks[stream]``
    (the bulk path, no Output events).  ``backend`` ("native" or "python")
    picks the decoders; None means the one :mod:`wireproto.codec.backend` chose.
    """

    def __init__(
        self,
        call: Call,
        *,
        host: str = UNIX_HOST,
        sinks: Sinks | None = None,
        backend: str | None = None,
    ) -> None:
        self.call = call
        self.response: Response | None = None
        self.framing: Framing | None = None
        self.state: State = "HEAD"
        self._sinks = sinks
        self._backend = backend
        self._conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_SIZE)
        self._outbound = [self._send(h11_request(call.request, host=host, hijack=call.hijack))]
        self._body_iter: Iterator[bytes] | None = None
        self._start_request_body()
        self._head = HeadReader(self._conn)
        self._pending: deque[memoryview] = deque()
        self._events: deque[Event] = deque()
        self._eof = False
        self._error: Exception | None = None
        self._deferred: Exception | None = None
        self._body: body.Reader = body.Layered(body.NoBody(), body.Discard())
        self._body_framing: body.BodyFraming = "none"
        self._sniffing: body.SniffedChunkedStdio | None = None  # until its framing is told
        self._stdin: list[bytes] = []
        self._stdin_ended = False
        self._stdin_closed = False
        self._failed_send = False

    # --- sending ----------------------------------------------------------

    def _send(self, event: h11.Event) -> bytes:
        try:
            data = self._conn.send(event)
        except h11.LocalProtocolError as exc:
            raise LocalProtocolError(str(exc)) from exc
        return data or b""

    def _start_request_body(self) -> None:
        payload = self.call.request.body
        if isinstance(payload, bytes):
            if payload:
                self._outbound.append(self._send(h11.Data(data=payload)))
            self._outbound.append(self._send(h11.EndOfMessage()))
        elif payload is None:
            self._outbound.append(self._send(h11.EndOfMessage()))
        else:
            self._body_iter = iter(payload)

    def data_to_send(self) -> bytes:
        """The next bytes to write: request, body chunks, then stdin; b"" for none now."""
        if self._outbound:
            out = b"".join(self._outbound)
            self._outbound.clear()
            return out
        if self._body_iter is not None:
            return self._next_body_chunk()
        if self._stdin and self.hijacked:
            out = b"".join(self._stdin)
            self._stdin.clear()
            return out
        if self._stdin_ended and self.hijacked:
            self._stdin_closed = True
        return b""

    def _next_body_chunk(self) -> bytes:
        assert self._body_iter is not None
        for chunk in self._body_iter:
            if chunk:
                return self._send(h11.Data(data=chunk))
        self._body_iter = None
        return self._send(h11.EndOfMessage())

    def send_failed(self) -> None:
        """The I/O layer could not write what data_to_send gave: the exchange is dead."""
        self._failed_send = True
        self._fail(LocalProtocolError("sending the request failed"))

    @property
    def hijacked(self) -> bool:
        return self.response is not None and self.response.hijacked

    def send_stdin(self, data: bytes) -> None:
        """Queues ``data`` for the container's stdin (hijacked calls only)."""
        if not self.call.hijack:
            raise LocalProtocolError("stdin can only be sent on a hijacked call (attach, exec)")
        if self._stdin_ended:
            raise LocalProtocolError("stdin was already closed")
        if data:
            self._stdin.append(bytes(data))

    def end_stdin(self) -> None:
        """Says stdin is over: once its bytes are out, ``stdin_closed`` turns True."""
        if not self.call.hijack:
            raise LocalProtocolError("stdin can only be closed on a hijacked call (attach, exec)")
        self._stdin_ended = True

    @property
    def stdin_closed(self) -> bool:
        """True once every stdin byte was handed out after end_stdin(): shut down writing."""
        return self._stdin_closed

    # --- receiving --------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Appends response bytes; ``b""`` says the peer closed the connection."""
        if self._eof:
            raise LocalProtocolError("response bytes received after the connection closed")
        if not data:
            self._eof = True
        else:
            self._pending.append(data if isinstance(data, memoryview) else memoryview(data))

    def next_event(self) -> Event | Sentinel:
        """The next event, NEED_DATA, or PAUSED once the exchange is over."""
        if self._error is not None:
            raise StreamFailed(self._error)
        try:
            return self._step()
        except h11.ProtocolError as exc:
            self._fail(exc)
            raise ProtocolError(str(exc)) from exc
        except Exception as exc:  # bad bytes, an error status, or a sink that raised
            self._fail(exc)
            raise

    def _fail(self, exc: Exception) -> None:
        self._error = exc
        if self.state != "DONE":
            self.state = "FAILED"

    def _step(self) -> Event | Sentinel:
        if self._events:
            return self._events.popleft()
        if self._deferred is not None:
            raise self._deferred
        if self.state == "HEAD":
            return self._step_head()
        if self.state == "BODY":
            return self._step_body()
        return PAUSED

    def _step_head(self) -> Event | Sentinel:
        while self._pending:
            self._head.feed(self._pending.popleft())
        event = self._head.next_head()
        if event is None:
            if self._eof:
                raise ConnectionClosed(self._head.received)
            return NEED_DATA
        response = self._start_body(event)
        if self._head.rest:
            # Handed over, not kept: the head reader lives as long as the
            # exchange, and a follow stream's first read would stay in memory
            # for the stream's life, once per stream.
            self._pending.append(memoryview(self._head.rest))
            self._head.rest = b""
        self.state = "BODY"
        return response

    def _step_body(self) -> Event | Sentinel:
        while self._pending:
            event = self._feed(self._pending.popleft())
            if event is not None:
                return event
        if self._deferred is not None:  # bad bytes that left no output: fail now
            raise self._deferred
        if self._body.done:
            return self._finish()
        if self._eof:
            return self._end_of_connection()
        return NEED_DATA

    def _end_of_connection(self) -> Event:
        try:
            self._body.close()
        except IncompleteBody as exc:
            return self._cut_short(exc)
        return self._finish()

    def _cut_short(self, error: IncompleteBody) -> Event:
        """The body was cut: output the payload still holds (the first bytes of
        a stream whose framing was to be sniffed) goes out before the error."""
        held = self._body.release()
        self.framing = self._body.framing
        self._deferred = error
        if not held:
            raise error
        return self._queue(held)

    def _feed(self, data: memoryview) -> Event | None:
        events = self._body.feed(data)
        if self._sniffing is not None and self._sniffing.reader is not None:
            self._sniffed(self._sniffing.reader)
        self._defer(self._body.error)
        return self._queue(events) if events else None

    def _sniffed(self, reader: body.Reader) -> None:
        """The first bytes told the framing: their reader takes the body from now on."""
        self._body, self._sniffing = reader, None
        self.framing = reader.framing

    def _queue(self, events: Sequence[Event]) -> Event:
        """The first of ``events``; the others are handed out next."""
        self._events.extend(events)
        return self._events.popleft()

    def _defer(self, error: Exception | None) -> None:
        if error is not None and self._deferred is None:
            self._deferred = error
            self._pending.clear()

    # --- the head decides the body ------------------------------------------

    def _start_body(self, event: h11.Response | h11.InformationalResponse) -> Response:
        response = response_from_h11(event, hijacked=self._is_hijack(event))
        self.response = response
        self._body = self._choose_reader(response)
        self.framing = self._body.framing
        return response

    def _is_hijack(self, event: h11.Response | h11.InformationalResponse) -> bool:
        if not self.call.hijack:
            return False
        if event.status_code == 101:
            return True
        # Legacy hijack: 200, a stream content type, and no body framing at all.
        headers = {name: value for name, value in event.headers}
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().decode("latin-1")
        framed = b"content-length" in headers or b"transfer-encoding" in headers
        return event.status_code == 200 and content_type in _HIJACK_TYPES and not framed

    def _choose_reader(self, response: Response) -> body.Reader:
        framing_type, args = self._framing_of(response)
        self._body_framing = framing_type
        transport = body.TRANSPORTS[framing_type]
        # Any chunked body resolves the stdio framing, to choose the fused
        # decoder (a bad Api-Version header fails it, error status or not);
        # an error body is otherwise never decoded as stdio.
        chunked = framing_type == "chunked"
        chosen = self._stdio_framing(response) if chunked or response.status < 400 else None
        if not (response.hijacked or self.call.expects(response.status)):
            error_body = body.ErrorBody(MAX_ERROR_BODY, response, self.call)
            return body.Layered(transport(*args), error_body)
        if chunked and chosen is not None and chosen.kind == "multiplexed":
            return body.FusedStdio(chosen, self._sinks, backend=self._backend)
        if chunked and chosen is None and self.call.kind is BodyKind.STDIO:
            self._sniffing = body.SniffedChunkedStdio(self._demuxer, self._sinks, self._backend)
            return self._sniffing
        return body.Layered(transport(*args), self._payload(chosen))

    def _framing_of(self, response: Response) -> tuple[body.BodyFraming, tuple[object, ...]]:
        """How the body is delimited on the wire, and the transport's arguments."""
        status = response.status
        if response.hijacked:
            return "close", ()
        if self.call.request.method == "HEAD" or status in (204, 304) or status < 200:
            return "none", ()
        if response.header("transfer-encoding") is not None:
            return "chunked", (self._backend,)
        length = response.header("content-length")
        if length is not None:
            return "length", (int(length),)
        return "close", ()

    def _stdio_framing(self, response: Response) -> Framing | None:
        if self.call.kind is not BodyKind.STDIO:
            return None
        version = versions.of_target(self.call.request.target)
        if version is None and response.api_version:
            version = self._engine_version(response.api_version)
        return framing.resolve(
            content_type=response.content_type,
            version=version,
            tty=self.call.tty,
            endpoint=self.call.endpoint,
        )

    def _engine_version(self, header: str) -> versions.ApiVersion | None:
        """The engine's Api-Version: garbage there is the engine's fault, not the caller's."""
        try:
            return versions.from_ping_headers(header)
        except InvalidEngineVersion as exc:
            head_end = self._head.received - len(self._head.rest)
            message = f"engine sent a bad Api-Version header: {exc}"
            raise InvalidResponse(message, head_end) from None

    def _payload(self, chosen: Framing | None) -> body.Payload:
        """The payload of a successful response, by the call's kind."""
        kind = self.call.kind
        if kind is BodyKind.STDIO:
            return body.Stdio(chosen, self._demuxer, self._sinks)
        if kind is BodyKind.DOCUMENT:
            return body.DocumentBody(MAX_DOCUMENT)
        if kind in (BodyKind.BYTES, BodyKind.TAR, BodyKind.JSONSTREAM):
            return body.Bytes()
        return body.Discard()

    def _demuxer(self) -> Decoder:
        return codec_backend.classes(self._backend).Demuxer()

    # --- the end ------------------------------------------------------------

    def _finish(self) -> Event:
        events: list[Event] = [*self._body.finish()]  # a cut stream fails the exchange
        self.framing = self._body.framing
        self.state = "DONE"
        events += self._body.outcome()  # an error status raises here: the exchange is done
        events.append(EndOfMessage())
        return self._queue(events)

    @property
    def reusable(self) -> bool:
        """Whether the connection can carry another exchange (keep-alive)."""
        response = self.response
        if self.state != "DONE" or response is None or self._eof or self._failed_send:
            return False
        if self._deferred is not None:  # bad bytes in the body
            return False
        if response.hijacked or self._body_framing == "close":
            return False
        if response.header("transfer-encoding") and response.header("content-length"):
            return False  # RFC 9112 6.3: the length is in doubt (smuggling): close
        if self._pending or self._body.trailing or self._body_iter is not None:
            return False
        if response.http_version != "1.1":
            return False
        tokens = {t.strip().lower() for t in (response.header("connection") or "").split(",")}
        return "close" not in tokens
