"""The stub engine's WebSocket attach (``GET /containers/(id)/attach/ws``), sans-IO.

Strategy: dockerd serves this route with Go's ``x/net/websocket`` server, and
the stub answers as that does.  The handshake is checked as its ``hybi``
reader checks it (GET, ``Upgrade: websocket``, a key, version 13; a missing
``Origin`` is refused 403 by the default origin check) and answered with its
bare ``101 Switching Protocols`` head (written on the hijacked connection, so
none of the engine's usual headers).  Then:

- output: the container's bytes, stdout and stderr merged (a WebSocket attach
  is never multiplexed), one unmasked data frame per write: *text* frames
  before API 1.28 whatever the bytes are (x/net's default payload type),
  binary from 1.28 (moby PR 28176).  The frames are written here, not by
  wsproto's ``send_data``, which would refuse non-UTF-8 text;
- input: the client's frames, read by wsproto's ``FrameDecoder`` (masking
  and framing enforced); data frames go to the container's stdin, a ping is
  answered with a pong, and a close frame or the client's EOF ends stdin;
- the end: when the container exits, or when stdin ends and the container
  does not close its stdin on that (``StdinOnce`` without a TTY), the engine
  sends a close frame (1000) and closes the connection, as x/net's
  ``Conn.Close`` does once the attach returns.
"""

from __future__ import annotations

from wsproto.frame_protocol import CloseReason, FrameDecoder, FrameProtocol, Opcode, ParseFailed
from wsproto.utilities import generate_accept_token

from wireproto.engine.world import Feed, Pipe

# x/net/websocket's handshake answer, written on the hijacked connection.
HEAD = (
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: %s\r\n\r\n"
)


def handshake_refusal(method: str, headers: dict[str, str]) -> bytes | None:
    """The raw answer x/net/websocket writes for a handshake it refuses; None if it is good.

    Each refusal is a bare status line, a blank line and the error's text, then
    the connection closes (no Content-Length: the body runs to the close).
    """
    if method != "GET":
        return _refusal(405, "Method Not Allowed", b"bad method")
    upgrade = headers.get("upgrade", "").lower()
    if upgrade != "websocket" or "upgrade" not in headers.get("connection", "").lower():
        return _refusal(400, "Bad Request", b"not websocket protocol")
    key = headers.get("sec-websocket-key", "")
    if not key:
        return _refusal(400, "Bad Request", b"mismatch challenge/response")
    if headers.get("sec-websocket-version", "") != "13":
        extra = b"Sec-WebSocket-Version: 13\r\n"
        return _refusal(400, "Bad Request", b"missing or bad WebSocket Version", extra)
    if not headers.get("origin"):
        return b"HTTP/1.1 403 Forbidden\r\n\r\n"
    return None


def _refusal(status: int, reason: str, text: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 %d %s\r\n%s\r\n%s" % (status, reason.encode(), extra, text)


def accept_head(key: str) -> bytes:
    """The ``101`` head for the client's ``Sec-WebSocket-Key``."""
    return HEAD % generate_accept_token(key.encode("ascii", "replace"))


def data_frame(payload: bytes, *, binary: bool) -> bytes:
    """One unmasked, final data frame holding ``payload`` (text frames hold it as it is)."""
    opcode = Opcode.BINARY if binary else Opcode.TEXT
    size = len(payload)
    if size < 126:
        header = bytes((0x80 | opcode, size))
    elif size < 1 << 16:
        header = bytes((0x80 | opcode, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 127)) + size.to_bytes(8, "big")
    return header + payload


class WSStdin:
    """The client's side of the WebSocket: frames in, stdin out; pongs and the close via feed.

    ``stdin`` is the container's stdin, or None when the attach does not use it
    (then data frames are read and dropped, as dockerd drops them).  ``closes_stdin``:
    the end of the client's input closes the container's stdin and the output
    goes on to the exit (``StdinOnce`` without a TTY); otherwise that end ends the attach.
    """

    def __init__(self, feed: Feed, stdin: Pipe | None, *, closes_stdin: bool) -> None:
        self.feed = feed
        self.stdin = stdin
        self.closes_stdin = closes_stdin
        self._decoder = FrameDecoder(client=False, extensions=[])
        self._writer = FrameProtocol(client=False, extensions=[])
        self._ended = False

    def write(self, data: bytes) -> None:
        """Bytes from the client: frames, parsed as far as they go."""
        if self._ended:
            return
        self._decoder.receive_bytes(data)
        while not self._ended:
            try:
                frame = self._decoder.process_buffer()
            except ParseFailed as exc:
                self.finish(exc.code)
                return
            if frame is None:
                return
            self._frame(frame.opcode, bytes(frame.payload))  # type: ignore[arg-type]

    def _frame(self, opcode: Opcode, payload: bytes) -> None:
        if opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONTINUATION):
            if self.stdin is not None and payload:
                self.stdin.write(payload)
        elif opcode is Opcode.PING:
            self.feed.push(bytes(self._writer.pong(payload)))
        elif opcode is Opcode.CLOSE:
            self.close()

    def close(self) -> None:
        """The client's input ended (a close frame, or its EOF)."""
        if self._ended:
            return
        if self.closes_stdin and self.stdin is not None:
            self._ended = True
            self.stdin.close()  # the output goes on until the container exits
        else:
            self.finish(CloseReason.NORMAL_CLOSURE)

    def finish(self, code: int = CloseReason.NORMAL_CLOSURE) -> None:
        """Ends the attach: a close frame with ``code``, then the connection closes."""
        if self.feed.ended:
            return
        self._ended = True
        self.feed.push(bytes(self._writer.close(code)))
        self.feed.end()
