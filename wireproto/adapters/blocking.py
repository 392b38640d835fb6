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
import errno
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from wireproto import calls, versions
from wireproto._sinks import Sinks
from wireproto.errors import ConnectionClosed, EngineUnreachable, NotFound
from wireproto.exchange import (
    NEED_DATA,
    PAUSED,
    Data,
    Document,
    EndOfMessage,
    Event,
    Exchange,
    Output,
    Sentinel,
)
from wireproto.http import UNIX_HOST, BodyKind, Call, Response
from wireproto.versions import ApiVersion

DEFAULT_HOST = "unix:///var/run/docker.sock"
RECV_SIZE = 256 * 1024  # one read; logs arrive as many small chunks
DEFAULT_TIMEOUT = 60.0
_STALE = (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED)


@dataclass(frozen=True, slots=True)
class Address:
    """Where the engine listens: a unix socket path, or a TCP host and port."""

    unix_path: str | None = None
    host: str = ""
    port: int = 0
    tls: bool = False

    @property
    def host_header(self) -> str:
        return UNIX_HOST if self.unix_path else f"{self.host}:{self.port}"


def parse_host(value: str, *, tls: bool = False) -> Address:
    """An Address from a DOCKER_HOST value (``unix://``, ``tcp://``, ``http(s)://``)."""
    if value.startswith("/"):
        value = "unix://" + value
    parts = urlsplit(value)
    if parts.scheme == "unix":
        if not parts.path:
            raise ValueError(f"host {value!r} names no socket path")
        return Address(unix_path=parts.path)
    if parts.scheme in ("tcp", "http", "https"):
        tls = tls or parts.scheme == "https"
        try:
            port = parts.port or (2376 if tls else 2375)
        except ValueError as exc:
            raise ValueError(f"host {value!r} has a bad port") from exc
        return Address(host=parts.hostname or "localhost", port=port, tls=tls)
    raise ValueError(f"host {value!r}: unsupported scheme (use unix://, tcp:// or https://)")


def tls_context(environ: Mapping[str, str]) -> ssl.SSLContext | None:
    """TLS settings as the docker CLI reads them from the environment.

    ``DOCKER_TLS_VERIFY`` (any non-empty value) verifies the engine against
    ``ca.pem``; ``DOCKER_TLS`` alone encrypts without verifying.  Both use
    ``cert.pem``/``key.pem`` as the client certificate when present, all in
    ``DOCKER_CERT_PATH`` (default ``~/.docker``).
    """
    verify = bool(environ.get("DOCKER_TLS_VERIFY"))
    if not verify and not environ.get("DOCKER_TLS"):
        return None
    cert_path = Path(environ.get("DOCKER_CERT_PATH") or Path.home() / ".docker")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        context.load_verify_locations(cafile=str(cert_path / "ca.pem"))
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    cert, key = cert_path / "cert.pem", cert_path / "key.pem"
    if cert.exists() and key.exists():
        context.load_cert_chain(str(cert), str(key))
    return context


@dataclass
class Reply:
    """A whole response: its head, and the document, bytes or output it carried."""

    response: Response
    document: object = None
    data: bytes = b""
    output: list[tuple[int, bytes]] = field(default_factory=list)


class _Driver:
    """Moves bytes between one socket and one exchange."""

    def __init__(self, sock: socket.socket, exchange: Exchange, read_delay: float = 0.0) -> None:
        self.sock = sock
        self.exchange = exchange
        self.received = 0
        self.read_delay = read_delay
        self._buffer = bytearray(RECV_SIZE)
        self._view = memoryview(self._buffer)

    def flush(self) -> None:
        while out := self.exchange.data_to_send():
            try:
                self.sock.sendall(out)
            except OSError:
                self.exchange.send_failed()
                raise

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

    def _fill(self) -> None:
        try:
            count = self.sock.recv_into(self._buffer)
        except ConnectionResetError:
            count = 0  # a reset ends the stream; the exchange says what was cut
        self.received += count
        self.exchange.receive_data(self._view[:count] if count else b"")
        if self.read_delay and 0 < count < RECV_SIZE // 4:
            # Bulk reads of a slow producer: let bytes pile up, one read for many chunks.
            time.sleep(self.read_delay)


class Client:
    """A connection (kept alive between calls) to one engine.

    ``host`` defaults to ``$DOCKER_HOST``, else the local unix socket;
    ``timeout`` bounds connecting and waiting for a response head, while
    streams (logs, attach) may stay silent as long as they like.
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
        self.host = host or environ.get("DOCKER_HOST") or DEFAULT_HOST
        self.tls = tls if tls is not None else tls_context(environ)
        self.address = parse_host(self.host, tls=self.tls is not None)
        if self.address.tls and self.tls is None:
            self.tls = ssl.create_default_context()
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
            sock.settimeout(self.timeout)
            return sock, True
        return self.connect(), False

    def _checkin(self, sock: socket.socket, exchange: Exchange) -> None:
        if exchange.reusable and self._idle is None:
            self._idle = sock
        else:
            sock.close()

    def _open(
        self, call: Call, sinks: Sinks | None, read_delay: float
    ) -> tuple[_Driver, Iterator[Event], Event]:
        """Sends ``call`` and reads its head, retrying once on a stale kept-alive socket."""
        replayable = not _is_stream(call)
        while True:
            sock, reused = self._checkout()
            exchange = Exchange(
                call, host=self.address.host_header, sinks=sinks, backend=self.backend
            )
            driver = _Driver(sock, exchange, read_delay)
            events = driver.events()
            try:
                driver.flush()
                head = next(events)
            except (ConnectionClosed, OSError) as exc:
                sock.close()
                if reused and replayable and driver.received == 0 and _stale(exc):
                    continue
                raise
            except BaseException:
                sock.close()
                raise
            if isinstance(head, Response) and (head.hijacked or call.kind is BodyKind.STDIO):
                sock.settimeout(None)  # streams may idle: no timeout once they started
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
                self._checkin(driver.sock, driver.exchange)
            else:
                driver.sock.close()

    def request(self, call: Call) -> Reply:
        """Runs ``call`` to its end and gathers what it gave."""
        reply: Reply | None = None
        chunks: list[bytes] = []
        for event in self.stream(call):
            if isinstance(event, Response):
                reply = Reply(response=event)
            elif isinstance(event, Document):
                assert reply is not None
                reply.document = event.value
            elif isinstance(event, Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, Output):
                assert reply is not None
                reply.output += [(s, bytes(p)) for s, p in event.pieces]
        assert reply is not None
        reply.data = b"".join(chunks)
        return reply

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

    def negotiate(self, pinned: ApiVersion | None = None) -> ApiVersion | None:
        """Settles the API version (see :mod:`wireproto.versions`); sets ``api_version``."""
        if pinned is not None:
            self.api_version = pinned
            return pinned
        engine = None
        with contextlib.suppress(NotFound):  # engines before API 1.11 have no /_ping
            engine = versions.from_ping_headers(self.request(calls.ping()).response.api_version)
        if engine is None:
            document = self.request(calls.engine_version()).document
            engine = versions.from_version_document(document)
        self.api_version = versions.choose(engine)
        return self.api_version


def _is_stream(call: Call) -> bool:
    body = call.request.body
    return body is not None and not isinstance(body, bytes)


def _stale(exc: BaseException) -> bool:
    if isinstance(exc, ConnectionClosed):
        return exc.received == 0
    return isinstance(exc, OSError) and exc.errno in _STALE


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
        reply: Reply | None = None
        try:
            for event in self._driver.events():
                if isinstance(event, Response):
                    reply = Reply(response=event)
                elif isinstance(event, Document) and reply is not None:
                    reply.document = event.value
        finally:
            self._sock.close()
        assert reply is not None
        return reply

    def close(self) -> None:
        self._sock.close()


class Session:
    """A hijacked stream: ``send`` stdin, ``close_stdin``, iterate the output.

    ``send`` and ``close_stdin`` may be called from another thread than the
    one iterating (``forward_stdin`` does exactly that).
    """

    def __init__(self, driver: _Driver, events: Iterator[Event], response: Response) -> None:
        self.response = response
        self._driver = driver
        self._events = events
        self._lock = threading.Lock()
        self._shut = False
        self.stdin_error: OSError | None = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        """Writes ``data`` to the container's stdin."""
        with self._lock:
            self._driver.exchange.send_stdin(data)
            self._driver.flush()

    def close_stdin(self) -> None:
        """Ends stdin: shuts the socket's write side once every byte is out."""
        with self._lock:
            self._driver.exchange.end_stdin()
            self._driver.flush()
            if self._driver.exchange.stdin_closed and not self._shut:
                self._shut = True
                with contextlib.suppress(OSError):
                    self._driver.sock.shutdown(socket.SHUT_WR)

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

    def close(self) -> None:
        self._driver.sock.close()
