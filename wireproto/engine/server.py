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
until the client half-closes, then half-closes too; stdin is read only as
fast as the client reads the echo (the same high/low-water marks).

A client's fault (a malformed request, a head that never completes, leaving
mid-stream) costs its own connection and one log line on the
``wireproto.engine`` logger, never the server.  A unix socket path is taken
only when nothing is there or a stale socket (one refusing connections) is:
never a file, a directory, or a live engine's socket; the server removes at
shutdown only the socket it bound, if that is still the one at the path.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import secrets
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator

from wireproto.engine.messages import Hijack, Reply
from wireproto.engine.protocol import CLOSED, ServerConnection
from wireproto.engine.script import Script
from wireproto.engine.world import MODERN, Received, World
from wireproto.sentinel import NEED_DATA
from wireproto.versions import ApiVersion

# The transport's write buffer limits: above HIGH the pump pauses, below LOW it
# resumes.  Small, because a thousand connections may each hold this much (the
# kernel's socket buffer, a few hundred KiB, is the real queue).
WRITE_HIGH = 128 * 1024
WRITE_LOW = 32 * 1024

# What a connection is doing: reading a request, writing a reply body, holding a
# followed stream open until the client goes, echoing attach stdin, or gone.
# FEED: writing what a reply's feed brings as the world changes (live output, a wait's answer).
REQUEST, BODY, HOLD, ECHO, FEED, GONE = "request", "body", "hold", "echo", "feed", "gone"

# Seconds a request head may take to arrive in full (Go's ReadHeaderTimeout): from the
# connection's start for its first request, from the first byte for later ones.
HEADER_TIMEOUT = 10.0

log = logging.getLogger("wireproto.engine")


class SocketPathTaken(FileExistsError):
    """The unix socket path holds something the stub must not take over."""


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
    ``serve_forever()`` serves from the calling thread instead.  It answers as an
    engine of ``api_version`` would (1.0 to 1.12, or 1.41); ``world`` is its state
    and ``received`` every request it dispatched.
    """

    def __init__(
        self,
        script: Script | None = None,
        *,
        api_version: ApiVersion = MODERN,
        socket_path: str | None = None,
        tcp: tuple[str, int] | None = None,
        header_timeout: float = HEADER_TIMEOUT,
    ) -> None:
        self.script = script or Script()
        self.api_version = api_version
        self.world = World.from_script(self.script, api_version=api_version)
        self.header_timeout = header_timeout
        self._bound: tuple[int, int] | None = None  # (st_dev, st_ino) of the socket we bound
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
        self._stop_asked = False  # stop_soon came before the loop was running
        self._loop_thread: int | None = None
        self._connections: set[_Connection] = set()

    @property
    def received(self) -> list[Received]:
        """Every request dispatched so far, oldest first (see ``world.Received``)."""
        return self.world.journal

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
            listener = bind_unix_socket(self.socket_path)
            bound = os.stat(self.socket_path)
            self._bound = (bound.st_dev, bound.st_ino)
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
        self._remove_own_socket()
        if self._tmp is not None:
            self._tmp.cleanup()

    def stop_soon(self) -> None:
        """Asks the event loop to stop (safe from a signal handler); serve_forever returns."""
        self._stop_asked = True
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop finished meanwhile
                loop.call_soon_threadsafe(stop.set)

    def _remove_own_socket(self) -> None:
        """Unlinks the socket path if it is still the socket this server bound."""
        if self._bound is None or self.socket_path is None:
            return
        bound, self._bound = self._bound, None
        with contextlib.suppress(FileNotFoundError):
            now = os.lstat(self.socket_path)
            if (now.st_dev, now.st_ino) == bound:
                os.unlink(self.socket_path)

    async def _serve(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        self._loop, self._stop = loop, asyncio.Event()
        self._loop_thread = threading.get_ident()
        self.world.scheduler = loop.call_later  # containers' timers (sleep N) on this loop
        if self._stop_asked:
            self._stop.set()
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


def bind_unix_socket(path: str) -> socket.socket:
    """A unix socket bound at ``path``, taken only when nothing or a stale socket is there.

    Raises SocketPathTaken for anything else: a file, a directory, a link, or a
    socket something still listens on (another engine's), including one that
    appears while the path is being claimed.  The socket is bound under a
    temporary name in the same directory and then hard-linked to ``path``: a
    link never replaces what is there (EEXIST), so nothing that took the path
    meanwhile is lost (see :func:`_bury` for the stale socket's removal).
    """
    stale = _stale_socket(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    temporary = _sibling(path)
    try:
        listener.bind(temporary)
        try:
            if stale is not None:
                _bury(path, stale)
            try:
                os.link(temporary, path)
            except FileExistsError:
                raise SocketPathTaken(
                    errno.EADDRINUSE, "something took the path while it was being claimed", path
                ) from None
        finally:
            os.unlink(temporary)  # our own name for it: the socket lives on at ``path``
    except BaseException:
        listener.close()
        raise
    return listener


def _stale_socket(path: str) -> tuple[int, int] | None:
    """The identity (see :func:`_identity`) of a stale socket at ``path``; None: nothing there.

    Raises SocketPathTaken for anything that is not a socket refusing connections.
    """
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISSOCK(found.st_mode):
        raise SocketPathTaken(errno.EEXIST, "exists and is not a socket; not removing it", path)
    try:
        refused = _refuses(path)
    except OSError as exc:  # e.g. a full backlog (EAGAIN): someone is there
        raise SocketPathTaken(
            errno.EADDRINUSE, f"a socket that may be live ({exc}); not taking it over", path
        ) from None
    if not refused:
        raise SocketPathTaken(errno.EADDRINUSE, "a live socket (something listens on it)", path)
    return _identity(found)  # a stale socket: its server is gone


def _refuses(path: str) -> bool:
    """True when the socket at ``path`` refuses a connection, False when one is accepted."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(path)
        except ConnectionRefusedError:
            return True
    return False


def _identity(found: os.stat_result) -> tuple[int, int]:
    return found.st_dev, found.st_ino


def _bury(path: str, stale: tuple[int, int]) -> None:
    """Removes the stale socket ``stale`` from ``path``, and nothing else.

    Checking the inode and then unlinking the path would remove whatever replaced
    the stale socket in between.  Instead the path is first renamed away (one
    atomic step, whatever is there), and what was moved is looked at: the stale
    socket is unlinked; anything else
    (a server that removed the stale socket and bound its own after the probe) is
    linked back to ``path`` untouched.  The moved file is the stale one when it is
    the same inode *and* still refuses connections: an inode number freed by the
    stale socket's unlink may be given at once to the socket bound after it.
    """
    grave = _sibling(path)
    try:
        os.rename(path, grave)
    except FileNotFoundError:
        return  # already gone
    if _identity(os.lstat(grave)) == stale and _still_refuses(grave):
        os.unlink(grave)
        return
    try:
        os.link(grave, path)
    except FileExistsError:
        raise SocketPathTaken(
            errno.EADDRINUSE, f"a socket that took the path meanwhile is now at {grave}", path
        ) from None
    os.unlink(grave)  # its other name: the socket is back at ``path``
    raise SocketPathTaken(errno.EADDRINUSE, "a socket took the path while it was claimed", path)


def _still_refuses(path: str) -> bool:
    try:
        return _refuses(path)
    except OSError:
        return False  # may be live: keep it


def _sibling(path: str) -> str:
    """A fresh name in ``path``'s directory (short: unix socket paths are 107 bytes at most)."""
    directory = os.path.dirname(path) or "."
    return os.path.join(directory, f".wp-{secrets.token_hex(6)}")


class _Connection(asyncio.Protocol):
    """One client connection: the sans-IO ServerConnection, driven by transport callbacks."""

    def __init__(self, engine: StubEngine) -> None:
        self.engine = engine
        self.conn = ServerConnection(engine.world)
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
        self.head_timer: asyncio.TimerHandle | None = None  # closes a head that never completes
        self.number = 0  # names the connection in log lines, from connection_made on

    # --- transport callbacks -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=WRITE_HIGH, low=WRITE_LOW)
        self.engine._connections.add(self)
        self.engine.stats.connections += 1
        self.number = self.engine.stats.connections
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        if self.state == FEED:
            self._to_stdin(data)
        elif self.state == ECHO:
            self._write(self._hijack().echo(data))
            if self.paused:  # the client is not reading the echo: stop reading its stdin
                self._transport().pause_reading()
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
        if self.state == FEED:
            return self._feed_eof()
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
        elif self.state in (ECHO, FEED) and not self.eof:
            self._transport().resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None and self.state != GONE:
            self._log(f"the client left during {self.state}: {exc}")
        self.state = GONE
        for timer in (self.timer, self.head_timer):
            if timer is not None:
                timer.cancel()
        if self.reply is not None and self.reply.feed is not None:
            self.reply.feed.on_wake = None
            self.reply.feed.closed_by_client()
        self.engine._connections.discard(self)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    # --- requests and replies ------------------------------------------------------------

    def _next(self) -> None:
        """Takes the next complete request's reply and starts writing it."""
        reply = self.conn.next_reply()
        if reply is NEED_DATA:
            self.state = REQUEST
            self._transport().resume_reading()
            if self.conn.head_incomplete:
                self._arm_head_timer()
            else:  # the head is in (the body is coming), or an idle keep-alive connection
                self._disarm_head_timer()
        elif reply is CLOSED or not isinstance(reply, Reply):
            self._transport().close()
        else:
            self._start(reply)

    def _arm_head_timer(self) -> None:
        if self.head_timer is None:
            loop = asyncio.get_running_loop()
            self.head_timer = loop.call_later(self.engine.header_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.state == REQUEST:
            timeout = self.engine.header_timeout
            self._log(f"closed: no complete request head within {timeout:g} s")
            self.state = GONE
            self._transport().close()

    def _start(self, reply: Reply) -> None:
        self._disarm_head_timer()
        if reply.fault:
            self._log(reply.fault)
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
        while not self.paused and self.state == BODY and not self._transport().is_closing():
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
        if reply.feed is not None and self.state != FEED:
            self._start_feed(reply)
        elif reply.hijack is not None and reply.feed is not None:
            self._half_close()
        elif reply.hijack is not None:
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
            # From the loop, not from here: pipelined requests would recurse once each.
            asyncio.get_running_loop().call_soon(self._next_if_waiting)

    def _start_feed(self, reply: Reply) -> None:
        """After the body: write what the feed brings until it ends; stdin goes to the sink."""
        assert reply.feed is not None
        self.state = FEED
        reply.feed.on_wake = self._wake_feed
        hijack = reply.hijack
        if hijack is not None and hijack.stdin is not None:
            early = hijack.early_stdin + bytes(self.stdin)
            self.stdin.clear()
            if early:
                hijack.stdin.write(early)
            if self.eof:
                hijack.stdin.close()
        if not self.eof:
            self._transport().resume_reading()  # stdin, or the client's EOF
        self._drain_feed()

    def _wake_feed(self) -> None:
        # From the loop, not from the world's call: the world may be inside another
        # connection's handler, and the drain may end this reply.
        if self.timer is None:
            self.timer = asyncio.get_running_loop().call_soon(self._drain_feed)

    def _drain_feed(self) -> None:
        self.timer = None
        reply = self.reply
        if self.state != FEED or reply is None or reply.feed is None:
            return
        self._write(reply.feed.take())
        if reply.feed.ended and not reply.feed.pending:
            reply.feed.on_wake = None
            self._finish()

    def _to_stdin(self, data: bytes) -> None:
        reply = self.reply
        if reply is not None and reply.hijack is not None and reply.hijack.stdin is not None:
            reply.hijack.stdin.write(data)
        # else: a followed stream or a wait: the client only ends it by closing

    def _feed_eof(self) -> bool:
        reply = self.reply
        if reply is not None and reply.hijack is not None:
            if reply.hijack.stdin is not None:
                reply.hijack.stdin.close()
            return True  # the output goes on until the container (or exec) ends
        return False  # a followed stream or a wait: the client left, close

    def _next_if_waiting(self) -> None:
        if self.state == REQUEST:  # data_received may have started the next reply meanwhile
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
        elif not self.paused:
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

    def _log(self, message: str) -> None:
        log.warning("connection %d: %s", self.number, message)

    def _transport(self) -> asyncio.Transport:
        assert self.transport is not None
        return self.transport

    def _hijack(self) -> Hijack:
        assert self.reply is not None and self.reply.hijack is not None
        return self.reply.hijack


class StubEngineProcess:
    """The stub engine in a subprocess (``wireproto serve``): no GIL shared with the client."""

    def __init__(
        self,
        socket_path: str | None = None,
        extra: Iterable[str] = (),
        stderr: int | None = None,
    ) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        if socket_path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="wireproto-stub-")
            socket_path = os.path.join(self._tmp.name, "docker.sock")
        self.socket_path = socket_path
        self.extra = list(extra)
        self.stderr = stderr  # where its log goes (subprocess's stderr argument)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"unix://{self.socket_path}"

    def __enter__(self) -> StubEngineProcess:
        argv = [sys.executable, "-m", "wireproto", "serve", "--socket", self.socket_path]
        argv += self.extra
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.stderr)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith(b"listening"):
            self.proc.kill()
            raise RuntimeError(f"the stub engine did not start: {line!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        # SIGTERM: the server stops and removes its own socket (only that one).
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        if self._tmp is not None:
            self._tmp.cleanup()
