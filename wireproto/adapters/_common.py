"""What every adapter shares that moves no bytes: addresses, TLS settings, replies.

Strategy: an adapter is a loop (write what the exchange wants sent, read,
feed, hand out events); the decisions around that loop that are not about
I/O live here once: which engine a DOCKER_HOST names, the TLS context the
docker CLI would build from the environment, when a failed call on a
kept-alive connection may be retried, and how a whole reply is gathered
from the events.
"""

from __future__ import annotations

import errno
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from wireproto.errors import ConnectionClosed
from wireproto.exchange import Data, Document, Event, Output
from wireproto.http import UNIX_HOST, BodyKind, Call, Response
from wireproto.sentinel import Sentinel
from wireproto.ws import WSAttach

DEFAULT_HOST = "unix:///var/run/docker.sock"
RECV_SIZE = 256 * 1024  # one read; logs arrive as many small chunks
DEFAULT_TIMEOUT = 60.0
# A kept-alive connection the engine dropped fails a new request with these.
STALE_ERRNOS = (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED)


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


@dataclass(frozen=True, slots=True)
class Settings:
    """A client's resolved settings: the host as given, its address, TLS."""

    host: str
    address: Address
    tls: ssl.SSLContext | None


def settings(host: str | None, environ: Mapping[str, str], tls: ssl.SSLContext | None) -> Settings:
    """``host`` (default ``$DOCKER_HOST``, else the local socket) and its TLS context."""
    host = host or environ.get("DOCKER_HOST") or DEFAULT_HOST
    tls = tls if tls is not None else tls_context(environ)
    address = parse_host(host, tls=tls is not None)
    if address.tls and tls is None:
        tls = ssl.create_default_context()
    return Settings(host=host, address=address, tls=tls)


class Wire(Protocol):
    """What an adapter's byte loop drives: an Exchange, or a WebSocket attach (WSWire)."""

    def next_event(self) -> Event | Sentinel: ...

    def receive_data(self, data: bytes | bytearray | memoryview) -> None: ...

    def data_to_send(self) -> bytes: ...

    def send_failed(self) -> None: ...


class StdinWire(Wire, Protocol):
    """A wire a session writes stdin to: an Exchange after a hijack, or a WSWire."""

    def send_stdin(self, data: bytes) -> None: ...


class WSWire:
    """A :class:`wireproto.ws.WSAttach` with the loop contract an adapter drives.

    ``send_failed`` has nothing to tell: a WebSocket is never reused, and
    the adapter closes the connection after a failed write.  Stdin ends with
    a close frame (``end_stdin``), never a TCP half-close: the engine answers
    with its own close frame once the output is done.
    """

    def __init__(self, ws: WSAttach) -> None:
        self.ws = ws
        self.next_event = ws.next_event
        self.receive_data = ws.receive_data
        self.data_to_send = ws.data_to_send
        self.send_stdin = ws.send_stdin
        self.end_stdin = ws.end_stdin

    def send_failed(self) -> None:
        return None


_UNSHAPED = object()  # Reply.document not computed yet


@dataclass
class Reply:
    """A whole response: its head, and the document, bytes or output it carried.

    ``raw`` is the JSON document as the engine sent it (None: no body, or a
    call whose body is not one document).  ``document`` is that document in
    today's shape, whatever the API version the call was made at: the call's
    normaliser (``Call.shape``, see :mod:`wireproto.api.shapes`) applied to
    ``raw`` -- ``RepoTags`` rows, ``Ports`` as a list, CamelCase inspect keys,
    ``is_automated``, image delete results as a list (``[]`` for the 204 of
    engines before 1.2), ...  It is computed on first access, so a document
    that fits neither shape raises :class:`errors.RemoteProtocolError` there,
    while ``raw`` (and the rest of the reply) stays readable.  For a call
    without a normaliser, ``document`` is ``raw``.
    """

    response: Response
    raw: object = None
    data: bytes = b""
    output: list[tuple[int, bytes]] = field(default_factory=list)
    call: Call | None = field(default=None, repr=False)
    _document: object = field(default=_UNSHAPED, init=False, repr=False, compare=False)

    @property
    def document(self) -> object:
        """``raw`` in today's shape (see the class docstring); the same object each time."""
        if self._document is _UNSHAPED:
            self._document = self.call.normalise(self.raw) if self.call else self.raw
        return self._document


class Gather:
    """Builds a :class:`Reply` to ``call`` from its events (``add`` each, then ``reply``)."""

    def __init__(self, call: Call | None = None) -> None:
        self._call = call
        self._reply: Reply | None = None
        self._chunks: list[bytes] = []

    def add(self, event: Event) -> None:
        if isinstance(event, Response):
            self._reply = Reply(response=event, call=self._call)
        elif isinstance(event, Document):
            assert self._reply is not None
            self._reply.raw = event.value
        elif isinstance(event, Data):
            self._chunks.append(bytes(event.data))
        elif isinstance(event, Output):
            assert self._reply is not None
            self._reply.output += [(s, bytes(p)) for s, p in event.pieces]

    def reply(self) -> Reply:
        assert self._reply is not None
        self._reply.data = b"".join(self._chunks)
        return self._reply


def is_stream(call: Call) -> bool:
    """A call whose request body is an iterator: it cannot be sent twice."""
    body = call.request.body
    return body is not None and not isinstance(body, bytes)


def peer_gone(exc: BaseException) -> bool:
    """Whether a write failed because the engine stopped reading or closed.

    Not an error of the exchange: what the engine sent before (an error
    reply to a request it would not read, output and a close frame) is
    still there to read, and the reading side goes on.
    """
    return isinstance(exc, _PEER_GONE)


# A TLS write to an engine that closed may fail as an EOF "in violation of
# protocol" (OpenSSL lost the errno), not as EPIPE or ECONNRESET.
_PEER_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, ssl.SSLEOFError)


class EngineSpoke(BrokenPipeError):
    """Sending a request stopped: the engine answered (or closed) before it went out whole.

    Raised by an adapter's ``flush`` of a request (not of stdin): an engine
    that refuses a body answers after its head and closes without reading
    the rest, and over TLS a write that then fails makes the TLS layer drop
    the answer unread; so the answer is watched for while sending, and it is
    read next instead.  A BrokenPipeError (EPIPE), as the write that would
    have failed: :func:`answer_to_unsent` says what the answer means.
    """

    def __init__(self) -> None:
        super().__init__(errno.EPIPE, "sending stopped: the engine answered or closed first")

    def __str__(self) -> str:
        return str(self.strerror)


def answer_to_unsent(head: Event | None, error: OSError) -> Response:
    """The engine's answer to a request it stopped reading before its end.

    An error status is the answer (its body, read next, becomes the API's
    typed error); anything else, or no head at all, raises the send error:
    the request did not go out whole.
    """
    if isinstance(head, Response) and head.status >= 400:
        return head
    raise error


def bounded(call: Call) -> bool:
    """Whether the client's ``timeout`` bounds the whole response, not only its head.

    A call with a small reply (EMPTY, DOCUMENT, BYTES bodies) must be over
    within the timeout; streams (logs, attach, exec, events, the progress of
    pull, push and build, tar downloads) may idle once their head came.
    """
    return not call.hijack and call.kind in _BOUNDED_KINDS


_BOUNDED_KINDS = (BodyKind.EMPTY, BodyKind.DOCUMENT, BodyKind.BYTES)


def is_stale(exc: BaseException) -> bool:
    """Whether ``exc`` says a kept-alive connection was dead before the request."""
    if isinstance(exc, ConnectionClosed):
        return exc.received == 0
    return isinstance(exc, OSError) and exc.errno in STALE_ERRNOS


# The engine cuts long log lines into 16 KiB messages: a first read that size
# holds most streams' traffic; a busy stream's reads fill it and it doubles up
# to READ_LIMIT.  32 KiB, not RECV_SIZE: with many concurrent streams the
# event loop's cost per read, not the decoders, sets the pace, so larger
# reads gain no speed, while every read's buffer, its decoded copy and the
# demuxer's span arrays grow with the read size, per stream (figures in
# docs/performance.md).  Blocking reads use RECV_SIZE at once (one thread per
# stream anyway).
INITIAL_READ_SIZE = 16 * 1024
READ_LIMIT = 32 * 1024


class ReadBuffer:
    """The one buffer a connection reads into: small at first, doubling while reads fill it.

    ``view`` is what the next read may fill (allocated on first use).
    ``take(count)`` returns the bytes a read put there; ``ready()``, called
    once the exchange is done with them, applies a pending growth (never
    while a view of the old buffer may still be in use).  ``release()``
    drops the memory while the connection waits: an idle stream holds no
    buffer, and the next read allocates one of the size reached so far.
    """

    def __init__(self, initial: int | None = None, limit: int | None = None) -> None:
        # Looked up at each call, so a test can make every read one byte long.
        self.limit = limit or READ_LIMIT
        self.size = min(initial or INITIAL_READ_SIZE, self.limit)
        self._view: memoryview | None = None
        self._grow = False

    @property
    def view(self) -> memoryview:
        if self._view is None:
            self._view = memoryview(bytearray(self.size))
        return self._view

    def take(self, count: int) -> memoryview:
        self._grow = count == self.size < self.limit
        return self.view[:count]

    def ready(self) -> memoryview:
        if self._grow:
            self._grow = False
            self.size = min(self.size * 2, self.limit)
            self._view = None
        return self.view

    def release(self) -> None:
        """Forgets the buffer (views handed out keep their bytes alive as long as they need)."""
        if self._grow:
            self._grow = False
            self.size = min(self.size * 2, self.limit)
        self._view = None
