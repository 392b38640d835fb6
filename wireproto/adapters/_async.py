"""The client, written once for asyncio, trio and blocking sockets: calls, streams, sessions.

Strategy: everything that is the same under every adapter lives here, over
two small interfaces an adapter provides (the blocking one runs these
coroutines in one step each: its I/O never suspends).  A :class:`Connection` moves
bytes for one exchange (``fill``: one read fed to the exchange, ``b""`` at
EOF; ``flush``: write all that ``data_to_send`` gives, calling
``send_failed`` on any failure, cancellation included; ``write_eof``;
``aclose``).  A :class:`Runtime` connects, bounds a coroutine by a timeout
(raising the builtin ``TimeoutError`` as the blocking adapter does) and
makes locks.  The loop itself is the blocking adapter's: write what the
exchange wants sent, read, feed, hand out events; keep-alive and the
stale-connection retry follow the rules of :mod:`._common`.

Any exception while a call runs, a cancellation or a timeout included,
closes its connection at once: a half-read response can never be reused.
"""

from __future__ import annotations

import functools
import os
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Generic, Protocol, TypeVar

from wireproto.adapters._common import (
    DEFAULT_TIMEOUT,
    Gather,
    Reply,
    Settings,
    StdinWire,
    Wire,
    WSWire,
    answer_to_unsent,
    bounded,
    is_stale,
    is_stream,
    peer_gone,
    settings,
)
from wireproto.codec.sinks import Sinks
from wireproto.errors import ConnectionClosed, RequestCut
from wireproto.exchange import EndOfMessage, Event, Exchange, Output
from wireproto.http import Call, Response
from wireproto.negotiation import Negotiation
from wireproto.sentinel import NEED_DATA, PAUSED, Sentinel
from wireproto.versions import ApiVersion
from wireproto.ws import WSAttach

T = TypeVar("T")
W = TypeVar("W", bound=Wire)
MAX_IDLE = 16  # kept-alive connections per client; more concurrent calls open more


class Connection(Protocol):
    """One transport, as an adapter wraps it."""

    received: int  # response bytes read so far (a retry needs none since the request)

    @property
    def dead(self) -> bool:
        """The engine closed (or wrote on) this connection while it was idle."""

    async def fill(self, exchange: Wire) -> None:
        """Reads once and feeds the bytes (``b""`` at EOF) to ``exchange``."""

    async def flush(self, exchange: Wire, *, request: bool = False) -> None:
        """Writes all that ``exchange.data_to_send()`` gives; ``send_failed()`` on failure.

        ``request``: a request is going out (before its answer, not stdin): if
        the engine speaks meanwhile, stop and raise EngineSpoke, having fed
        the exchange whatever had to be read to see it.
        """

    async def write_eof(self) -> None:
        """Half-closes: no more bytes from us (stdin EOF)."""

    async def aclose(self) -> None:
        """Closes at once, even in a cancelled task or scope."""


class Lock(Protocol):
    async def __aenter__(self) -> object: ...

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> object: ...


class Runtime(Protocol):
    async def connect(self, resolved: Settings, timeout: float | None) -> Connection:
        """A new connection; EngineUnreachable when there is none."""

    async def within(self, timeout: float | None, run: Callable[[], Awaitable[T]]) -> T:
        """``await run()``, TimeoutError after ``timeout`` seconds (None: no limit)."""

    def lock(self) -> Lock: ...


class Driver(Generic[W]):
    """Moves bytes between one connection and one exchange (or WebSocket).

    With a ``timeout``, every read and write runs under one deadline until
    ``unbound()`` (a stream whose head came may idle).  A write the engine
    refused (it stopped reading, or closed) is kept in ``send_error`` and
    does not stop the reading: what the engine sent before is still read.
    """

    def __init__(
        self,
        conn: Connection,
        exchange: W,
        runtime: Runtime | None = None,
        timeout: float | None = None,
    ) -> None:
        self.conn = conn
        self.exchange = exchange
        self.send_error: OSError | None = None
        self._runtime = runtime
        self._timeout = timeout
        self._deadline = None if timeout is None else time.monotonic() + timeout

    def unbound(self) -> None:
        """No deadline from now on."""
        self._deadline = None

    async def _bounded(self, run: Callable[[], Awaitable[T]]) -> T:
        if self._deadline is None or self._runtime is None:
            return await run()
        left = max(self._deadline - time.monotonic(), 0.0)
        try:
            return await self._runtime.within(left, run)
        except TimeoutError as exc:
            raise TimeoutError(f"no answer within {self._timeout} seconds") from exc

    async def send(self, *, request: bool = False) -> None:
        """Writes all the exchange has to send (under the deadline, if any);
        ``request``: a request, which stops if the engine answers first."""
        try:
            await self._bounded(functools.partial(self.conn.flush, self.exchange, request=request))
        except OSError as exc:
            if peer_gone(exc):
                self.send_error = exc
            raise

    async def head(self) -> Response:
        """Sends the request and reads the head: an error reply the engine sent
        while refusing the rest of the request is the answer too."""
        try:
            await self.send(request=True)
        except OSError as exc:
            if not peer_gone(exc):
                raise
            try:
                return answer_to_unsent(await self.next(), exc)
            except ConnectionClosed as closed:
                if closed.received:
                    raise
                raise RequestCut(exc) from exc
        head = await self.next()
        assert isinstance(head, Response)
        return head

    async def next(self) -> Event | None:
        """The next event; None once the exchange is over."""
        exchange = self.exchange
        while True:
            event = exchange.next_event()
            if event is NEED_DATA:
                await self._bounded(functools.partial(self.conn.fill, exchange))
            elif event is PAUSED:
                return None
            else:
                assert not isinstance(event, Sentinel)
                return event


class Client:
    """A client of one engine, with kept-alive connections; see ``blocking.Client``.

    ``timeout`` (seconds, None for no limit) bounds connecting, then, as one
    deadline, sending the request and receiving the whole response head;
    for a call whose reply is small (EMPTY, DOCUMENT, BYTES bodies: inspect,
    version, ...) the deadline covers the whole response.  Streams (logs,
    attach, exec, events, pull/push/build progress, tar downloads) may stay
    silent as long as they like once their head came.  TimeoutError (the
    builtin) when it runs out.  ``wait`` blocks until a container stops:
    run it with ``begin``/``Pending.result``, which waits as long as asked.
    Concurrent calls each take a connection of their own; up to
    ``max_idle`` are kept for later calls.
    """

    runtime: Runtime

    def __init__(
        self,
        host: str | None = None,
        *,
        timeout: float | None = DEFAULT_TIMEOUT,
        environ: Mapping[str, str] | None = None,
        backend: str | None = None,
        tls: ssl.SSLContext | None = None,
        max_idle: int = MAX_IDLE,
    ) -> None:
        self.settings = settings(host, os.environ if environ is None else environ, tls)
        self.host = self.settings.host
        self.address = self.settings.address
        self.timeout = timeout
        self.backend = backend
        self.max_idle = max_idle
        self.api_version: ApiVersion | None = None
        self._idle: list[Connection] = []

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.aclose()

    # --- connections --------------------------------------------------------

    async def connect(self) -> Connection:
        """A new connection to the engine; EngineUnreachable when there is none."""
        return await self.runtime.connect(self.settings, self.timeout)

    async def _checkout(self) -> tuple[Connection, bool]:
        while self._idle:
            conn = self._idle.pop()
            if not conn.dead:
                return conn, True
            await conn.aclose()
        return await self.connect(), False

    async def _checkin(self, driver: Driver[Exchange]) -> None:
        reusable = driver.exchange.reusable and driver.send_error is None
        if reusable and len(self._idle) < self.max_idle:
            self._idle.append(driver.conn)
        else:
            await driver.conn.aclose()

    async def _open(self, call: Call, sinks: Sinks | None) -> tuple[Driver[Exchange], Response]:
        """Sends ``call`` and reads its head, retrying once on a stale kept-alive connection."""
        replayable = not is_stream(call)
        while True:
            conn, reused = await self._checkout()
            before = conn.received
            exchange = Exchange(
                call, host=self.address.host_header, sinks=sinks, backend=self.backend
            )
            driver = Driver(conn, exchange, self.runtime, self.timeout)
            try:
                head = await driver.head()
            except (ConnectionClosed, OSError) as exc:
                await conn.aclose()
                if reused and replayable and conn.received == before and is_stale(exc):
                    continue
                raise
            except BaseException:
                await conn.aclose()
                raise
            if head.status < 400 and (head.hijacked or not bounded(call)):
                driver.unbound()  # streams may idle: no timeout once they started
            return driver, head

    # --- calls ------------------------------------------------------------------

    def stream(self, call: Call, *, sinks: Sinks | None = None) -> Stream:
        """Runs ``call``: ``async with client.stream(call) as events: async for ...``.

        The Response head comes first.  Payload views in an event are valid
        until the next one is asked for.
        """
        return Stream(self, call, sinks)

    async def request(self, call: Call) -> Reply:
        """Runs ``call`` to its end and gathers what it gave."""
        gather = Gather(call)
        async with self.stream(call) as events:
            async for event in events:
                gather.add(event)
        return gather.reply()

    async def begin(self, call: Call) -> Pending:
        """Sends ``call`` on a connection of its own; read its reply later."""
        conn = await self.connect()
        exchange = Exchange(call, host=self.address.host_header, backend=self.backend)
        try:
            await conn.flush(exchange)
        except BaseException:
            await conn.aclose()
            raise
        return Pending(self, Driver(conn, exchange))

    async def hijack(self, call: Call, *, sinks: Sinks | None = None) -> Session:
        """Runs a hijacking call (attach, exec start): a Session over the stream.

        An error reply raises its APIError here.
        """
        driver, head = await self._open(call, sinks)
        if not head.hijacked and head.status >= 400:
            try:
                while await driver.next() is not None:
                    pass
            finally:
                await driver.conn.aclose()
        return Session(self, driver, head)

    async def attach_ws(self, call: Call) -> WSSession:
        """Runs an ``attach_ws`` call: a WSSession over the WebSocket.

        An error reply (no 101) raises its APIError here.
        """
        conn = await self.connect()
        wire = WSWire(WSAttach(call, host=self.address.host_header))
        driver = Driver(conn, wire, self.runtime, self.timeout)
        try:
            head = await driver.head()
        except BaseException:
            await conn.aclose()
            raise
        driver.unbound()  # the stream may idle
        return WSSession(self, driver, head)

    async def negotiate(self, pinned: ApiVersion | None = None) -> ApiVersion | None:
        """Settles the API version (see :mod:`wireproto.versions`); sets ``api_version``."""
        negotiation = Negotiation(pinned)
        while (call := negotiation.next_call()) is not None:
            with negotiation.answering():
                negotiation.receive(await self.request(call))
        self.api_version = negotiation.version
        return self.api_version


class Stream:
    """The events of one call, the Response head first (``async for``).

    Use it as an async context manager: leaving early (break, an error, a
    cancellation) closes its connection; a stream read to its end gives the
    connection back for keep-alive.
    """

    def __init__(self, client: Client, call: Call, sinks: Sinks | None) -> None:
        self._client = client
        self._call = call
        self._sinks = sinks
        self._driver: Driver[Exchange] | None = None
        self._head: Response | None = None
        self._finished = False

    async def __aenter__(self) -> Stream:
        await self._start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> Stream:
        return self

    async def _start(self) -> None:
        if self._driver is None:
            self._driver, self._head = await self._client._open(self._call, self._sinks)

    @property
    def response(self) -> Response | None:
        return self._driver.exchange.response if self._driver else None

    @property
    def exchange(self) -> Exchange | None:
        """The exchange running the call (None before it started)."""
        return self._driver.exchange if self._driver else None

    @property
    def connection(self) -> Connection | None:
        return self._driver.conn if self._driver else None

    async def __anext__(self) -> Event:
        if self._driver is None:
            await self._start()
        if self._head is not None:
            head, self._head = self._head, None
            return head
        assert self._driver is not None
        if self._finished:
            raise StopAsyncIteration
        try:
            event = await self._driver.next()
        except BaseException:
            await self.aclose()
            raise
        if event is None or isinstance(event, EndOfMessage):
            self._finished = True
            await self._client._checkin(self._driver)
        if event is None:
            raise StopAsyncIteration
        return event

    async def aclose(self) -> None:
        """Closes the connection unless the stream was read to its end."""
        if self._driver is not None and not self._finished:
            self._finished = True
            await self._driver.conn.aclose()


class Pending:
    """A call sent on its own connection, whose reply is read later (``result``)."""

    def __init__(self, client: Client, driver: Driver[Exchange]) -> None:
        self._client = client
        self._driver = driver

    async def result(self, timeout: float | None = None) -> Reply:
        """Waits for the reply (forever by default); APIError for an error status."""
        gather = Gather(self._driver.exchange.call)

        async def read() -> None:
            while (event := await self._driver.next()) is not None:
                gather.add(event)
                if isinstance(event, EndOfMessage):
                    return

        try:
            await self._client.runtime.within(timeout, read)
        finally:
            await self._driver.conn.aclose()
        return gather.reply()

    async def aclose(self) -> None:
        await self._driver.conn.aclose()


S = TypeVar("S", bound=StdinWire)


class _StdinSession(Generic[S]):
    """What a hijacked and a WebSocket session share: stdin writes serialised
    by a lock (``send`` may run in another task than the one iterating), and
    a connection closed on any failure."""

    def __init__(self, client: Client, driver: Driver[S], response: Response) -> None:
        self.response = response
        self._driver = driver
        self._lock = client.runtime.lock()
        self._finished = False

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def send(self, data: bytes) -> None:
        """Writes ``data`` to the container's stdin."""
        async with self._lock:
            self._driver.exchange.send_stdin(data)
            await self._flush()

    async def _flush(self) -> None:
        try:
            await self._driver.send()
        except OSError as exc:
            if not peer_gone(exc):
                await self.aclose()
            raise  # an engine that stopped reading may have output still to read
        except BaseException:  # the exchange is dead (send_failed): so is the connection
            await self.aclose()
            raise

    async def next_event(self) -> Event | None:
        raise NotImplementedError

    async def _next(self) -> Event | None:
        """The driver's next event; the connection is closed if that fails."""
        try:
            return await self._driver.next()
        except BaseException:
            await self.aclose()
            raise

    async def events(self) -> AsyncIterator[Event]:
        """The stream's events: Output pieces (unless sinks took them), then EndOfMessage."""
        while (event := await self.next_event()) is not None:
            yield event

    async def aclose(self) -> None:
        self._finished = True
        await self._driver.conn.aclose()


class Session(_StdinSession[Exchange]):
    """A hijacked stream: ``send`` stdin, ``close_stdin``, iterate the output.

    ``send`` and ``close_stdin`` may run in another task than the one
    iterating; writes are serialised by a lock.
    """

    def __init__(self, client: Client, driver: Driver[Exchange], response: Response) -> None:
        super().__init__(client, driver, response)
        self._shut = False

    async def __aenter__(self) -> Session:
        return self

    @property
    def exchange(self) -> Exchange:
        return self._driver.exchange

    @property
    def connection(self) -> Connection:
        return self._driver.conn

    async def close_stdin(self) -> None:
        """Ends stdin: half-closes the connection once every byte is out."""
        async with self._lock:
            exchange = self._driver.exchange
            exchange.end_stdin()
            await self._flush()
            if exchange.stdin_closed and not self._shut:
                self._shut = True
                await self._driver.conn.write_eof()

    async def next_event(self) -> Event | None:
        """The next event (Output, then EndOfMessage); None once the stream is over."""
        if self._finished:
            return None
        event = await self._next()
        if event is None or isinstance(event, EndOfMessage):
            self._finished = True
        return event

    def __aiter__(self) -> AsyncIterator[tuple[int, bytes]]:
        """``(stream, bytes)`` output pieces until the engine closes the stream."""
        return _Pieces(self)


class WSSession(_StdinSession[WSWire]):
    """A WebSocket attach: ``send`` stdin, ``close_stdin``, iterate the output.

    Stdin ends with a close frame (a WebSocket cannot half-close); output
    keeps coming until the engine's close frame.  Pongs and the echo of the
    engine's close go out as soon as the events that asked for them are read.
    """

    @property
    def ws(self) -> WSAttach:
        return self._driver.exchange.ws

    async def __aenter__(self) -> WSSession:
        return self

    async def close_stdin(self) -> None:
        """Sends the close frame that ends stdin."""
        async with self._lock:
            self._driver.exchange.end_stdin()
            await self._flush()

    async def next_event(self) -> Event | None:
        """The next event (Output, then EndOfMessage); None once the stream is over.
        Pongs and the close echo the event asked for are flushed first."""
        if self._finished:
            return None
        event = await self._next()
        ended = event is None or isinstance(event, EndOfMessage)
        await self._send_replies()
        if ended:
            self._finished = True
            await self._driver.conn.aclose()
        return event

    async def _send_replies(self) -> None:
        """Sends the pongs and the close echo the events asked for.  An engine that
        has gone needs neither: its output is still read to the end."""
        try:
            async with self._lock:
                await self._flush()
        except OSError as exc:
            if not peer_gone(exc):
                raise


class _Pieces:
    def __init__(self, session: Session) -> None:
        self._session = session
        self._ready: list[tuple[int, bytes]] = []

    def __aiter__(self) -> _Pieces:
        return self

    async def __anext__(self) -> tuple[int, bytes]:
        while not self._ready:
            event = await self._session.next_event()
            if event is None:
                raise StopAsyncIteration
            if isinstance(event, Output):
                self._ready = [(s, bytes(p)) for s, p in reversed(event.pieces)]
        return self._ready.pop()
