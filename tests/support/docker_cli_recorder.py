"""A fake engine on a unix socket that records the docker CLI's ``POST /build`` body.

It answers ``/_ping`` like a 20.10 engine (API 1.41) and a build with one
``{"stream"}`` line, so ``docker build`` (classic builder) sends its context
tar as it would to a real engine; the test compares tar members.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from tests.support.sockets import accept_each, next_head

PING = (
    b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nOstype: linux\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 2\r\n\r\nOK"
)
BUILT = b'{"stream":"Successfully built 0123456789ab\\n"}\r\n'
BUILD_REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
BUILD_REPLY += b"Content-Length: %d\r\n\r\n%s" % (len(BUILT), BUILT)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return out
        out += data[:size]
        data = data[size + 2 :]


class Recorder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.bodies: list[bytes] = []
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(str(path))
        self.listener.listen(8)
        self.listener.settimeout(60)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        accept_each(self.listener, self._start)

    def _start(self, conn: socket.socket) -> None:
        threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            buffer = b""
            while True:
                request = next_head(conn, buffer, 65536)
                if request is None:
                    return
                head, buffer = request
                lower = head.lower()
                request_line = head.split(b"\r\n")[0]
                if b"/_ping" in request_line:
                    # HEAD /_ping gets the head alone (no body may follow it).
                    conn.sendall(PING[:-2] if request_line.startswith(b"HEAD") else PING)
                    continue
                if b"transfer-encoding: chunked" in lower:
                    while b"\r\n0\r\n\r\n" not in buffer and not buffer.startswith(b"0\r\n\r\n"):
                        chunk = conn.recv(65536)
                        if not chunk:
                            return
                        buffer += chunk
                    self.bodies.append(_dechunk(buffer))
                conn.sendall(BUILD_REPLY)
                return

    def close(self) -> None:
        self.listener.close()
