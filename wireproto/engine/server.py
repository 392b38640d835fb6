"""The stub engine's socket loop: one thread per connection, bytes only.

Every decision is :class:`~wireproto.engine.protocol.ServerConnection`'s;
this writes replies piece by piece with blocking ``sendall`` (so a client
that reads slowly holds the producer back: memory stays at one piece per
connection), paces them when the script sets a rate, and for attach echoes
stdin until its half-close.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from wireproto.engine.protocol import CLOSED, NEED_DATA, Hijack, Reply, ServerConnection
from wireproto.engine.script import Script

RECV_SIZE = 64 * 1024


class Stats:
    """Counters the tests read: body bytes written, connections served."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.body_bytes = 0
        self.connections = 0

    def add(self, count: int) -> None:
        with self.lock:
            self.body_bytes += count


class StubEngine:
    """A stub engine on a unix socket (default) or a loopback TCP port, in a thread.

    ``with StubEngine() as engine:`` then ``engine.host`` is ``unix:///...`` or
    ``tcp://127.0.0.1:PORT``; ``engine.socket_path`` / ``engine.address`` too.
    """

    def __init__(
        self,
        script: Script | None = None,
        *,
        socket_path: str | None = None,
        tcp: tuple[str, int] | None = None,
    ) -> None:
        self.script = script or Script()
        self.stats = Stats()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._tcp = tcp
        self.socket_path = socket_path
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._clients: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        if self._tcp is not None:
            host, port = self.address
            return f"tcp://{host}:{port}"
        return f"unix://{self.socket_path}"

    @property
    def address(self) -> tuple[str, int]:
        assert self._listener is not None and self._tcp is not None
        host, port = self._listener.getsockname()[:2]
        return str(host), int(port)

    def __enter__(self) -> StubEngine:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def listen(self) -> socket.socket:
        if self._tcp is not None:
            host, port = self._tcp
            if host not in ("127.0.0.1", "localhost", "::1"):
                raise ValueError(f"the stub engine listens on loopback only, not {host}")
            listener = socket.create_server((host, port), backlog=1024)
        else:
            if self.socket_path is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="wireproto-stub-")
                self.socket_path = os.path.join(self._tmp.name, "docker.sock")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.socket_path)
            listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(self.socket_path)
            listener.listen(1024)
        self._listener = listener
        return listener

    def start(self) -> None:
        self.listen()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    def serve_forever(self) -> None:
        listener = self._listener or self.listen()
        while not self._stopping.is_set():
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                self._clients.add(sock)
                self.stats.connections += 1
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        with self._lock:
            for sock in self._clients:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()

    # --- one connection ---------------------------------------------------------------

    def _serve(self, sock: socket.socket) -> None:
        try:
            serve_connection(sock, ServerConnection(self.script), self.stats)
        except OSError:
            pass  # the client went away
        finally:
            with self._lock:
                self._clients.discard(sock)
            sock.close()


def serve_connection(sock: socket.socket, conn: ServerConnection, stats: Stats) -> None:
    """Answers requests on ``sock`` until either side closes."""
    while True:
        reply = conn.next_reply()
        if reply == NEED_DATA:
            conn.receive_data(sock.recv(RECV_SIZE))
            continue
        if reply == CLOSED or not isinstance(reply, Reply):
            return
        sock.sendall(reply.head)
        write_body(sock, reply.body, reply.rate, stats)
        if reply.hijack is not None:
            echo(sock, reply.hijack)
            return
        if reply.hold_open:
            while sock.recv(RECV_SIZE):
                pass  # following: the client ends the stream by closing
            return
        sock.sendall(reply.end)
        if not reply.keep_alive or not conn.reply_done():
            return


def write_body(
    sock: socket.socket, body: Iterable[bytes], rate: float | None, stats: Stats
) -> None:
    started, sent = time.monotonic(), 0
    for piece in body:
        if rate:
            delay = started + sent / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        sock.sendall(piece)
        sent += len(piece)
        stats.add(len(piece))


def echo(sock: socket.socket, hijack: Hijack) -> None:
    """Attach: stdin comes back as stdout until stdin's EOF (or no stdin: close now)."""
    if hijack.echo_stdin:
        if hijack.early_stdin:
            sock.sendall(hijack.echo(hijack.early_stdin))
        while data := sock.recv(RECV_SIZE):
            sock.sendall(hijack.echo(data))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)


class StubEngineProcess:
    """The stub engine in a subprocess (``wireproto serve``): no GIL shared with the client."""

    def __init__(self, socket_path: str | None = None, extra: Iterable[str] = ()) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if socket_path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="wireproto-stub-")
            socket_path = os.path.join(self._tmp.name, "docker.sock")
        self.socket_path = socket_path
        self.extra = list(extra)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"unix://{self.socket_path}"

    def __enter__(self) -> StubEngineProcess:
        argv = [sys.executable, "-m", "wireproto", "serve", "--socket", self.socket_path]
        self.proc = subprocess.Popen([*argv, *self.extra], stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith(b"listening"):
            self.proc.kill()
            raise RuntimeError(f"the stub engine did not start: {line!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        if self._tmp is not None:
            self._tmp.cleanup()
        with contextlib.suppress(FileNotFoundError):
            Path(self.socket_path).unlink()
