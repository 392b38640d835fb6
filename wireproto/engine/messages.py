"""What the stub engine's handlers and its socket loop exchange: requests and reply plans.

Plain data, apart from the connection's reply builders (:class:`Replies`, which
:class:`wireproto.engine.protocol.ServerConnection` provides): the handlers build
replies through it without importing the connection, so the route table can be
assembled where the connection lives without an import cycle.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from wireproto import mux
from wireproto.engine.hooks import StdinSink
from wireproto.engine.world import Feed
from wireproto.versions import ApiVersion


@dataclass
class Hijack:
    """An attach stream: after the output, stdin goes to ``stdin`` (a live container's) or,
    for a scripted container, is echoed back (if attached) until its EOF."""

    tty: bool
    echo_stdin: bool
    early_stdin: bytes = b""
    stdin: StdinSink | None = None

    def echo(self, data: bytes) -> bytes:
        """What the container sends back for ``data`` read from stdin."""
        return data if self.tty else mux.encode(mux.STDOUT, data)


@dataclass
class Reply:
    """A response to write: ``head``, then every piece of ``body``, then ``end``.

    ``rate`` (bytes/second) paces the body; ``delay`` (seconds) passes between
    the head and the body; ``hold_open`` keeps the
    connection open after the body until the client closes it (follow);
    ``hijack`` turns it into an attach stream; ``keep_alive`` says whether
    another request may follow on the connection.  ``feed`` brings bytes
    produced later (a container's live output, new events, a wait's answer):
    after ``body``, the socket loop writes what it pushes until it ends.
    """

    head: bytes
    body: Iterable[bytes] = ()
    end: bytes = b""
    rate: float | None = None
    delay: float = 0.0
    hold_open: bool = False
    hijack: Hijack | None = None
    keep_alive: bool = True
    status: int = 200
    fault: str = ""  # what the client got wrong (or the stub), for the server's log
    feed: Feed | None = None


@dataclass
class Request:
    """A request as the engine routes it: ``path`` without its version prefix once routed."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    version: ApiVersion = field(default_factory=lambda: ApiVersion(1, 41))
    target: str = ""


class Replies(Protocol):
    """The reply builders a handler calls on its connection."""

    max: ApiVersion  # the engine's own version
    min: ApiVersion  # the oldest prefix it serves

    def document(
        self,
        status: int,
        body: bytes,
        content_type: str | None = "application/json",
        *,
        extra: Iterable[tuple[str, str]] = (),
        head: bool = False,
    ) -> Reply: ...

    def json(self, value: object, status: int = 200) -> Reply: ...

    def error(self, status: int, message: str, version: ApiVersion) -> Reply: ...

    def streamed(
        self,
        body: Iterable[bytes],
        content_type: str | None,
        *,
        rate: float | None = None,
        hold_open: bool = False,
        feed: Feed | None = None,
    ) -> Reply: ...

    def later(self, feed: Feed) -> Reply: ...

    def hijack(
        self,
        request: Request,
        *,
        tty: bool,
        body: Iterable[bytes] = (),
        rate: float | None = None,
        delay: float = 0.0,
        echo_stdin: bool = False,
        feed: Feed | None = None,
        stdin: StdinSink | None = None,
    ) -> Reply: ...

    def websocket(
        self, head: bytes, *, body: Iterable[bytes], feed: Feed, stdin: StdinSink
    ) -> Reply: ...

    def raw(self, data: bytes, status: int) -> Reply: ...
