"""The socket docker-py hands out for a hijacked stream (attach, exec start).

Stock docker-py hands out the raw socket under http.client, but http.client
read the 101 head through a buffered reader, which may hold the first frames
of the stream already (the engine often writes them with the head): read
from the raw socket, they are lost.  :class:`HeadSocket` reads through that
buffered reader instead, so those bytes come first, then the socket's.
Writes, shutdown (half-close of stdin) and everything else go to the socket.
"""

from __future__ import annotations

import io
import socket
from typing import Any

from wireproto.codec.views import BytesLike


class HeadSocket:
    """A socket-like object over a hijacked connection that serves the bytes
    buffered with the response head first.

    It reads like the ``socket.SocketIO`` stock docker-py returns (``read``,
    ``readinto``) and like a socket (``recv``, ``recv_into``); ``_sock`` is the
    socket itself, as with SocketIO, for code that writes through it.
    """

    def __init__(self, fp: io.BufferedReader, sock: socket.socket, response: Any) -> None:
        self._fp = fp
        self._sock = sock
        self._response = response  # keeps the response (and a TLS socket) alive

    # -- reading: through the buffered reader, so the head's extra bytes come first
    def recv(self, size: int, flags: int = 0) -> bytes:
        return self._fp.read1(size) if size else b""

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self._fp.read()
        return self.recv(size)

    def readinto(self, buffer: Any) -> int:
        return self._fp.readinto1(buffer)

    def recv_into(self, buffer: Any, size: int = 0, flags: int = 0) -> int:
        view = memoryview(buffer).cast("B")
        return self._fp.readinto1(view[:size] if size else view)

    # -- writing and the rest: the socket's
    def sendall(self, data: BytesLike) -> None:
        self._sock.sendall(data)

    def send(self, data: BytesLike) -> int:
        return self._sock.send(data)

    def write(self, data: BytesLike) -> int:
        return self._sock.send(data)

    def shutdown(self, how: int) -> None:
        """``socket.SHUT_WR`` half-closes stdin: the container sees its end,
        output keeps coming until the container closes."""
        self._sock.shutdown(how)

    def fileno(self) -> int:
        return self._sock.fileno()

    def settimeout(self, timeout: float | None) -> None:
        self._sock.settimeout(timeout)

    def gettimeout(self) -> float | None:
        return self._sock.gettimeout()

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return self._fp.closed

    def close(self) -> None:
        self._fp.close()

    def __enter__(self) -> HeadSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def raw_socket_of(fp: io.BufferedReader) -> socket.socket | None:
    """The socket under http.client's buffered reader (plain or TLS), or None."""
    raw = getattr(fp, "raw", None)
    sock = getattr(raw, "_sock", None)
    return sock if isinstance(sock, socket.socket) else None
