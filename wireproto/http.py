"""HTTP/1.1 for the Engine API: requests, response heads, error replies.

Strategy: h11 writes requests and parses response *heads*; bodies are framed
by :mod:`wireproto.body` (h11 decodes small chunks far too slowly for logs).
:class:`HeadReader` buffers bytes until the blank line that ends a head,
under a size limit, and hands exactly those bytes to the exchange's own
``h11.Connection``; whatever follows the head is the body (or, after a
hijack, the stream) and is handed back untouched.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

import h11

from wireproto import __version__, jsonstream
from wireproto.errors import (
    APIError,
    Conflict,
    InvalidResponse,
    LocalProtocolError,
    NotFound,
    UnexpectedStatus,
)
from wireproto.versions import ApiVersion

# Longest response head accepted.  The engine's heads are ~300 bytes; h11's
# default limit is 16 KiB and nginx's header buffers 4 x 8 KiB: 64 KiB leaves
# room for proxies in between while bounding what a bad peer can make us hold.
MAX_HEAD_SIZE = 64 * 1024
# Most of an error body kept for APIError.body; the rest is read and dropped.
# Engine error messages are a line or two.
MAX_ERROR_BODY = 64 * 1024
# Largest whole JSON document buffered (inspect, version, container lists).
# Even `GET /containers/json?all=1` on a busy engine is a few MiB.
MAX_DOCUMENT = 64 * 1024 * 1024

USER_AGENT = f"wireproto/{__version__}"
# Host header on unix sockets, as the docker CLI sent it for years.
UNIX_HOST = "docker"

_HEAD_END = re.compile(rb"\n\r?\n")  # h11 accepts bare LF line ends too
_TOKEN = re.compile(r"\A[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")


class BodyKind(enum.Enum):
    """What the response body of a call is, and so which events it gives."""

    EMPTY = "empty"  # nothing of interest (the body is read and dropped)
    DOCUMENT = "document"  # one JSON document -> Document
    JSONSTREAM = "jsonstream"  # concatenated JSON values -> Data (raw bytes)
    STDIO = "stdio"  # multiplexed or raw container output -> Output
    BYTES = "bytes"  # opaque bytes (text, ...) -> Data
    TAR = "tar"  # a tar stream (export, copy, image get) -> Data, framed as BYTES


# Headers whose values are credentials (lowercased): a repr or error shows them as <hidden>.
SECRET_HEADERS = frozenset(
    {"x-registry-auth", "x-registry-config", "authorization", "proxy-authorization"}
)


def shown_header(name: str, value: str) -> str:
    """``value`` as a repr or an error message may show it: hidden for a credential header."""
    return "'<hidden>'" if name.lower() in SECRET_HEADERS else repr(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """One HTTP request; ``body`` is bytes (Content-Length) or an iterable (chunked).

    Its repr and str hide credential headers and show a bytes body by its
    length only (a body may hold a password: push before 1.5, login).
    """

    method: str
    target: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | Iterable[bytes] | None = None

    def __post_init__(self) -> None:
        check_token("method", self.method)
        check_target(self.target)
        for name, value in self.headers:
            check_header(name, value)

    def __repr__(self) -> str:
        headers = ", ".join(f"({name!r}, {shown_header(name, v)})" for name, v in self.headers)
        if isinstance(self.body, bytes):
            body = f"<{len(self.body)} bytes>"
        elif self.body is None:
            body = "None"
        else:
            body = f"<streamed {type(self.body).__name__}>"
        return (
            f"Request(method={self.method!r}, target={self.target!r}, "
            f"headers=({headers}{',' if len(self.headers) == 1 else ''}), body={body})"
        )

    __str__ = __repr__


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """A request and how its response is framed: what an endpoint function returns.

    ``hijack`` asks for the connection to become a raw duplex pipe after the
    head (attach, exec start); ``tty`` is what the caller knows of the
    container's TTY (None: unknown) and ``endpoint`` names the operation
    ("logs", "attach", "exec.start", ...): both feed framing resolution.
    ``statuses`` are the success statuses the API documents for it (e.g.
    ``(204, 304)`` for start: 304 when already started); ``()`` means any
    status below 400.  Another success status fails the exchange with
    :class:`errors.UnexpectedStatus` (see :func:`status_error`).

    ``shape`` is the call's normaliser, bound to the API version it was made
    at (see :mod:`wireproto.api.shapes`): it turns the JSON document as that
    version's engine sent it into today's shape (``RepoTags``, ``Ports`` as a
    list, CamelCase inspect keys, ...), and raises
    :class:`errors.RemoteProtocolError` naming the field for a document that
    fits neither shape.  None: the document has one shape at every version.
    :meth:`normalise` applies it; the adapters' ``Reply.document`` is the
    normalised document, ``Reply.raw`` the one the engine sent.

    ``bulk`` says the body is a dump that ends by itself (logs without
    follow): nobody watches it line by line, so an adapter may let bytes
    pile up between reads (the blocking adapter's ``ReadPacer``).
    """

    request: Request
    kind: BodyKind
    hijack: bool = False
    tty: bool | None = None
    endpoint: str = ""
    statuses: tuple[int, ...] = ()
    shape: Callable[[object], object] | None = None
    bulk: bool = False

    def expects(self, status: int) -> bool:
        """Whether ``status`` is one of this call's documented success statuses."""
        return status in self.statuses if self.statuses else status < 400

    def normalise(self, document: object) -> object:
        """``document`` (the decoded body; None when there was none) in today's shape.

        A new value: ``document`` itself is left as the engine sent it.
        """
        return document if self.shape is None else self.shape(document)


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    """A response head (event): status, reason and headers (names lowercased).

    ``hijacked`` is True when the connection became the container's stream
    (``101``, or the legacy ``200`` raw-stream reply with no body framing).
    """

    status: int
    reason: str
    http_version: str = "1.1"
    headers: tuple[tuple[str, str], ...] = field(default=())
    hijacked: bool = False

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case); repeated headers joined by ", "."""
        name = name.lower()
        values = [v for n, v in self.headers if n == name]
        return ", ".join(values) if values else None

    @property
    def api_version(self) -> str | None:
        return self.header("api-version")

    @property
    def content_type(self) -> str | None:
        """The media type, lowercased, without parameters (``; charset=...``)."""
        value = self.header("content-type")
        return value.split(";", 1)[0].strip().lower() if value else None

    @property
    def os_type(self) -> str | None:
        return self.header("ostype")

    @property
    def experimental(self) -> bool | None:
        value = self.header("docker-experimental")
        return None if value is None else value.strip().lower() == "true"


# --- building requests ----------------------------------------------------


def check_token(what: str, value: str) -> None:
    """A method or header name: an RFC 9110 token, nothing else."""
    if not _TOKEN.match(value):
        raise LocalProtocolError(f"{what} {value!r} is not a valid HTTP token")


def check_header(name: str, value: str) -> None:
    """Refuses header injection: control characters (CR, LF, NUL, ...) in a value."""
    check_token("header name", name)
    if _FORBIDDEN.search(value.replace("\t", " ")):
        shown = shown_header(name, value)
        raise LocalProtocolError(f"header {name} value {shown} contains a control character")


def check_target(target: str) -> None:
    """Refuses request-line injection: spaces or control characters in a target."""
    if not target.startswith("/"):
        raise LocalProtocolError(f"request target {target!r} must start with '/'")
    if _FORBIDDEN.search(target) or " " in target or not target.isascii():
        raise LocalProtocolError(
            f"request target {target!r} contains a space, control or non-ASCII character"
        )


def quote_param(value: str) -> str:
    """A path parameter (container id or name, image reference), percent-encoded."""
    if not value:
        raise LocalProtocolError("an empty path parameter (container, image or exec id)")
    if _FORBIDDEN.search(value):
        raise LocalProtocolError(f"path parameter {value!r} contains a control character")
    return quote(value, safe=":@")


QueryValue = str | int | bool | None | Sequence[str] | Mapping[str, Sequence[str]]


def encode_query(params: Mapping[str, QueryValue]) -> str:
    """A query string as the engine parses it.

    Booleans are ``1``/``0`` (the engine's BoolValue), None is left out,
    lists repeat the key, and a mapping (``filters``) is JSON-encoded as
    ``{"key": ["value", ...]}``, which every version with filters accepts.
    """
    parts: list[str] = []
    for key, value in params.items():
        for item in _query_items(value):
            parts.append(f"{quote(key, safe='')}={quote(item, safe='')}")
    return "&".join(parts)


def _query_items(value: QueryValue) -> list[str]:
    if value is None:
        return []
    if isinstance(value, bool):
        return ["1" if value else "0"]
    if isinstance(value, int):
        return [str(value)]
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [json.dumps({k: list(v) for k, v in value.items()}, separators=(",", ":"))]
    return [str(item) for item in value]


def target(
    path: str,
    *params: str,
    version: ApiVersion | None = None,
    query: Mapping[str, QueryValue] | None = None,
) -> str:
    """``path`` with ``{}`` filled by quoted ``params``, a version prefix and a query."""
    built = path.format(*(quote_param(p) for p in params))
    if version is not None:
        built = version.prefix + built
    encoded = encode_query(query or {})
    return f"{built}?{encoded}" if encoded else built


def request(
    method: str,
    path: str,
    *params: str,
    version: ApiVersion | None = None,
    query: Mapping[str, QueryValue] | None = None,
    json_body: object = None,
    body: bytes | Iterable[bytes] | None = None,
    headers: Sequence[tuple[str, str]] = (),
) -> Request:
    """A Request; ``json_body`` (any JSON value but None) is encoded with its Content-Type."""
    extra = list(headers)
    if json_body is not None:
        body = json.dumps(json_body, separators=(",", ":")).encode()
        extra.append(("Content-Type", "application/json"))
    return Request(
        method=method,
        target=target(path, *params, version=version, query=query),
        headers=tuple(extra),
        body=body,
    )


def h11_request(req: Request, *, host: str, hijack: bool) -> h11.Request:
    """The h11 event for ``req``: Host, User-Agent, framing and upgrade headers added."""
    headers = [("Host", host), ("User-Agent", USER_AGENT), *req.headers]
    names = {name.lower() for name, _ in req.headers}
    if isinstance(req.body, bytes):
        headers.append(("Content-Length", str(len(req.body))))
    elif req.body is not None and "content-length" not in names:
        # A streamed body of unknown length; with a Content-Length given, h11
        # sends it as is and checks that the stream matches it.
        headers.append(("Transfer-Encoding", "chunked"))
    elif req.method in ("POST", "PUT") and "content-length" not in names:
        headers.append(("Content-Length", "0"))
    if hijack:
        headers += [("Connection", "Upgrade"), ("Upgrade", "tcp")]
    return h11.Request(method=req.method, target=req.target, headers=headers)


# --- reading heads --------------------------------------------------------


class HeadReader:
    """Finds response heads in the byte stream and parses them with h11.

    ``feed`` appends bytes; ``next_head`` returns the next head's h11 event
    (interim ``1xx`` heads other than ``101`` are skipped) or None until the
    head is complete.  ``rest`` then holds the bytes that followed it.  The
    search resumes where it stopped, so a peer trickling bytes costs O(n).
    """

    def __init__(self, conn: h11.Connection, limit: int = MAX_HEAD_SIZE) -> None:
        self._conn = conn
        self._limit = limit
        self._buffer = bytearray()
        self._searched = 0  # no head end starts before this offset
        self._received = 0  # response bytes received, for error offsets
        self.rest = b""

    @property
    def received(self) -> int:
        return self._received

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        self._buffer += data
        self._received += len(data)

    def next_head(self) -> h11.Response | h11.InformationalResponse | None:
        while True:
            match = _HEAD_END.search(self._buffer, self._searched)
            if match is None:
                self._check_limit(len(self._buffer))
                self._searched = max(0, len(self._buffer) - 2)
                return None
            end = match.end()
            self._check_limit(end)
            event = self._parse(bytes(self._buffer[:end]))
            del self._buffer[:end]
            self._searched = 0
            if isinstance(event, h11.Response) or event.status_code == 101:
                self.rest = bytes(self._buffer)
                self._buffer.clear()
                return event

    def _check_limit(self, size: int) -> None:
        if size > self._limit:
            raise InvalidResponse(
                f"response head longer than {self._limit} bytes (MAX_HEAD_SIZE)", self._received
            )

    def _parse(self, head: bytes) -> h11.Response | h11.InformationalResponse:
        self._conn.receive_data(head)
        try:
            event = self._conn.next_event()
        except h11.RemoteProtocolError as exc:
            raise InvalidResponse(f"malformed response head: {exc}", self._received) from exc
        if not isinstance(event, h11.Response | h11.InformationalResponse):
            raise InvalidResponse(f"unexpected {type(event).__name__} in head", self._received)
        return event


def response_from_h11(
    event: h11.Response | h11.InformationalResponse, *, hijacked: bool
) -> Response:
    """Our Response event from h11's."""
    return Response(
        status=event.status_code,
        reason=event.reason.decode("latin-1"),
        http_version=event.http_version.decode("ascii"),
        headers=tuple((n.decode("latin-1"), v.decode("latin-1")) for n, v in event.headers),
        hijacked=hijacked,
    )


# --- errors ---------------------------------------------------------------

_ERROR_CLASSES: dict[int, type[APIError]] = {404: NotFound, 409: Conflict}


def error_message(body: bytes, content_type: str | None) -> str:
    """The engine's message: JSON ``{"message"}`` (API >= 1.24) or the plain-text body."""
    text = body.decode("utf-8", "replace").strip()
    if content_type == "application/json" or text.startswith("{"):
        if jsonstream.first_too_deep(body, jsonstream.MAX_DEPTH) >= 0:
            return _cut(text)  # json.loads would recurse past Python's limit
        try:
            document = json.loads(text)
        except ValueError:
            return text
        except RecursionError:  # within the limit, but the caller's stack was deep
            return _cut(text)
        if isinstance(document, dict) and isinstance(document.get("message"), str):
            return str(document["message"])
    return text


ERROR_TEXT = 200  # characters of an error body shown when it is not a message


def _cut(text: str) -> str:
    return text if len(text) <= ERROR_TEXT else text[: ERROR_TEXT - 3] + "..."


def status_error(call: Call, response: Response, body: bytes) -> APIError | UnexpectedStatus:
    """The error a response the call does not expect ends in, once its body is read:
    APIError for an error status (>= 400), UnexpectedStatus for a success status
    that is not one of ``call.statuses``."""
    target = call.request.target
    if response.status >= 400:
        return api_error(response, body, target)
    return UnexpectedStatus(response.status, call.statuses, body, target=target)


def api_error(response: Response, body: bytes, target: str = "") -> APIError:
    """The APIError (NotFound for 404, Conflict for 409) for an error response."""
    message = error_message(body, response.content_type) or response.reason
    cls = _ERROR_CLASSES.get(response.status, APIError)
    return cls(response.status, message, body, reason=response.reason, target=target)
