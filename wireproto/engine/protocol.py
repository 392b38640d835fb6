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
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

import h11

from wireproto import jsonstream, mux
from wireproto.engine import query
from wireproto.engine.script import (
    ATTACH_PIECE,
    LOG_PIECE,
    Container,
    Encoded,
    Script,
    chunk,
)
from wireproto.errors import InvalidVersion
from wireproto.sentinel import NEED_DATA, Sentinel
from wireproto.versions import JSON_ERRORS, ApiVersion, parse

# Largest request body read (container create, auth): the engine reads JSON
# bodies whole; build contexts are not served.
MAX_REQUEST_BODY = 1024 * 1024
# h11's default head limit (16 KiB) is what the engine's Go server allows too (1 MiB is
# Go's default; requests from real clients are a few hundred bytes).
MAX_HEAD = 64 * 1024

# Bytes per write of a streamed body (the socket loop writes piece by piece).
PIECE = 64 * 1024

CLOSED = Sentinel("CLOSED")  # the client closed the connection: no more requests


@dataclass
class Hijack:
    """An attach stream: after the output, echo stdin back (if attached) until its EOF."""

    tty: bool
    echo_stdin: bool
    early_stdin: bytes = b""

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
    another request may follow on the connection.
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


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    version: ApiVersion = field(default_factory=lambda: ApiVersion(1, 41))


class ServerConnection:
    """One client connection to the stub: feed it bytes, take replies."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.max = ApiVersion(*script.max_version)
        self.min = ApiVersion(*script.min_version)
        self._conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD)
        self._request: h11.Request | None = None
        self._body = bytearray()

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
        try:
            url = urlsplit(event.target.decode("latin-1"))
        except ValueError as exc:  # e.g. "http://[::1/": Go's server refuses the request
            return self._bad_request(400, f"malformed request target: {exc}")
        request = _Request(
            method=event.method.decode("ascii"),
            path=unquote(url.path),
            query=parse_qs(url.query, keep_blank_values=True),
            headers={n.decode().lower(): v.decode("latin-1") for n, v in event.headers},
            body=bytes(self._body),
            version=self.max,
        )
        versioned = self._versioned(request)
        if isinstance(versioned, Reply):
            return versioned
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

    def _versioned(self, request: _Request) -> Reply | None:
        head, _, rest = request.path[1:].partition("/")
        if not head.startswith("v") or not rest:
            return None
        try:
            version = parse(head[1:])
        except InvalidVersion:
            return self.error(404, "page not found", self.max)
        request.path = "/" + rest
        request.version = version
        if version < self.min:
            message = (
                f"client version {version} is too old. Minimum supported API version is "
                f"{self.min}, please upgrade your client to a newer version"
            )
            return self.error(400, message, version)
        if version > self.max:
            message = (
                f"client version {version} is too new. Maximum supported API version is {self.max}"
            )
            return self.error(400, message, version)
        return None

    def _route(self, request: _Request) -> Reply:
        parts = request.path.strip("/").split("/")
        method = request.method
        if method in ("GET", "HEAD") and parts == ["_ping"]:
            return self.document(200, b"OK", "text/plain; charset=utf-8", head=method == "HEAD")
        if method == "GET" and parts == ["version"]:
            return self.json(self._version_document())
        if method == "GET" and parts == ["info"]:
            return self.json(self._info_document())
        if method == "GET" and parts == ["containers", "json"]:
            return self.json([self._summary(c) for c in self._listed(request)])
        if method == "GET" and parts == ["images", "json"]:
            return self.json(self._images())
        if method == "POST" and parts == ["images", "create"]:
            return self._pull(request)
        if method == "GET" and parts == ["events"]:
            return self._events(request)
        if len(parts) == 3 and parts[0] == "containers":
            return self._container_route(request, parts[1], parts[2])
        return self.error(404, "page not found", request.version)

    def _container_route(self, request: _Request, ref: str, action: str) -> Reply:
        known = {("GET", "json"), ("GET", "logs"), ("POST", "attach"), ("POST", "wait")}
        if (request.method, action) not in known:
            return self.error(404, "page not found", request.version)
        container = self.script.container(ref)
        if container is None:
            return self.error(404, f"No such container: {ref}", request.version)
        if action == "json":
            return self.json(self._inspect(container))
        if action == "wait":
            return self.json({"Error": None, "StatusCode": container.exit_code})
        if action == "logs":
            return self._logs(request, container)
        return self._attach(request, container)

    # --- replies -----------------------------------------------------------------------

    def _headers(self, content_type: str | None = None) -> list[tuple[str, str]]:
        headers = [("Api-Version", str(self.max))]
        if content_type:
            headers.append(("Content-Type", content_type))
        headers += [
            ("Docker-Experimental", "false"),
            ("Ostype", "linux"),
            ("Server", f"Docker/{self.script.server_version} (linux)"),
            ("Date", http_date(time.time())),
        ]
        return headers

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
    ) -> Reply:
        """A chunked reply whose ``body`` pieces are already HTTP chunks."""
        headers = [*self._headers(content_type), ("Transfer-Encoding", "chunked")]
        head = self._conn.send(h11.Response(status_code=200, headers=headers)) or b""
        end = b"" if hold_open else self._conn.send(h11.EndOfMessage()) or b""
        return Reply(
            head=head, body=body, end=end, rate=rate, hold_open=hold_open, keep_alive=not hold_open
        )

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

    # --- endpoints -------------------------------------------------------------------------

    def _version_document(self) -> dict[str, object]:
        version = self.script.server_version
        # The engine reports its build both at the top and in its component's Details.
        build = {
            "ApiVersion": str(self.max),
            "MinAPIVersion": str(self.min),
            "GitCommit": "wireproto",
            "GoVersion": "go1.x",
            "Os": "linux",
            "Arch": "amd64",
            "KernelVersion": "stub",
        }
        built_at = "2023-11-14T22:13:20.000000000+00:00"
        return {
            "Platform": {"Name": "wireproto stub engine"},
            "Components": [
                {
                    "Name": "Engine",
                    "Version": version,
                    "Details": {**build, "Experimental": "false", "BuildTime": built_at},
                }
            ],
            "Version": version,
            **build,
            "BuildTime": built_at,
        }

    def _info_document(self) -> dict[str, object]:
        containers = self.script.containers
        running = sum(c.running for c in containers)
        return {
            "ID": "WIRE:PROT:STUB",
            "Containers": len(containers),
            "ContainersRunning": running,
            "ContainersPaused": 0,
            "ContainersStopped": len(containers) - running,
            "Images": len(self.script.images),
            "Driver": "stub",
            "ServerVersion": self.script.server_version,
            "OperatingSystem": "wireproto stub engine",
            "OSType": "linux",
            "Architecture": "x86_64",
            "NCPU": 1,
            "MemTotal": 1 << 30,
            "Name": "wireproto-stub",
        }

    def _listed(self, request: _Request) -> list[Container]:
        everything = flag(request, "all")
        return [c for c in self.script.containers if everything or c.running]

    def _summary(self, container: Container) -> dict[str, object]:
        return {
            "Id": container.id,
            "Names": ["/" + container.name],
            "Image": container.image,
            "Command": "sh",
            "Created": 1_700_000_000,
            "State": "running" if container.running else "exited",
            "Status": "Up" if container.running else f"Exited ({container.exit_code})",
            "Ports": [],
            "Labels": {},
        }

    def _inspect(self, container: Container) -> dict[str, object]:
        return {
            "Id": container.id,
            "Name": "/" + container.name,
            "Created": "2023-11-14T22:13:20.000000000Z",
            "Image": "sha256:" + "0" * 64,
            "State": {
                "Status": "running" if container.running else "exited",
                "Running": container.running,
                "Paused": False,
                "Restarting": False,
                "ExitCode": container.exit_code,
                "Pid": 4242 if container.running else 0,
            },
            "Config": {
                "Tty": container.tty,
                "OpenStdin": True,
                "AttachStdin": False,
                "AttachStdout": True,
                "AttachStderr": True,
                "Image": container.image,
                "Cmd": ["sh"],
            },
            "HostConfig": {"LogConfig": {"Type": "json-file", "Config": {}}},
        }

    def _images(self) -> list[dict[str, object]]:
        return [
            {
                "Id": image.id,
                "RepoTags": [image.reference],
                "RepoDigests": [f"{image.repository}@{image.digest}"],
                "Created": 1_700_000_000,
                "Size": sum(size for _, size in image.layers),
                "Labels": None,
            }
            for image in self.script.images
        ]

    def _streams(self, request: _Request) -> set[int] | None:
        streams = {
            s for s, name in ((mux.STDOUT, "stdout"), (mux.STDERR, "stderr")) if flag(request, name)
        }
        return streams or None

    def _logs(self, request: _Request, container: Container) -> Reply:
        streams = self._streams(request)
        if streams is None:
            return self.error(
                400, "Bad parameters: you must choose at least one stream", request.version
            )
        first, stop, until = self._log_window(request, container)
        encoded = Encoded(
            container,
            chunked=True,
            piece=LOG_PIECE,
            streams=streams,
            timestamps=flag(request, "timestamps"),
        )
        following = flag(request, "follow") and container.running and until is None
        return self.streamed(
            encoded.pieces(first, stop, paced_piece(container.output.rate)),
            None,
            rate=container.output.rate,
            hold_open=following,
        )

    def _log_window(self, request: _Request, container: Container) -> tuple[int, int, int | None]:
        """(first, stop, until) from tail, since and until, read as dockerd 20.10 reads them.

        tail: not an integer, or negative, means all; since: any value filters
        (``-1`` or ``0`` keep everything scripted); until: empty or ``0`` means none.
        """
        tail_text = request.query.get("tail", [""])[0]
        tail = int(tail_text) if re.fullmatch(r"[+-]?[0-9]+", tail_text) else -1
        since_text = request.query.get("since", [""])[0]
        until_text = request.query.get("until", [""])[0]
        since = query.timestamp(since_text)
        until = query.timestamp(until_text) if until_text != "0" else None
        first, stop = container.window(tail if tail >= 0 else None, since, until)
        return first, stop, until

    def _attach(self, request: _Request, container: Container) -> Reply:
        streams = self._streams(request) or set()
        stdin = flag(request, "stdin")
        encoded = Encoded(container, chunked=False, piece=ATTACH_PIECE, streams=streams)
        media = "application/vnd.docker.raw-stream"
        upgrade = request.headers.get("upgrade", "").lower() == "tcp"
        if upgrade:
            head = (
                self._conn.send(
                    h11.InformationalResponse(
                        status_code=101,
                        headers=[
                            ("Content-Type", media),
                            ("Connection", "Upgrade"),
                            ("Upgrade", "tcp"),
                        ],
                        reason=b"UPGRADED",
                    )
                )
                or b""
            )
        else:
            head = b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\n\r\n" % media.encode()
        hijack = Hijack(tty=container.tty, echo_stdin=stdin, early_stdin=self.trailing_data)
        return Reply(
            head=head,
            body=encoded.pieces(size=paced_piece(container.output.rate)),
            rate=container.output.rate,
            delay=container.attach_delay,
            hijack=hijack,
            keep_alive=False,
            status=101 if upgrade else 200,
        )

    def _pull(self, request: _Request) -> Reply:
        repository = request.query.get("fromImage", [""])[0]
        tag = request.query.get("tag", [""])[0] or "latest"
        if ":" in repository and not tag:
            repository, tag = repository.rsplit(":", 1)
        image = self.script.image(repository, tag)
        if image is None:
            message = (
                f"pull access denied for {repository}, repository does not exist or may "
                "require 'docker login': denied: requested access to the resource is denied"
            )
            return self.error(404, message, request.version)
        return self.streamed(image.pull_body(), "application/json")

    def _events(self, request: _Request) -> Reply:
        until_text = request.query.get("until", [""])[0]
        since, until = query.event_window(request.query.get("since", [""])[0], until_text)
        filters = query.filters(request.query.get("filters", [""])[0])
        chosen = [
            e
            for e in self.script.all_events()
            if (since is None or since <= e.time_ns)
            and (until is None or e.time_ns <= until)
            and e.matches(filters)
        ]
        body: Iterator[bytes] = (chunk(jsonstream.encode(e.message(), b"\n")) for e in chosen)
        return self.streamed(body, "application/json", hold_open=not until_text)


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


def paced_piece(rate: float | None) -> int:
    """Bytes per write: 64 KiB, or a twentieth of a second's worth when paced.

    The pace allows each write once the bytes before it are due, so a write is a
    burst: at a low rate a 64 KiB one would arrive seconds ahead of its time.
    """
    return PIECE if not rate else max(1, min(PIECE, int(rate / 20)))


def flag(request: _Request, name: str) -> bool:
    """A boolean query parameter as the engine's ``httputils.BoolValue`` reads it."""
    value = request.query.get(name, [""])[0].strip().lower()
    return value not in ("", "0", "no", "false", "none")


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
