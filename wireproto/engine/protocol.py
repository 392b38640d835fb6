"""The stub engine's server side, sans-IO: request bytes in, reply plans out.

Strategy: an ``h11.Connection`` in the SERVER role parses requests and writes
response heads and whole bodies; streamed bodies (logs, pulls, events) are
HTTP chunks the stub encodes itself, one chunk per message as the engine
sends them, and h11 writes the final ``0\\r\\n\\r\\n`` so its state stays
right.  A hijack (attach) leaves h11 behind: ``101 UPGRADED`` through h11,
the legacy ``200`` raw-stream head written as dockerd writes it.  The
socket loop (:mod:`wireproto.engine.server`) only moves bytes: it writes a
:class:`Reply` piece by piece (so a slow reader holds the producer back),
paces it when the script sets a rate, and echoes stdin for attach.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from urllib.parse import SplitResult, parse_qs, quote, unquote, urlsplit

import h11

from wireproto.engine import containers, eras, images, paths, query, routes, system
from wireproto.engine.hooks import StdinSink
from wireproto.engine.messages import Hijack, Reply, Request
from wireproto.engine.script import Script
from wireproto.engine.world import Feed, Received, World
from wireproto.sentinel import NEED_DATA, Sentinel
from wireproto.versions import JSON_ERRORS, ApiVersion

# Largest request body read (container create, auth): the engine reads JSON
# bodies whole; build contexts are not served.
MAX_REQUEST_BODY = 1024 * 1024
# h11's default head limit (16 KiB) is what the engine's Go server allows too (1 MiB is
# Go's default; requests from real clients are a few hundred bytes).
MAX_HEAD = 64 * 1024

CLOSED = Sentinel("CLOSED")  # the client closed the connection: no more requests

# Every route the engine has; ``routes.find`` picks the most specific match.
ROUTES: tuple[routes.Route, ...] = (*containers.ROUTES, *images.ROUTES, *system.ROUTES)


class ServerConnection:
    """One client connection to the stub: feed it bytes, take replies."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.max = world.api_version
        self.min = world.min_version
        self._conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        self._request: h11.Request | None = None
        self._body = bytearray()

    @property
    def script(self) -> Script:
        return self.world.script

    @property
    def h11(self) -> h11.Connection:
        """The h11 state machine (for replies written in parts, e.g. a deferred wait)."""
        return self._conn

    def receive_data(self, data: bytes) -> None:
        """Bytes from the client; ``b""`` is its EOF."""
        self._conn.receive_data(data)

    def next_reply(self) -> Reply | Sentinel:
        """The reply to the next complete request, NEED_DATA, or CLOSED."""
        while True:
            try:
                event = self._conn.next_event()
            except h11.RemoteProtocolError as exc:
                return self._bad_request(exc.error_status_hint, str(exc))
            if event is h11.NEED_DATA:
                return NEED_DATA
            if isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                return CLOSED if event is not h11.PAUSED else self._paused()
            if isinstance(event, h11.Request):
                refused = _refused_framing(event)
                if refused is not None:
                    return self._bad_request(*refused)
                self._request, self._body = event, bytearray()
            elif isinstance(event, h11.Data):
                self._body += event.data
                if len(self._body) > MAX_REQUEST_BODY:
                    return self._too_large()
            elif isinstance(event, h11.EndOfMessage):
                return self._dispatch()

    def reply_done(self) -> bool:
        """After a reply was written: True when the connection may carry another request."""
        if self._conn.our_state is h11.DONE and self._conn.their_state is h11.DONE:
            self._conn.start_next_cycle()
            return True
        return False

    @property
    def trailing_data(self) -> bytes:
        return bytes(self._conn.trailing_data[0])

    @property
    def head_incomplete(self) -> bool:
        """True while part of a request head has arrived but not all of it."""
        return self._conn.their_state is h11.IDLE and bool(self._conn.trailing_data[0])

    # --- dispatch ----------------------------------------------------------------------

    def _paused(self) -> Reply | Sentinel:
        # A client asked for an upgrade (attach): the request is complete.
        return self._dispatch() if self._request is not None else CLOSED

    def _dispatch(self) -> Reply:
        assert self._request is not None
        event, self._request = self._request, None
        target = event.target.decode("latin-1")
        try:
            url = split_target(target)
        except ValueError as exc:  # e.g. "http://[::1/": Go's server refuses the request
            return self._bad_request(400, f"malformed request target: {exc}")
        request = Request(
            method=event.method.decode("ascii"),
            path=unquote(url.path),
            query=parse_qs(url.query, keep_blank_values=True),
            headers={n.decode().lower(): v.decode("latin-1") for n, v in event.headers},
            body=bytes(self._body),
            version=self.max,
            target=target,
        )
        clean = clean_path(request.path)
        if clean != request.path:
            self.world.journal.append(_received(request))
            return self._moved(
                quote(clean, safe=GO_PATH_SAFE) + (f"?{url.query}" if url.query else "")
            )
        refused = paths.versioned(self, request)
        self.world.journal.append(_received(request))
        if refused is not None:
            return refused
        where = f"{request.method} {url.path}"
        try:
            return self._route(request)
        except query.QueryError as exc:
            reply = self.error(exc.status, exc.message, request.version)
            reply.fault = f"{where}: {exc.message}"
        except Exception as exc:  # a stub bug: answered 500, as the engine's own would be
            reply = self.error(500, f"stub engine error: {type(exc).__name__}", request.version)
            reply.fault = f"{where}: stub engine error: {type(exc).__name__}: {exc}"
        return reply

    def _route(self, request: Request) -> Reply:
        found = routes.find(ROUTES, request.method, request.path)
        if found is None or not _exists(found[0], request.version):
            return self.error(404, paths.not_found(self.max), request.version)
        route, params = found
        context = routes.Context(self, request, params, self.world, request.version)
        return route.handler(context)

    # --- replies -----------------------------------------------------------------------

    def _headers(self, content_type: str | None = None) -> list[tuple[str, str]]:
        date = ("Date", http_date(time.time()))
        typed = [("Content-Type", content_type)] if content_type else []
        if not eras.has("headers.engine", self.max):
            return [*typed, date]
        return [
            ("Api-Version", str(self.max)),
            *typed,
            ("Docker-Experimental", "false"),
            ("Ostype", "linux"),
            ("Server", f"Docker/{self.script.server_version} (linux)"),
            date,
        ]

    def document(
        self,
        status: int,
        body: bytes,
        content_type: str | None = "application/json",
        *,
        extra: Iterable[tuple[str, str]] = (),
        head: bool = False,
    ) -> Reply:
        headers = [*self._headers(content_type), *extra, ("Content-Length", str(len(body)))]
        data = self._conn.send(h11.Response(status_code=status, headers=headers)) or b""
        if not head:
            data += self._conn.send(h11.Data(data=body)) or b""
        data += self._conn.send(h11.EndOfMessage()) or b""
        return Reply(head=data, keep_alive=self._conn.our_state is h11.DONE, status=status)

    def json(self, value: object, status: int = 200) -> Reply:
        return self.document(status, json.dumps(value, separators=(",", ":")).encode() + b"\n")

    def error(self, status: int, message: str, version: ApiVersion) -> Reply:
        """An error shaped as the engine's: plain text below API 1.24, JSON from 1.24."""
        if version < JSON_ERRORS:
            return self.document(
                status,
                message.encode() + b"\n",
                "text/plain; charset=utf-8",
                extra=[("X-Content-Type-Options", "nosniff")],
            )
        return self.json({"message": message}, status)

    def streamed(
        self,
        body: Iterable[bytes],
        content_type: str | None,
        *,
        rate: float | None = None,
        hold_open: bool = False,
        feed: Feed | None = None,
    ) -> Reply:
        """A chunked reply whose ``body`` pieces (and ``feed``'s) are already HTTP chunks."""
        headers = [*self._headers(content_type), ("Transfer-Encoding", "chunked")]
        head = self._conn.send(h11.Response(status_code=200, headers=headers)) or b""
        end = b"" if hold_open else self._conn.send(h11.EndOfMessage()) or b""
        return Reply(
            head=head,
            body=body,
            end=end,
            rate=rate,
            hold_open=hold_open,
            keep_alive=not hold_open,
            feed=feed,
        )

    def later(self, feed: Feed) -> Reply:
        """A reply written whole later: ``feed`` brings its head and body (a wait below 1.30)."""
        return Reply(head=b"", feed=feed)

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
    ) -> Reply:
        """An attach stream: ``101 UPGRADED`` when the client asked to upgrade, else the
        legacy ``200`` raw-stream head; then ``body``, then ``feed`` until it ends."""
        media = "application/vnd.docker.raw-stream"
        asked = request.headers.get("upgrade", "").lower() == "tcp"
        upgrade = asked and eras.has("attach.upgrade", self.max)
        if upgrade:
            headers = [("Content-Type", media), ("Connection", "Upgrade"), ("Upgrade", "tcp")]
            informational = h11.InformationalResponse(
                status_code=101, headers=headers, reason=b"UPGRADED"
            )
            head = self._conn.send(informational) or b""
        else:
            head = b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\n\r\n" % media.encode()
        early = self.trailing_data
        hijack = Hijack(tty=tty, echo_stdin=echo_stdin, early_stdin=early, stdin=stdin)
        return Reply(
            head=head,
            body=body,
            rate=rate,
            delay=delay,
            hijack=hijack,
            keep_alive=False,
            status=101 if upgrade else 200,
            feed=feed,
        )

    def websocket(
        self, head: bytes, *, body: Iterable[bytes], feed: Feed, stdin: StdinSink
    ) -> Reply:
        """A WebSocket attach: the handshake's ``head``, then ``body`` and ``feed`` (frames
        already); the client's bytes go to ``stdin`` (its frame reader)."""
        hijack = Hijack(tty=True, echo_stdin=False, early_stdin=self.trailing_data, stdin=stdin)
        return Reply(head=head, body=body, hijack=hijack, keep_alive=False, status=101, feed=feed)

    def raw(self, data: bytes, status: int) -> Reply:
        """Bytes written as they are, then the connection closes (a refused handshake)."""
        return Reply(head=data, keep_alive=False, status=status)

    def _moved(self, location: str) -> Reply:
        """The router's 301 to the cleaned path: written before any handler runs, so without
        the engine's own headers (Api-Version, Server, ...), as dockerd's."""
        headers = [("Location", location), ("Date", http_date(time.time()))]
        headers.append(("Content-Length", "0"))
        data = self._conn.send(h11.Response(status_code=301, headers=headers)) or b""
        data += self._conn.send(h11.EndOfMessage()) or b""
        return Reply(head=data, keep_alive=self._conn.our_state is h11.DONE, status=301)

    def _bad_request(self, status: int, reason: str) -> Reply:
        # The request never parsed: the engine's Go server answers a bare 400 (505 for an
        # unknown version) and closes; h11 is left behind, the connection ends here.
        title = REFUSAL_REASONS.get(status, b"Bad Request")
        body = b"%d %s: %s" % (status, title, reason.encode("latin-1", "replace"))
        head = (
            b"HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n" % (status, title, len(body))
        )
        fault = f"refused a request ({status}): {reason}"
        return Reply(head=head + body, keep_alive=False, status=status, fault=fault)

    def _too_large(self) -> Reply:
        reply = self.error(413, f"request body larger than {MAX_REQUEST_BODY} bytes", self.max)
        reply.keep_alive = False
        return reply


# Reason phrases of the statuses a request is refused with before it parses.
REFUSAL_REASONS = {
    400: b"Bad Request",
    431: b"Request Header Fields Too Large",
    505: b"HTTP Version Not Supported",
}


def _refused_framing(event: h11.Request) -> tuple[int, str] | None:
    """(status, reason) for a request head h11 accepts but the engine's Go server refuses.

    Both Content-Length and Transfer-Encoding make the body's end ambiguous (the
    request-smuggling case of RFC 9112 6.3); a major version other than 1 is not HTTP/1.x.
    """
    if not event.http_version.startswith(b"1."):
        return 505, f"unsupported protocol version HTTP/{event.http_version.decode()}"
    names = {name for name, _ in event.headers}
    if b"content-length" in names and b"transfer-encoding" in names:
        return 400, "both Content-Length and Transfer-Encoding"
    return None


def split_target(target: str) -> SplitResult:
    """The request target's parts as Go's url.ParseRequestURI reads them.

    An origin-form target ("/path?query") has no authority, even when it starts
    with "//": urlsplit would read "//x/_ping" as host "x" and path "/_ping".
    """
    if target.startswith("/"):
        path, mark, rest = target.partition("?")
        return SplitResult("", "", path, rest if mark else "", "")
    return urlsplit(target)


# What Go's url.URL leaves unescaped in a path (its shouldEscape for encodePath); Python's
# quote keeps letters, digits and "_.-~" itself.
GO_PATH_SAFE = "$&+,/:;=@"


def clean_path(path: str) -> str:
    """The path as the engine's router (gorilla/mux's cleanPath) wants it: empty and ``.``
    segments dropped, ``..`` resolved (Go's path.Clean), a trailing slash kept.

    Not posixpath.normpath: that keeps a leading ``//`` (POSIX lets it mean something),
    where path.Clean makes it ``/``.  A path that differs is answered 301 to the clean one.
    """
    kept: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment not in ("", "."):
            kept.append(segment)
    clean = "/" + "/".join(kept)
    return clean + "/" if path.endswith("/") and clean != "/" else clean


def flag(request: Request, name: str) -> bool:
    """A boolean query parameter as the engine's ``httputils.BoolValue`` reads it."""
    return routes.flag(request.query, name)


def _exists(route: routes.Route, version: ApiVersion) -> bool:
    """Whether an engine answering at ``version`` has ``route`` (else: 404, unknown path)."""
    return route.row is None or eras.has(route.row, version)


def _received(request: Request) -> Received:
    return Received(
        method=request.method,
        target=request.target,
        path=request.path,
        version=request.version,
        query={k: list(v) for k, v in request.query.items()},
        headers=dict(request.headers),
        body=request.body,
    )


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(seconds: float) -> str:
    """An IMF-fixdate (RFC 9110 5.6.7), as Go's server writes ``Date``.

    Not ``email.utils.formatdate``: the email package imports ``socket``, and this
    module stays free of I/O modules.
    """
    t = time.gmtime(seconds)
    return (
        f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT"
    )
