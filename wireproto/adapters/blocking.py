"""The blocking-socket adapter: runs exchanges over unix://, tcp:// and TLS.

Strategy: one loop moves bytes (``_Driver``): write what the exchange wants
sent, ``recv_into`` one reusable buffer, feed a view of it, drain events.
The exchange copies whatever it keeps, so the buffer is reused without a
copy per read.  Keep-alive: a connection whose exchange ended ``reusable``
is kept for the next call; if the engine closed it meanwhile (no response
byte came back), the call is retried once on a fresh connection.
Hijacked calls give a :class:`Session`: send stdin, half-close it, and
iterate over the output until the engine closes the stream.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

from wireproto._sinks import Sinks
from wireproto.adapters._common import (
    DEFAULT_HOST,
    DEFAULT_TIMEOUT,
    RECV_SIZE,
    Address,
    Gather,
    Reply,
    StdinWire,
    Wire,
    WSWire,
    answer_to_unsent,
    bounded,
    is_stale,
    is_stream,
    parse_host,
    peer_gone,
    settings,
    tls_context,
)
from wireproto.errors import ConnectionClosed, EngineUnreachable
from wireproto.exchange import (
    NEED_DATA,
    PAUSED,
    EndOfMessage,
    Event,
    Exchange,
    Output,
    Sentinel,
)
from wireproto.http import Call, Response
from wireproto.negotiation import Negotiation
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


W = TypeVar("W", bound=Wire)
S = TypeVar("S", bound=StdinWire)


class _Driver(Generic[W]):
    """Moves bytes between one socket and one exchange (or WebSocket).

    ``timeout`` starts a deadline for every read and write until
    ``unbound()`` (a stream whose head came may idle).  A write the engine
    refused (it stopped reading, or closed) is kept in ``send_error`` and
    does not stop the reading: what the engine sent before is still read.
    """

    def __init__(
        self,
        sock: socket.socket,
        exchange: W,
        read_delay: float = 0.0,
        timeout: float | None = None,
    ) -> None:
        self.sock = sock
        self.exchange = exchange
        self.received = 0
        self.read_delay = read_delay
        self.timeout = timeout
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.send_error: OSError | None = None
        self._buffer = bytearray(RECV_SIZE)
        self._view = memoryview(self._buffer)

    def unbound(self) -> None:
        """No deadline from now on (a stream may idle as long as it likes)."""
        self.deadline = None
        self.sock.settimeout(None)

    def _arm(self) -> None:
        """Sets the socket's timeout to what is left of the deadline."""
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no answer within {self.timeout} seconds")
            self.sock.settimeout(left)

    def flush(self) -> None:
        while out := self.exchange.data_to_send():
            try:
                self._arm()
                self.sock.sendall(out)
            except OSError as exc:
                if peer_gone(exc):
                    self.send_error = exc
                else:
                    self.exchange.send_failed()
                if isinstance(exc, TimeoutError):
                    raise self._timeout(exc) from exc
                raise

    def _timeout(self, exc: TimeoutError) -> TimeoutError:
        """The deadline's TimeoutError, saying which timeout ran out."""
        if self.deadline is None:
            return exc
        return TimeoutError(f"no answer within {self.timeout} seconds")

    def events(self) -> Iterator[Event]:
        exchange = self.exchange
        while True:
            event = exchange.next_event()
            if event is NEED_DATA:
                self._fill()
            elif event is PAUSED:
                return
            else:
                assert not isinstance(event, Sentinel)
                yield event
                if isinstance(event, EndOfMessage):
                    return

    def head(self, events: Iterator[Event]) -> Event:
        """Sends the request and reads the head: an error reply the engine sent
        while refusing the rest of the request is the answer too."""
        try:
            self.flush()
        except OSError as exc:
            if not peer_gone(exc):
                raise
            try:
                return answer_to_unsent(next(events), exc)
            except ConnectionClosed as closed:
                if closed.received:
                    raise
                raise exc from closed
        return next(events)

    def _fill(self) -> None:
        try:
            self._arm()
            count = self.sock.recv_into(self._buffer)
        except ConnectionResetError:
            count = 0  # a reset ends the stream; the exchange says what was cut
        except TimeoutError as exc:
            raise self._timeout(exc) from exc
        self.received += count
        self.exchange.receive_data(self._view[:count] if count else b"")
        if self.read_delay and 0 < count < RECV_SIZE // 4:
            # Bulk reads of a slow producer: let bytes pile up, one read for many chunks.
            time.sleep(self.read_delay)


class Client:
    """A connection (kept alive between calls) to one engine.

    ``host`` defaults to ``$DOCKER_HOST``, else the local unix socket.
    ``timeout`` (seconds, None for no limit) bounds connecting, then, as one
    deadline, sending the request and receiving the whole response head;
    for a call whose reply is small (EMPTY, DOCUMENT, BYTES bodies: inspect,
    version, ...) the deadline covers the whole response.  Streams (logs,
    attach, exec, events, pull/push/build progress, tar downloads) may stay
    silent as long as they like once their head came.  TimeoutError (the
    builtin) when it runs out.  ``wait`` blocks until a container stops:
    run it with ``begin``/``Pending.result``, which waits as long as asked.
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
        resolved = settings(host, os.environ if environ is None else environ, tls)
        self.host = resolved.host
        self.tls = resolved.tls
        self.address = resolved.address
        self.timeout = timeout
        self.backend = backend
        self.api_version: ApiVersion | None = None
        self._idle: socket.socket | None = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._idle is not None:
            self._idle.close()
            self._idle = None

    # --- connections --------------------------------------------------------

    def connect(self) -> socket.socket:
        """A new connection to the engine; EngineUnreachable when there is none."""
        address = self.address
        try:
            if address.unix_path is not None:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self.timeout)
                try:
                    sock.connect(address.unix_path)
                except BaseException:
                    sock.close()
                    raise
            else:
                sock = socket.create_connection((address.host, address.port), self.timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if self.tls is not None:
                    sock = self.tls.wrap_socket(sock, server_hostname=address.host)
        except (OSError, ssl.SSLError) as exc:
            raise EngineUnreachable(self.host, exc.strerror or str(exc)) from exc
        return sock

    def _checkout(self) -> tuple[socket.socket, bool]:
        if self._idle is not None:
            sock, self._idle = self._idle, None
            return sock, True
        return self.connect(), False

    def _checkin(self, driver: _Driver[Exchange]) -> None:
        reusable = driver.exchange.reusable and driver.send_error is None
        if reusable and self._idle is None:
            self._idle = driver.sock
        else:
            driver.sock.close()

    def _open(
        self, call: Call, sinks: Sinks | None, read_delay: float
    ) -> tuple[_Driver[Exchange], Iterator[Event], Event]:
        """Sends ``call`` and reads its head, retrying once on a stale kept-alive socket."""
        replayable = not is_stream(call)
        while True:
            sock, reused = self._checkout()
            exchange = Exchange(
                call, host=self.address.host_header, sinks=sinks, backend=self.backend
            )
            driver = _Driver(sock, exchange, read_delay, self.timeout)
            events = driver.events()
            try:
                head = driver.head(events)
            except (ConnectionClosed, OSError) as exc:
                sock.close()
                if reused and replayable and driver.received == 0 and is_stale(exc):
                    continue
                raise
            except BaseException:
                sock.close()
                raise
            assert isinstance(head, Response)
            if head.status < 400 and (head.hijacked or not bounded(call)):
                driver.unbound()  # streams may idle: no timeout once they started
            return driver, events, head

    # --- calls ------------------------------------------------------------------

    def stream(
        self, call: Call, *, sinks: Sinks | None = None, read_delay: float = 0.0
    ) -> Iterator[Event]:
        """Runs ``call``, yielding its events (the Response head first).

        ``read_delay`` (seconds) lets bytes accumulate after a short read: for
        reading a finished container's logs, far fewer reads and wakeups.
        """
        driver, events, head = self._open(call, sinks, read_delay)
        finished = False
        try:
            yield head
            yield from events
            finished = True
        finally:
            if finished:
                self._checkin(driver)
            else:
                driver.sock.close()

    def request(self, call: Call) -> Reply:
        """Runs ``call`` to its end and gathers what it gave."""
        gather = Gather()
        for event in self.stream(call):
            gather.add(event)
        return gather.reply()

    def begin(self, call: Call) -> Pending:
        """Sends ``call`` on a connection of its own; read its reply later."""
        return Pending(self, call)

    def hijack(self, call: Call, *, sinks: Sinks | None = None) -> Session:
        """Runs a hijacking call (attach, exec start): a Session over the stream.

        An error reply raises its APIError here.
        """
        driver, events, head = self._open(call, sinks, 0.0)
        assert isinstance(head, Response)
        if not head.hijacked and head.status >= 400:
            try:
                for _ in events:
                    pass
            finally:
                driver.sock.close()
        return Session(driver, events, head)

    def attach_ws(self, call: Call) -> WSSession:
        """Runs an ``attach_ws`` call: a WSSession over the WebSocket.

        An error reply (no 101) raises its APIError here.
        """
        sock = self.connect()
        wire = WSWire(WSAttach(call, host=self.address.host_header))
        driver = _Driver(sock, wire, timeout=self.timeout)
        events = driver.events()
        try:
            head = driver.head(events)
        except BaseException:
            sock.close()
            raise
        assert isinstance(head, Response)
        driver.unbound()  # the stream may idle
        return WSSession(driver, events, head)

    def negotiate(self, pinned: ApiVersion | None = None) -> ApiVersion | None:
        """Settles the API version (see :mod:`wireproto.versions`); sets ``api_version``."""
        negotiation = Negotiation(pinned)
        while (call := negotiation.next_call()) is not None:
            with negotiation.answering():
                negotiation.receive(self.request(call))
        self.api_version = negotiation.version
        return self.api_version


class Pending:
    """A call sent on its own connection, whose reply is read later (``result``)."""

    def __init__(self, client: Client, call: Call) -> None:
        self._sock = client.connect()
        exchange = Exchange(call, host=client.address.host_header, backend=client.backend)
        self._driver = _Driver(self._sock, exchange)
        try:
            self._driver.flush()
        except BaseException:
            self._sock.close()
            raise

    def result(self, timeout: float | None = None) -> Reply:
        """Waits for the reply (forever by default); APIError for an error status."""
        self._sock.settimeout(timeout)
        gather = Gather()
        try:
            for event in self._driver.events():
                gather.add(event)
        finally:
            self._sock.close()
        return gather.reply()

    def close(self) -> None:
        self._sock.close()


def shut_write(sock: socket.socket) -> None:
    """Half-closes ``sock``: a TCP FIN, with any TLS layer kept for reading on.

    Over TLS this is what the docker CLI does (its hijack's CloseWrite on the
    raw connection, no close_notify), and the engine's Go TLS reads a FIN at
    a record boundary as the end of stdin.  ``SSLSocket.shutdown`` would drop
    the TLS layer (CPython clears it), leaving the output unreadable, hence
    the base class's method.
    """
    socket.socket.shutdown(sock, socket.SHUT_WR)


class _StdinSession(Generic[S]):
    """What a hijacked and a WebSocket session share: stdin writes serialised
    by a lock (``send`` may run in another thread than the one iterating),
    and a socket closed at the end."""

    def __init__(self, driver: _Driver[S], events: Iterator[Event], response: Response) -> None:
        self.response = response
        self._driver = driver
        self._events = events
        self._lock = threading.Lock()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        """Writes ``data`` to the container's stdin."""
        with self._lock:
            self._driver.exchange.send_stdin(data)
            self._driver.flush()

    def close(self) -> None:
        self._driver.sock.close()


class Session(_StdinSession[Exchange]):
    """A hijacked stream: ``send`` stdin, ``close_stdin``, iterate the output.

    ``send`` and ``close_stdin`` may be called from another thread than the
    one iterating (``forward_stdin`` does exactly that).
    """

    def __init__(
        self, driver: _Driver[Exchange], events: Iterator[Event], response: Response
    ) -> None:
        super().__init__(driver, events, response)
        self._shut = False
        self.stdin_error: OSError | None = None

    def __enter__(self) -> Session:
        return self

    def close_stdin(self) -> None:
        """Ends stdin: shuts the socket's write side once every byte is out."""
        with self._lock:
            self._driver.exchange.end_stdin()
            self._driver.flush()
            if self._driver.exchange.stdin_closed and not self._shut:
                self._shut = True
                with contextlib.suppress(OSError):
                    shut_write(self._driver.sock)

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

    def events(self) -> Iterator[Event]:
        """The stream's events: Output pieces (unless sinks took them), then EndOfMessage."""
        yield from self._events

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        """``(stream, bytes)`` output pieces until the engine closes the stream."""
        for event in self._events:
            if isinstance(event, Output):
                for stream, piece in event.pieces:
                    yield stream, bytes(piece)


class WSSession(_StdinSession[WSWire]):
    """A WebSocket attach: ``send`` stdin, ``close_stdin`` (a close frame), iterate the output.

    Pongs and the echo of the engine's close frame go out as soon as the
    events that asked for them are read.
    """

    def __init__(
        self, driver: _Driver[WSWire], events: Iterator[Event], response: Response
    ) -> None:
        super().__init__(driver, events, response)
        self.ws = driver.exchange.ws

    def __enter__(self) -> WSSession:
        return self

    def close_stdin(self) -> None:
        """Sends the close frame that ends stdin (a WebSocket cannot half-close)."""
        with self._lock:
            self._driver.exchange.end_stdin()
            self._driver.flush()

    def events(self) -> Iterator[Event]:
        """Output pieces, then EndOfMessage once the engine closed the WebSocket."""
        for event in self._events:
            self._send_replies()
            yield event

    def _send_replies(self) -> None:
        """Sends the pongs and the close echo the events asked for.  An engine that
        has gone needs neither: its output is still read to the end."""
        try:
            with self._lock:
                self._driver.flush()
        except OSError as exc:
            if not peer_gone(exc):
                raise
