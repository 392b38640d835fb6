"""Fake engines on real loopback sockets, and the helpers their handlers use.

Each fake is a real server (a unix socket, in a thread) answering from canned
bytes, so the adapters meet a genuine peer, not a mock.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

Handler = Callable[[socket.socket], None]
PING_OK = b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK"
UPGRADED = b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
CHUNKED_MUX = b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
CHUNKED_MUX += b"Transfer-Encoding: chunked\r\n\r\n"


def recv_head(conn: socket.socket, buffer: bytes = b"", size: int = 4096) -> tuple[bytes, bool]:
    """``buffer`` plus what ``conn`` sends until it holds a whole head (ending in a blank line).

    The flag is False when the peer closed first; the bytes then are all that came.
    """
    while b"\r\n\r\n" not in buffer:
        chunk = conn.recv(size)
        if not chunk:
            return buffer, False
        buffer += chunk
    return buffer, True


def read_head(conn: socket.socket) -> bytes:
    return recv_head(conn)[0]


def next_head(conn: socket.socket, buffer: bytes, size: int = 4096) -> tuple[bytes, bytes] | None:
    """The next head on a kept-alive ``conn`` (without its blank line) and the bytes after it.

    ``buffer`` is what came after the previous head; None when the peer closes first.
    """
    buffer, complete = recv_head(conn, buffer, size)
    if not complete:
        return None
    head, _, rest = buffer.partition(b"\r\n\r\n")
    return head, rest


def before_ping(conn: socket.socket) -> None:
    """An engine older than ``/_ping`` (API 1.9): 404 for the ping, its version otherwise."""
    while head := read_head(conn):
        if b"/_ping" in head:
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found")
        else:
            body = b'{"ApiVersion":"1.9","Version":"0.7"}'
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


def accept_each(listener: socket.socket, on_connection: Handler) -> None:
    """Hands each accepted connection to ``on_connection`` until the listener is closed."""
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        on_connection(conn)


class FakeEngine:
    """A unix-socket server running ``handler`` for each connection, in a thread.

    ``trickle``: every ``sendall`` of the handler goes out one byte at a time.
    """

    def __init__(self, path: Path, handler: Handler, trickle: bool = False) -> None:
        self.path = path
        self.handler = handler
        self.trickle = trickle
        self.connections = 0
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(str(path))
        self.listener.listen(64)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def host(self) -> str:
        return f"unix://{self.path}"

    def _serve(self) -> None:
        accept_each(self.listener, self._start)

    def _start(self, conn: socket.socket) -> None:
        self.connections += 1
        threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        target: socket.socket = _Trickle(conn) if self.trickle else conn  # type: ignore[assignment]
        with conn, contextlib.suppress(OSError):
            self.handler(target)

    def close(self) -> None:
        self.listener.close()


class _Trickle:
    """A socket whose sendall writes one byte per send."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def sendall(self, data: bytes) -> None:
        for i in range(len(data)):
            self._sock.sendall(data[i : i + 1])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def keep_alive(limit: int = 100, requests: list[bytes] | None = None) -> Handler:
    def handle(conn: socket.socket) -> None:
        for _ in range(limit):
            head = read_head(conn)
            if not head:
                return
            if requests is not None:
                requests.append(head)
            conn.sendall(PING_OK)

    return handle


def answer(response: bytes) -> Handler:
    def handle(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(response)

    return handle


def chunked(*chunks: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


class TLSVerifyEngine:
    """One TLS connection on loopback, taken as an engine started with ``--tlsverify`` takes it.

    Certificates go to ``directory`` and the client must present one. Each of ``replies``
    answers one request head; the heads are kept in ``seen``.
    """

    def __init__(self, directory: Path, replies: list[bytes]) -> None:
        make_certificates(directory)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(directory / "server.pem", directory / "server-key.pem")
        self.context.load_verify_locations(directory / "ca.pem")
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.replies = replies
        self.seen: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with self.context.wrap_socket(conn, server_side=True) as tls:
            for reply in self.replies:
                self.seen.append(read_head(tls))
                tls.sendall(reply)

    def close(self) -> None:
        self.thread.join(5)
        self.listener.close()


def make_certificates(directory: Path) -> None:
    """A CA, a server certificate for localhost and a client certificate, as docker names them."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=test CA",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
    )
    for name, extension in (
        ("server", "subjectAltName=DNS:localhost"),
        ("cert", "extendedKeyUsage=clientAuth"),
    ):
        key = "key.pem" if name == "cert" else f"{name}-key.pem"
        openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={name}",
            "-keyout",
            key,
            "-out",
            f"{name}.csr",
        )
        (directory / f"{name}.ext").write_text(extension + "\n")
        openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            f"{name}.ext",
            "-out",
            f"{name}.pem",
        )
