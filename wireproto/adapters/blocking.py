"""The blocking-socket adapter: the client of :mod:`._async`, run in the calling thread.

Strategy: the client is written once, in :mod:`._async`; here a
:class:`Connection` does blocking socket I/O inside ``async def`` methods
that never suspend, so every coroutine of that client runs to its end in
one step (``_run``): no event loop, no thread.  A deadline
(``Runtime.within``) is a context variable the connection turns into the
socket's timeout before each read and write.  Reads go into one reusable
buffer of RECV_SIZE (one thread per stream: its size costs nothing
elsewhere).  The classes below give the blocking API (iterators, a thread
that forwards stdin) over the async client's objects.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import select
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from types import TracebackType
from typing import Any, TypeVar

from wireproto.adapters import _async
from wireproto.adapters._common import (
    DEFAULT_HOST,
    DEFAULT_TIMEOUT,
    RECV_SIZE,
    Address,
    EngineSpoke,
    Reply,
    Settings,
    Wire,
    parse_host,
    peer_gone,
    tls_context,
)
from wireproto.codec.sinks import Sinks
from wireproto.errors import EngineUnreachable
from wireproto.exchange import Event, Output
from wireproto.http import Call, Response
from wireproto.versions import ApiVersion
from wireproto.ws import WSAttach

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_TIMEOUT",
    "RECV_SIZE",
    "Address",
    "Client",
    "Pending",
    "Reply",
    "Session",
    "WSSession",
    "parse_host",
    "tls_context",
]

T = TypeVar("T")
# When the operation running in this thread must be over (monotonic seconds), if ever.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline", default=None)


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine of the async client whose awaits never suspend (blocking I/O)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise RuntimeError("a blocking call suspended")


# A paced read aims at this many bytes: many log chunks per read, yet well
# under what a unix socket holds of them (its sender's buffer counts each
# small write at several times its size), so the engine never waits on us.
PACED_READ = 16 * 1024
# The longest a paced read waits (a slow stream's reads stay this frequent).
PACED_READ_WAIT = 0.005


class ReadPacer:
    """When to read next, so that each read takes about ``target`` bytes.

    Waiting after every short read (as a fixed delay does) stalls a fast
    sender once its socket buffer fills; reading at once makes one wakeup per
    chunk.  The pacer estimates the sender's rate from the last read and
    waits, before the next one, only until ``target`` bytes should be there
    (at most ``limit`` seconds); a read of ``target`` or more (we fell behind)
    means no wait at all.  Nothing is waited once the body is complete: the
    wait comes before a read, and the exchange asks for none then.
    """

    def __init__(self, limit: float, target: int = PACED_READ) -> None:
        self.limit = limit
        self.target = target
        self._last = time.monotonic()
        self._next = self._last  # when the next read should come

    def read(self, count: int) -> None:
        """A read returned ``count`` bytes: plans the next one."""
        now = time.monotonic()
        elapsed, self._last = now - self._last, now
        if count >= self.target or count <= 0 or elapsed <= 0:
            self._next = now
            return
        self._next = now + min(self.limit, self.target * elapsed / count)

    def wait(self) -> None:
        """Sleeps until the next read is due."""
        left = self._next - time.monotonic()
        if left > 0:
            time.sleep(left)


class Connection:
    """One blocking socket, as ``_async.Connection``."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.received = 0
        self.pacer: ReadPacer | None = None  # bulk reads: see ReadPacer
        self._buffer = bytearray(RECV_SIZE)
        self._view = memoryview(self._buffer)
        self._poller: select.poll | None = None

    @property
    def dead(self) -> bool:
        return False  # a stale kept-alive socket shows when used: the call is retried once

    def _arm(self) -> None:
        """Sets the socket's timeout to what is left of the deadline (none: blocks)."""
        deadline = _DEADLINE.get()
        if deadline is None:
            if self.sock.gettimeout() is not None:  # setting it is a syscall
                self.sock.settimeout(None)
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        self.sock.settimeout(left)

    async def fill(self, exchange: Wire) -> None:
        if self.pacer is not None:
            self.pacer.wait()
        self._arm()
        try:
            count = self.sock.recv_into(self._buffer)
        except ConnectionResetError:
            count = 0  # a reset ends the stream; the exchange says what was cut
        self.received += count
        if self.pacer is not None:
            self.pacer.read(count)
        exchange.receive_data(self._view[:count] if count else b"")

    async def flush(self, exchange: Wire, *, request: bool = False) -> None:
        try:
            if request:
                self._send_request(exchange)
            while out := exchange.data_to_send():
                self._arm()
                self.sock.sendall(out)
        except BaseException as exc:
            if not peer_gone(exc):  # the engine refused: what it sent is still to read
                exchange.send_failed()
            raise

    def _send_request(self, exchange: Wire) -> None:
        """Sends without blocking, waiting for room or the engine's answer, whichever comes.

        The engine can only answer once it has the head, so the first write
        goes without a poll; after that, one poll per write (which a socket
        with a timeout does anyway).  Not ``sendall``: blocked in it while the
        engine answers and closes, the write fails, and over TLS the answer
        is then lost with the TLS layer.
        """
        self.sock.settimeout(0)  # fill and the stdin writes arm the socket again
        first = True
        while out := exchange.data_to_send():
            view = memoryview(out)
            while view:
                if not first:
                    self._wait_to_send(exchange)
                first = False
                view = view[self._send_some(view) :]

    def _send_some(self, view: memoryview) -> int:
        try:
            return self.sock.send(view)
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            return 0  # TLS: try again with the same bytes once there is room

    def _wait_to_send(self, exchange: Wire) -> None:
        """Returns once the socket has room; EngineSpoke if the engine spoke first."""
        while True:
            if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
                raise EngineSpoke()
            events = self._poll(select.POLLIN | select.POLLOUT)
            if events & _SPOKE and self._answered(exchange):
                raise EngineSpoke()
            if events & select.POLLOUT:
                return

    def _poll(self, wanted: int) -> int:
        """The socket's poll events, waiting up to the deadline (TimeoutError past it)."""
        if self._poller is None:
            self._poller = select.poll()
            self._poller.register(self.sock, wanted)
        deadline = _DEADLINE.get()
        wait = None if deadline is None else max(deadline - time.monotonic(), 0.0) * 1000
        ready = self._poller.poll(wait)
        if not ready:
            raise TimeoutError("deadline passed")
        return ready[0][1]

    def _answered(self, exchange: Wire) -> bool:
        """Whether bytes that came while sending are an answer (or the end), not TLS upkeep.

        A plain socket's bytes stay in the kernel for ``fill``.  Over TLS they
        may be only a session ticket (TLS 1.3 engines send one after the
        handshake): a read without blocking tells, and what it gets goes to
        the exchange at once, nothing lost.
        """
        if not isinstance(self.sock, ssl.SSLSocket):
            return True
        try:
            count = self.sock.recv_into(self._buffer)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return False
        except ConnectionResetError:
            count = 0
        self.received += count
        exchange.receive_data(self._view[:count] if count else b"")
        return True

    async def write_eof(self) -> None:
        with contextlib.suppress(OSError):
            shut_write(self.sock)

    async def aclose(self) -> None:
        self.sock.close()


# Poll events that say the engine sent something, or closed, or reset.
_SPOKE = select.POLLIN | select.POLLHUP | select.POLLERR


def shut_write(sock: socket.socket) -> None:
    """Half-closes ``sock``: a TCP FIN, with any TLS layer kept for reading on.

    Over TLS this is what the docker CLI does (its hijack's CloseWrite on the
    raw connection, no close_notify), and the engine's Go TLS reads a FIN at
    a record boundary as the end of stdin.  ``SSLSocket.shutdown`` would drop
    the TLS layer (CPython clears it), leaving the output unreadable, hence
    the base class's method.
    """
    socket.socket.shutdown(sock, socket.SHUT_WR)


class _Lock:
    """A thread lock with the async interface (stdin may come from another thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    async def __aenter__(self) -> object:
        return self._lock.acquire()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._lock.release()


def open_socket(resolved: Settings, timeout: float | None) -> socket.socket:
    """A new connection to the engine; EngineUnreachable when there is none, TimeoutError
    when connecting (the TLS handshake included) outlasts ``timeout``."""
    address = resolved.address
    try:
        if address.unix_path is not None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(address.unix_path)
            except BaseException:
                sock.close()
                raise
        else:
            sock = socket.create_connection((address.host, address.port), timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if resolved.tls is not None:
                sock = resolved.tls.wrap_socket(sock, server_hostname=address.host)
    except TimeoutError as exc:  # an engine that is there but silent, as asyncio and trio say
        raise TimeoutError(f"no answer within {timeout} seconds") from exc
    except (OSError, ssl.SSLError) as exc:
        raise EngineUnreachable(resolved.host, exc.strerror or str(exc)) from exc
    return sock


class _Runtime:
    async def connect(self, resolved: Settings, timeout: float | None) -> Connection:
        return Connection(open_socket(resolved, timeout))

    async def within(self, timeout: float | None, run: Callable[[], Awaitable[T]]) -> T:
        if timeout is None:
            return await run()
        token = _DEADLINE.set(time.monotonic() + timeout)
        try:
            return await run()
        except TimeoutError as exc:
            raise TimeoutError(f"no answer within {timeout} seconds") from exc
        finally:
            _DEADLINE.reset(token)

    def lock(self) -> _async.Lock:
        return _Lock()


class _Client(_async.Client):
    """The async client whose new connections come from the blocking face's ``connect``."""

    runtime = _Runtime()

    def __init__(self, face: Client, **options: Any) -> None:
        super().__init__(**options)
        self._face = face

    async def connect(self) -> Connection:
        return Connection(self._face.connect())


class Client:
    """A connection (kept alive between calls) to one engine: :class:`._async.Client`,
    blocking, with one idle connection kept.

    ``host`` defaults to ``$DOCKER_HOST``, else the local unix socket.
    ``timeout`` (seconds, None for no limit) bounds connecting, then the
    request and the response's head (small replies: the whole response) as
    one deadline, as ``_async.Client`` says; streams may idle once their head
    came.  ``wait`` blocks until a container stops: run it with
    ``begin``/``Pending.result``, which waits as long as asked.
    """

    def __init__(
        self,
        host: str | None = None,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        environ: Mapping[str, str] | None = None,
        backend: str | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        environ = os.environ if environ is None else environ
        # One idle connection: a thread runs one call at a time.
        self._client = _Client(
            self, host=host, timeout=timeout, environ=environ, backend=backend, tls=tls, max_idle=1
        )
        self.host = self._client.host
        self.tls = self._client.settings.tls
        self.address = self._client.address
        self.timeout = timeout
        self.backend = backend

    @property
    def api_version(self) -> ApiVersion | None:
        return self._client.api_version

    @api_version.setter
    def api_version(self, version: ApiVersion | None) -> None:
        self._client.api_version = version

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        _run(self._client.aclose())

    def connect(self) -> socket.socket:
        """A new connection to the engine; EngineUnreachable when there is none."""
        return open_socket(self._client.settings, self.timeout)

    def stream(
        self, call: Call, *, sinks: Sinks | None = None, read_delay: float | None = None
    ) -> Iterator[Event]:
        """Runs ``call``, yielding its events (the Response head first).

        ``read_delay`` (seconds) is the most a read may wait for bytes to
        accumulate (see :class:`ReadPacer`): far fewer reads and wakeups for
        a bulk stream, at no cost in wall time.  0 reads at once (a followed
        stream, where each line should show as it comes); None (the default)
        paces a ``bulk`` call (logs that do not follow), and nothing else.
        """
        if read_delay is None:
            read_delay = PACED_READ_WAIT if call.bulk else 0.0
        stream = self._client.stream(call, sinks=sinks)
        try:
            _run(stream.__aenter__())
            conn = stream.connection
            assert isinstance(conn, Connection)
            conn.pacer = ReadPacer(read_delay) if read_delay > 0 else None
            yield from _events(stream.__anext__, StopAsyncIteration)
        finally:
            if isinstance(stream.connection, Connection):  # it may be kept for other calls
                stream.connection.pacer = None
            _run(stream.aclose())

    def request(self, call: Call) -> Reply:
        """Runs ``call`` to its end and gathers what it gave."""
        return _run(self._client.request(call))

    def begin(self, call: Call) -> Pending:
        """Sends ``call`` on a connection of its own; read its reply later."""
        return Pending(_run(self._client.begin(call)))

    def hijack(self, call: Call, *, sinks: Sinks | None = None) -> Session:
        """A Session over a hijacking call's stream (attach, exec start); APIError on error."""
        return Session(_run(self._client.hijack(call, sinks=sinks)))

    def attach_ws(self, call: Call) -> WSSession:
        """A WSSession over an ``attach_ws`` call's WebSocket; APIError if no 101 came."""
        return WSSession(_run(self._client.attach_ws(call)))

    def negotiate(self, pinned: ApiVersion | None = None) -> ApiVersion | None:
        """Settles the API version (see :mod:`wireproto.negotiation`); sets ``api_version``."""
        return _run(self._client.negotiate(pinned))


def _events(
    step: Callable[[], Coroutine[Any, Any, Event | None]], end: type[BaseException] | None = None
) -> Iterator[Event]:
    """What ``step`` gives until it returns None (or raises ``end``)."""
    while True:
        try:
            item = _run(step())
        except BaseException as exc:
            if end is not None and isinstance(exc, end):
                return
            raise
        if item is None:
            return
        yield item


class Pending:
    """A call sent on its own connection, whose reply is read later (``result``)."""

    def __init__(self, pending: _async.Pending) -> None:
        self._pending = pending

    def result(self, timeout: float | None = None) -> Reply:
        """Waits for the reply (forever by default); APIError for an error status."""
        return _run(self._pending.result(timeout))

    def close(self) -> None:
        _run(self._pending.aclose())


class _StdinSession:
    """What a hijacked and a WebSocket session share: ``send`` and ``close_stdin``
    may run in another thread than the one iterating."""

    def __init__(self, session: _async.Session | _async.WSSession) -> None:
        self.response: Response = session.response
        self._session = session

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        """Writes ``data`` to the container's stdin."""
        _run(self._session.send(data))

    def close_stdin(self) -> None:
        """Ends stdin: a half-close (hijacked stream) or a close frame (WebSocket)."""
        _run(self._session.close_stdin())

    def events(self) -> Iterator[Event]:
        """The stream's events: Output pieces (unless sinks took them), then EndOfMessage."""
        return _events(self._session.next_event)

    def close(self) -> None:
        _run(self._session.aclose())


class Session(_StdinSession):
    """A hijacked stream: ``send`` stdin, ``close_stdin``, iterate the output.

    ``send`` and ``close_stdin`` may be called from another thread than the
    one iterating (``forward_stdin`` does exactly that).
    """

    def __init__(self, session: _async.Session) -> None:
        super().__init__(session)
        self.stdin_error: OSError | None = None

    def __enter__(self) -> Session:
        return self

    def forward_stdin(self, fd: int) -> threading.Thread:
        """Copies ``fd`` to stdin in a daemon thread, then half-closes at its EOF."""
        thread = threading.Thread(target=self._forward, args=(fd,), daemon=True)
        thread.start()
        return thread

    def _forward(self, fd: int) -> None:
        try:
            while data := os.read(fd, 65536):
                self.send(data)
            self.close_stdin()
        except OSError as exc:  # the stream closed under us, or stdin failed
            self.stdin_error = exc

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        """``(stream, bytes)`` output pieces until the engine closes the stream."""
        for event in self.events():
            if isinstance(event, Output):
                for stream, piece in event.pieces:
                    yield stream, bytes(piece)


class WSSession(_StdinSession):
    """A WebSocket attach: ``send`` stdin, ``close_stdin`` (a close frame), iterate the output.

    Pongs and the echo of the engine's close frame go out as soon as the
    events that asked for them are read.
    """

    def __init__(self, session: _async.WSSession) -> None:
        super().__init__(session)
        self.ws: WSAttach = session.ws

    def __enter__(self) -> WSSession:
        return self
