"""WebSocket attach (``GET /containers/(id)/attach/ws``), sans-IO, on wsproto.

Strategy: the same loop contract and events as :class:`wireproto.exchange.Exchange`
for a hijacked attach: ``data_to_send()``, ``receive_data(data)`` (``b""`` is
EOF), ``next_event()`` giving a ``Response``, ``Output`` pieces and
``EndOfMessage``.  The handshake is an h11 request/response read by
:class:`wireproto.http.HeadReader` (so the frames that arrive with the
``101`` head are kept, as h11's ``trailing_data`` hands them on); its
``Sec-WebSocket-Accept`` is checked with wsproto's token.  Frames are read by
wsproto's ``FrameDecoder`` and written by its ``FrameProtocol``.

Why not ``wsproto.WSConnection`` whole: before API 1.28 the engine sends
container output as *text* frames holding whatever bytes the container
wrote, often not UTF-8; wsproto's message layer would fail the connection
with 1007.  Output is bytes, so every data frame, text or binary, is
delivered as raw bytes on stdout (a WebSocket attach is never multiplexed:
stdout and stderr arrive merged).  Nothing else of the protocol is relaxed:
masking, control frames and close codes are wsproto's.
"""

from __future__ import annotations

from collections import deque

import h11
from wsproto.frame_protocol import (
    CloseReason,
    FrameDecoder,
    FrameProtocol,
    Opcode,
    ParseFailed,
)
from wsproto.utilities import generate_accept_token, generate_nonce

from wireproto import body
from wireproto.errors import (
    ConnectionClosed,
    IncompleteBody,
    LocalProtocolError,
    RemoteProtocolError,
    StreamFailed,
)
from wireproto.exchange import EndOfMessage, Output
from wireproto.http import (
    MAX_ERROR_BODY,
    UNIX_HOST,
    USER_AGENT,
    Call,
    HeadReader,
    Response,
    api_error,
    response_from_h11,
)
from wireproto.mux import STDOUT
from wireproto.sentinel import NEED_DATA, PAUSED, Sentinel

# What a WebSocket attach yields: a subset of wireproto.exchange.Event (no
# Data or Document), so an adapter hands both out through one iterator.
WSEvent = Response | Output | EndOfMessage
# Memory stays bounded by what is fed: wsproto's FrameDecoder hands a data
# frame's payload out in pieces as it arrives (only control frames, at most
# 125 bytes, are held whole).


class WSAttach:
    """Runs an ``attach_ws`` call (see the module docstring for the loop).

    ``close_code`` and ``close_reason`` hold the engine's close frame, once
    it came (None if the connection just ended).  ``key`` fixes the
    ``Sec-WebSocket-Key`` (replaying a recorded transcript); by default a
    fresh random one.
    """

    def __init__(self, call: Call, *, host: str = UNIX_HOST, key: bytes | None = None) -> None:
        if call.endpoint != "attach.ws":
            raise LocalProtocolError(f"WSAttach runs attach_ws calls, not {call.endpoint!r}")
        self.call = call
        self.response: Response | None = None
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._key = key or generate_nonce()
        self._conn = h11.Connection(h11.CLIENT)
        self._head = HeadReader(self._conn)
        self._outbound = [self._request(host)]
        self._frames = FrameDecoder(client=True, extensions=[])
        self._writer = FrameProtocol(client=True, extensions=[])
        self._events: deque[WSEvent] = deque()
        self._state = "HEAD"  # HEAD -> OPEN -> DONE, or ERROR_BODY -> raise
        self._error_transport: body.Transport | None = None
        self._error_body = body.Collect(MAX_ERROR_BODY, truncate=True, what="error body")
        self._eof = False
        self._failed: Exception | None = None
        # A bad frame after good ones: raised once the output before it is out.
        self._deferred: Exception | None = None
        self._output_bytes = 0
        self._sent_close = False

    def _request(self, host: str) -> bytes:
        headers = [
            ("Host", host),
            ("User-Agent", USER_AGENT),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", self._key.decode("ascii")),
            ("Sec-WebSocket-Version", "13"),
            # The engine's origin check (x/net/websocket) wants an Origin.
            ("Origin", "http://localhost"),
            *self.call.request.headers,
        ]
        event = h11.Request(method="GET", target=self.call.request.target, headers=headers)
        return self._conn.send(event) or b""

    # --- sending ------------------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """The next bytes to write (the handshake, stdin frames, a close); b"" for none now."""
        out = b"".join(self._outbound)
        self._outbound.clear()
        return out

    def send_stdin(self, data: bytes) -> None:
        """Queues ``data`` for the container's stdin, as one binary frame."""
        if self._sent_close:
            raise LocalProtocolError("stdin was already closed (the WebSocket is closing)")
        if data:
            self._outbound.append(bytes(self._writer.send_data(bytes(data), fin=True)))

    def end_stdin(self) -> None:
        """Ends stdin.  A WebSocket cannot half-close: this sends a close frame, and
        output keeps coming until the engine's close frame answers it."""
        self._close(CloseReason.NORMAL_CLOSURE)

    def _close(self, code: int) -> None:
        if not self._sent_close:
            self._sent_close = True
            self._outbound.append(bytes(self._writer.close(code)))

    # --- receiving ----------------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Appends response bytes; ``b""`` says the engine closed the connection."""
        if self._eof:
            raise LocalProtocolError("bytes received after the connection closed")
        if not data:
            self._eof = True
        elif self._state == "HEAD":
            self._head.feed(data)
        elif self._state == "ERROR_BODY":
            assert self._error_transport is not None
            self._error_body.feed(self._error_transport.feed(memoryview(bytes(data))))
        else:
            self._frames.receive_bytes(bytes(data))

    def next_event(self) -> WSEvent | Sentinel:
        """The next event, NEED_DATA, or PAUSED once the stream is over."""
        if self._failed is not None:
            raise StreamFailed(self._failed)
        try:
            return self._step()
        except Exception as exc:
            self._failed = exc
            raise

    def _step(self) -> WSEvent | Sentinel:
        if self._events:
            return self._events.popleft()
        if self._deferred is not None:
            raise self._deferred
        if self._state == "HEAD":
            return self._step_head()
        if self._state == "ERROR_BODY":
            return self._step_error()
        if self._state == "OPEN":
            return self._step_frames()
        return PAUSED

    def _step_head(self) -> WSEvent | Sentinel:
        event = self._head.next_head()
        if event is None:
            if self._eof:
                raise ConnectionClosed(self._head.received)
            return NEED_DATA
        if event.status_code == 101:
            return self._open(event)
        self.response = response_from_h11(event, hijacked=False)
        self._state = "ERROR_BODY"
        self._error_transport = _error_transport(self.response)
        self._error_body.feed(self._error_transport.feed(memoryview(self._head.rest)))
        return self._step_error()

    def _open(self, event: h11.Response | h11.InformationalResponse) -> WSEvent:
        response = response_from_h11(event, hijacked=True)
        accept = response.header("sec-websocket-accept")
        if accept != generate_accept_token(self._key).decode("ascii"):
            raise RemoteProtocolError(
                f"WebSocket handshake: Sec-WebSocket-Accept {accept!r} does not match the key"
            )
        self.response = response
        self._state = "OPEN"
        self._frames.receive_bytes(self._head.rest)
        return response

    def _step_error(self) -> Sentinel:
        transport = self._error_transport
        assert transport is not None and self.response is not None
        if not transport.done and not self._eof:
            return NEED_DATA
        if not transport.done:
            transport.close()
        self._state = "DONE"
        received = self._error_body.finish()
        assert isinstance(received, bytes)
        raise api_error(self.response, received, self.call.request.target)

    def _step_frames(self) -> WSEvent | Sentinel:
        pieces: list[tuple[int, bytes | memoryview]] = []
        while True:
            try:
                frame = self._frames.process_buffer()
            except ParseFailed as exc:
                self._bad_frame(exc, delivered=bool(pieces))
                break
            if frame is None:
                break
            payload = frame.payload
            assert isinstance(payload, bytes | bytearray)
            if frame.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONTINUATION):
                if payload:
                    self._output_bytes += len(payload)
                    pieces.append((STDOUT, memoryview(bytes(payload))))
            elif frame.opcode is Opcode.PING:
                self._outbound.append(bytes(self._writer.pong(bytes(payload))))
            elif frame.opcode is Opcode.CLOSE:
                self._closed_by_engine(bytes(payload))
                break
        if pieces:
            if self._state == "DONE":
                self._events.append(EndOfMessage())
            return Output(pieces=pieces)
        if self._state == "DONE":
            return EndOfMessage()
        if self._eof:
            return self._end_without_close()
        return NEED_DATA

    def _bad_frame(self, exc: ParseFailed, *, delivered: bool) -> None:
        """Fails the stream with close code ``exc.code``; when output decoded before the bad
        frame is still to be handed out, the error waits for the next call."""
        self._close(exc.code)
        error = RemoteProtocolError(
            f"WebSocket attach: bad frame after {self._output_bytes} bytes of output: {exc}"
        )
        error.__cause__ = exc
        if not delivered:
            raise error
        self._deferred = error

    def _closed_by_engine(self, payload: bytes) -> None:
        if len(payload) >= 2:
            self.close_code = int.from_bytes(payload[:2], "big")
            self.close_reason = payload[2:].decode("utf-8", "replace")
        else:
            self.close_code = CloseReason.NO_STATUS_RCVD
            self.close_reason = ""
        self._close(CloseReason.NORMAL_CLOSURE)  # echo it, as RFC 6455 section 5.5.1 asks
        self._state = "DONE"

    def _end_without_close(self) -> WSEvent:
        """The engine dropped the connection without a close frame: the end of the
        stream, as for a hijacked attach, unless it cut a frame."""
        buffered = len(self._frames.buffer)
        if buffered or self._frames.header is not None:
            raise IncompleteBody(buffered, "the connection closed inside a WebSocket frame")
        self._state = "DONE"
        return EndOfMessage()

    @property
    def closed(self) -> bool:
        """True once the stream is over (the engine closed it, or the connection ended)."""
        return self._state == "DONE" and not self._events


def _error_transport(response: Response) -> body.Transport:
    if response.header("transfer-encoding") is not None:
        return body.ChunkedBody()
    length = response.header("content-length")
    return body.LengthBody(int(length)) if length is not None else body.UntilClose()
