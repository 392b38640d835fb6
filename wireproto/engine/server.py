"""The stub engine's socket loop: one asyncio event loop for every connection, bytes only.

Strategy: every decision is :class:`~wireproto.engine.protocol.ServerConnection`'s;
this moves bytes.  Each connection is an ``asyncio.Protocol`` (no streams, no
task per connection: a thousand concurrent log streams cost a thousand small
objects, not a thousand threads).  A reply body is pumped piece by piece into
the transport until the transport's write buffer passes its high-water mark;
``pause_writing`` stops the pump and ``resume_writing`` restarts it, so a
client that reads slowly holds the producer back and memory stays at one
piece plus the buffer limit per connection.  A scripted rate is kept with
``call_later`` instead of sleeping.  Attach echoes stdin after its output
until the client half-closes, then half-closes too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from wireproto.engine.protocol import CLOSED, NEED_DATA, Hijack, Reply, ServerConnection
from wireproto.engine.script import Script

# The transport's write buffer limits: above HIGH the pump pauses, below LOW it
# resumes.  Small, because a thousand connections may each hold this much (the
# kernel's socket buffer, a few hundred KiB, is the real queue).
WRITE_HIGH = 128 * 1024
WRITE_LOW = 32 * 1024

# What a connection is doing: reading a request, writing a reply body, holding a
# followed stream open until the client goes, echoing attach stdin, or gone.
REQUEST, BODY, HOLD, ECHO, GONE = "request", "body", "hold", "echo", "gone"


class Stats:
    """Counters the tests read: body bytes written, connections served.

    Written by the event loop's thread only; readers elsewhere see a recent value.
    """

    def __init__(self) -> None:
        self.body_bytes = 0
        self.connections = 0

    def add(self, count: int) -> None:
        self.body_bytes += count


class StubEngine:
    """A stub engine on a unix socket (default) or a loopback TCP port.

    ``with StubEngine() as engine:`` serves from a background thread; then
    ``engine.host`` is ``unix:///...`` or ``tcp://127.0.0.1:PORT``
    (``engine.socket_path`` / ``engine.address`` too).  ``listen()`` then
    ``serve_forever()`` serves from the calling thread instead.
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
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._done = threading.Event()
        self._loop_thread: int | None = None
        self._connections: set[_Connection] = set()

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
        """Binds and listens (clients may connect from here on; they are served once running)."""
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
        """Serves from a daemon thread; returns once the event loop is accepting."""
        self.listen()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        self._ready.wait(timeout=10)

    def serve_forever(self) -> None:
        """Serves from the calling thread until :meth:`stop` (or KeyboardInterrupt)."""
        listener = self._listener or self.listen()
        asyncio.run(self._serve(listener))

    def stop(self) -> None:
        """Stops serving (from any thread) and waits until the event loop has let go."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not self._done.is_set():
            with contextlib.suppress(RuntimeError):  # the loop finished meanwhile
                loop.call_soon_threadsafe(stop.set)
            if threading.get_ident() != self._loop_thread:
                self._done.wait(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()  # after the loop: it must not see the fd vanish
        if self._tmp is not None:
            self._tmp.cleanup()

    async def _serve(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        self._loop, self._stop = loop, asyncio.Event()
        self._loop_thread = threading.get_ident()
        factory = lambda: _Connection(self)  # noqa: E731
        if listener.family == socket.AF_UNIX:
            server = await loop.create_unix_server(factory, sock=listener, backlog=1024)
        else:
            server = await loop.create_server(factory, sock=listener, backlog=1024)
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            server.close()
            for connection in list(self._connections):
                connection.abort()
            self._done.set()


class _Connection(asyncio.Protocol):
    """One client connection: the sans-IO ServerConnection, driven by transport callbacks."""

    def __init__(self, engine: StubEngine) -> None:
        self.engine = engine
        self.conn = ServerConnection(engine.script)
        self.transport: asyncio.Transport | None = None
        self.state = REQUEST
        self.reply: Reply | None = None
        self.body: Iterator[bytes] = iter(())
        self.paused = False  # the transport's buffer is above WRITE_HIGH
        self.timer: asyncio.Handle | None = None  # the pump, when scheduled (pace or resume)
        self.started = 0.0
        self.sent = 0
        self.eof = False  # the client half-closed
        self.stdin = bytearray()  # attach stdin that arrived while the output was written

    # --- transport callbacks -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=WRITE_HIGH, low=WRITE_LOW)
        self.engine._connections.add(self)
        self.engine.stats.connections += 1

    def data_received(self, data: bytes) -> None:
        if self.state == ECHO:
            self._write(self._hijack().echo(data))
        elif self.state == REQUEST:
            self.conn.receive_data(data)
            self._next()
        elif self.state == BODY:
            # During a reply: attach stdin (kept for the echo) or a pipelined request
            # (kept by h11); whatever follows waits in the kernel until the reply is done.
            if self.reply is not None and self.reply.hijack is not None:
                self.stdin += data
            else:
                self.conn.receive_data(data)
            self._transport().pause_reading()
        # HOLD: the client only ends a followed stream by closing; what it sends is dropped

    def eof_received(self) -> bool:
        self.eof = True
        if self.state == ECHO:
            self._half_close()
        elif self.state == REQUEST:
            self.conn.receive_data(b"")
            self._next()
        elif self.state == HOLD:
            return False  # the transport closes
        return True  # BODY: finish writing; the EOF is handled after it

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        # Not pumped here: the transport calls this from inside its own write-ready
        # handler, and closing the transport there (a body that ends) makes CPython 3.11
        # call connection_lost twice.  The timer slot also keeps a second pump from starting.
        self.paused = False
        if self.state == BODY and self.timer is None:
            self.timer = asyncio.get_running_loop().call_soon(self._pump)

    def connection_lost(self, exc: Exception | None) -> None:
        self.state = GONE
        if self.timer is not None:
            self.timer.cancel()
        self.engine._connections.discard(self)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # --- requests and replies ------------------------------------------------------------

    def _next(self) -> None:
        """Takes the next complete request's reply and starts writing it."""
        reply = self.conn.next_reply()
        if reply == NEED_DATA:
            self.state = REQUEST
            self._transport().resume_reading()
        elif reply == CLOSED or not isinstance(reply, Reply):
            self._transport().close()
        else:
            self._start(reply)

    def _start(self, reply: Reply) -> None:
        self.state, self.reply, self.body = BODY, reply, iter(reply.body)
        self._write(reply.head)
        loop = asyncio.get_running_loop()
        self.started, self.sent = loop.time() + reply.delay, 0
        if reply.delay > 0:
            self.timer = loop.call_later(reply.delay, self._pump)
        else:
            self._pump()

    def _pump(self) -> None:
        """Writes body pieces until the transport pushes back, the pace says wait, or the end."""
        self.timer = None
        loop = asyncio.get_running_loop()
        rate = self.reply.rate if self.reply is not None else None
        while not self.paused and self.state == BODY:
            if rate:
                delay = self.started + self.sent / rate - loop.time()
                if delay > 0:
                    self.timer = loop.call_later(delay, self._pump)
                    return
            try:
                piece = next(self.body, None)
            except Exception:
                self.abort()  # a broken script: the client sees a cut stream, as from a crash
                raise
            if piece is None:
                self._finish()
                return
            self._write(piece)
            self.sent += len(piece)
            self.engine.stats.add(len(piece))

    def _finish(self) -> None:
        """After a body: echo for attach, hold a followed stream, or end the reply."""
        reply = self.reply
        assert reply is not None
        if reply.hijack is not None:
            self._echo(reply.hijack)
        elif reply.hold_open:
            self.state = HOLD
            if self.eof:
                self._transport().close()
            else:
                self._transport().resume_reading()  # to see the client's EOF
        else:
            self._write(reply.end)
            if not reply.keep_alive or not self.conn.reply_done():
                self._transport().close()
                return
            self.state = REQUEST
            if self.eof:
                self.conn.receive_data(b"")
            self._next()

    def _echo(self, hijack: Hijack) -> None:
        """Attach: stdin comes back as stdout until its EOF (no stdin: half-close now)."""
        if not hijack.echo_stdin:
            self._half_close()
            return
        self.state = ECHO
        early = hijack.early_stdin + bytes(self.stdin)
        self.stdin.clear()
        if early:
            self._write(hijack.echo(early))
        if self.eof:
            self._half_close()
        else:
            self._transport().resume_reading()

    def _half_close(self) -> None:
        transport = self._transport()
        if transport.can_write_eof():
            transport.write_eof()
        transport.close()

    # --- helpers -------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        transport = self._transport()
        if data and not transport.is_closing():
            transport.write(data)

    def _transport(self) -> asyncio.Transport:
        assert self.transport is not None
        return self.transport

    def _hijack(self) -> Hijack:
        assert self.reply is not None and self.reply.hijack is not None
        return self.reply.hijack


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
