"""docker-py on wireproto: the same client, its streams decoded by wireproto.

``APIClient`` and ``DockerClient`` are docker-py's, with the private hooks its
streaming goes through (stable in name and signature from docker-py 4.4 to
7.1) reading the wire with wireproto's decoders:

- logs, streamed or not (and ``containers.run``): frames decoded in C, one
  item per frame as docker-py gives them;
- attach, exec_start, exec_run: the bytes that came with the 101 head are
  kept (stock docker-py drops them, and may then read a payload byte as a
  frame header); ``attach_socket`` gives a socket that serves them first;
- pull, push, build, events: one item per HTTP chunk, or dicts decoded from
  the bytes, so a UTF-8 character split between chunks stays whole.

What docker-py's callers see is unchanged: the same items, types, order,
``None`` for an empty demuxed stream, the same errors, ``close()`` from
another thread.  A stream cut short ends as it does on stock docker-py,
unless the client is made with ``strict=True``: then a typed wireproto error
says where.  Whatever it does not handle (``ssh://``, ``npipe://``, responses
it does not expect, a urllib3 that read body bytes ahead) is left to stock
docker-py.  Nothing global changes unless :func:`install` is called.
"""

from __future__ import annotations

import codecs
import io
import struct
from collections.abc import Iterator
from typing import Any

try:
    import docker
    import docker.client
    from docker.api.client import APIClient as _StockAPIClient
    from docker.utils.json_stream import json_decoder, json_splitter, split_buffer
    from docker.utils.socket import consume_socket_output, demux_adaptor
except ImportError as missing:  # pragma: no cover - the extra is not installed
    raise ImportError(
        "wireproto.integrations.docker_py needs docker-py: pip install 'wireproto[docker-py]'"
    ) from missing
import requests
import urllib3

from wireproto import mux
from wireproto.chunked import ChunkedDemuxer
from wireproto.errors import FrameError, IncompleteBody
from wireproto.integrations._socket import HeadSocket, raw_socket_of
from wireproto.integrations._wire import CutBody, WireBody, wire_of

__all__ = ["APIClient", "DockerClient", "adopt", "install", "installed", "uninstall"]

# docker-py's own hooks, for what is left to it.
_STOCK: dict[str, Any] = {}
_HOOKS = (
    "_get",
    "_get_result_tty",
    "_multiplexed_buffer_helper",
    "_multiplexed_response_stream_helper",
    "_read_from_socket",
    "_get_raw_response_socket",
    "_stream_helper",
)
for _name in _HOOKS:
    _STOCK[_name] = getattr(_StockAPIClient, _name)

_BUFFERED = "_wireproto_buffered"  # on a logs response we asked for with stream=True
_HEADER = struct.Struct(">BxxxL")


def _handled(client: Any) -> bool:
    """Whether this client's transport is one wireproto reads (not ssh, npipe)."""
    base = str(getattr(client, "base_url", ""))
    return not (base.startswith("http+docker://ssh") or base == "http+docker://localnpipe")


def _strict(client: Any) -> bool:
    return bool(getattr(client, "_wireproto_strict", False))


def _cut(client: Any, error: Exception) -> Exception:
    """The error of a body cut short: wireproto's typed one for strict clients,
    else the one stock docker-py meets there (urllib3's ProtocolError, which
    docker-py's CancellableStream turns into a quiet end)."""
    if _strict(client):
        return error
    return urllib3.exceptions.ProtocolError("Response ended prematurely", error)


class WireprotoHooks:
    """The hooks, as a mixin over docker-py's APIClient (see the module doc)."""

    # -- logs --------------------------------------------------------------------
    def _get(self, url: str, **kwargs: Any) -> Any:
        """Logs not streamed are read by wireproto off the wire, so the body
        must not be read by requests first: asked for with stream=True, marked."""
        if kwargs.get("stream") is False and url.endswith("/logs") and _handled(self):
            kwargs["stream"] = True
            response = _STOCK["_get"](self, url, **kwargs)
            setattr(response, _BUFFERED, True)
            return response
        return _STOCK["_get"](self, url, **kwargs)

    def _get_result_tty(self, stream: bool, res: Any, is_tty: bool) -> Any:
        if stream or not getattr(res, _BUFFERED, False):
            return _STOCK["_get_result_tty"](self, stream, res, is_tty)
        self._raise_for_status(res)  # type: ignore[attr-defined]
        wire = wire_of(res)
        if wire is None:  # requests reads it as it always does
            return _STOCK["_get_result_tty"](self, stream, res, is_tty)
        try:
            return _whole_body(self, wire) if is_tty else _frames_joined(self, wire)
        finally:
            res.close()

    def _multiplexed_buffer_helper(self, response: Any) -> Iterator[bytes]:
        wire = wire_of(response) if getattr(response, _BUFFERED, False) else None
        if wire is None:
            yield from _STOCK["_multiplexed_buffer_helper"](self, response)
            return
        try:
            yield _frames_joined(self, wire)
        finally:
            response.close()

    def _multiplexed_response_stream_helper(self, response: Any) -> Iterator[bytes]:
        wire = wire_of(response) if _handled(self) else None
        if wire is None:
            yield from _STOCK["_multiplexed_response_stream_helper"](self, response)
            return
        socket = self._get_raw_response_socket(response)
        self._disable_socket_timeout(socket)  # type: ignore[attr-defined]
        yield from _frames(self, wire)

    # -- attach, exec --------------------------------------------------------------
    def _get_raw_response_socket(self, response: Any) -> Any:
        fp = getattr(getattr(getattr(response, "raw", None), "_fp", None), "fp", None)
        sock = raw_socket_of(fp) if isinstance(fp, io.BufferedReader) and _handled(self) else None
        if sock is None or not isinstance(fp, io.BufferedReader):
            return _STOCK["_get_raw_response_socket"](self, response)
        self._raise_for_status(response)  # type: ignore[attr-defined]
        return HeadSocket(fp, sock, response)

    def _read_from_socket(
        self, response: Any, stream: bool, tty: bool = True, demux: bool = False
    ) -> Any:
        socket = self._get_raw_response_socket(response)
        if not isinstance(socket, HeadSocket):
            return _STOCK["_read_from_socket"](self, response, stream, tty, demux)
        frames = _socket_frames(self, socket, tty)
        gen = (demux_adaptor(*f) for f in frames) if demux else (data for _, data in frames)
        if stream:
            return gen
        try:
            return consume_socket_output(gen, demux=demux)
        finally:
            response.close()

    # -- JSON streams: pull, push, build, events -----------------------------------
    def _stream_helper(self, response: Any, decode: bool = False) -> Iterator[Any]:
        wire = wire_of(response) if _handled(self) else None
        if wire is None or not wire.chunked:
            yield from _STOCK["_stream_helper"](self, response, decode)
            return
        if decode:
            yield from split_buffer(_text(_chunks(self, wire)), json_splitter, json_decoder.decode)
        else:
            yield from _chunks(self, wire)


def _chunks(client: Any, wire: WireBody) -> Iterator[bytes]:
    try:
        yield from wire.chunks()
    except CutBody as error:
        raise _cut(client, error) from None
    if wire.cut:
        raise _cut(client, IncompleteBody(0, "the connection ended inside the body"))


def _text(chunks: Iterator[bytes]) -> Iterator[str]:
    """The chunks as text, a character split between chunks kept whole (stock
    docker-py decodes each chunk alone, so a split character becomes two U+FFFD)."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    for chunk in chunks:
        text = decoder.decode(chunk)
        if text:
            yield text
    rest = decoder.decode(b"", final=True)
    if rest:
        yield rest


def _frames(client: Any, wire: WireBody) -> Iterator[bytes]:
    """Logs streamed: one ``bytes`` item per non-empty frame, as docker-py gives them."""
    demuxer = mux.frame_demuxer()
    for data in wire.reads():
        for _, payload in demuxer.feed(data):
            yield payload if type(payload) is bytes else bytes(payload)
    if wire.cut:  # stock: urllib3 fails the read, the frame it was reading is lost
        raise _cut(client, IncompleteBody(0, "the connection ended inside the logs body"))
    yield from _stream_end(client, demuxer)


def _stream_end(client: Any, demuxer: Any) -> Iterator[bytes]:
    """The body ended inside a frame: stock docker-py yields what came of its
    payload, or fails unpacking a cut header (struct.error)."""
    try:
        demuxer.close()
    except FrameError as error:
        if _strict(client):
            raise
        if getattr(error, "in_header", False):
            raise struct.error("unpack requires a buffer of 8 bytes") from None
        return iter([bytes(p) for _, p in error.pieces])
    return iter(())


def _frames_joined(client: Any, wire: WireBody) -> bytes:
    """Logs not streamed: every frame's payload in order, whatever its stream
    (as docker-py joins them), decoded in one pass in C."""
    out = bytearray()
    decoder = ChunkedDemuxer() if wire.chunked else mux.Demuxer()
    try:
        for data in wire.raw_reads():
            for _, payload in decoder.feed(data):
                out += payload
            if wire.chunked and decoder.done:  # type: ignore[attr-defined]
                break
        else:
            if wire.chunked:
                raise requests.exceptions.ChunkedEncodingError(
                    _cut(client, IncompleteBody(0, "the connection ended inside the logs body"))
                )
    except FrameError as error:
        if _strict(client):
            raise
        return _stock_walk(bytes(out), error)
    return bytes(out)


def _stock_walk(decoded: bytes, error: FrameError) -> bytes:
    """Stock docker-py does not check frame headers; on one that is not a
    header wireproto stops, and nothing decoded is dropped."""
    return decoded + b"".join(bytes(p) for _, p in error.pieces)


def _whole_body(client: Any, wire: WireBody) -> bytes:
    body = b"".join(bytes(part) for part in wire.reads())
    if wire.cut and wire.chunked:
        raise requests.exceptions.ChunkedEncodingError(
            _cut(client, IncompleteBody(0, "the connection ended inside the body"))
        )
    return body


def _socket_frames(client: Any, socket: HeadSocket, tty: bool) -> Iterator[tuple[int, bytes]]:
    """(stream, payload) per frame of a hijacked stream; per read with a TTY."""
    if tty:
        while data := _recv(socket):
            yield mux.STDOUT, data
        return
    demuxer = mux.frame_demuxer()
    while data := _recv(socket):
        for stream, payload in demuxer.feed(data):
            yield stream, payload if type(payload) is bytes else bytes(payload)
    try:
        demuxer.close()
    except FrameError as error:
        if _strict(client):
            raise
        # Stock docker-py yields a frame's payload as it reads it; a cut header is a quiet end.
        for stream, payload in error.pieces:
            yield stream, bytes(payload)


def _recv(socket: HeadSocket) -> bytes:
    try:
        return socket.recv(65536)
    except (OSError, ValueError):  # closed from another thread: the end, as in stock
        return b""


class APIClient(WireprotoHooks, _StockAPIClient):  # type: ignore[misc]
    """docker-py's ``APIClient`` with its streams read by wireproto.

    Takes docker-py's arguments, and ``strict=True`` for typed wireproto
    errors where a stream was cut short (stock docker-py ends quietly).
    """

    def __init__(self, *args: Any, strict: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wireproto_strict = strict


class DockerClient(docker.client.DockerClient):  # type: ignore[misc]
    """docker-py's ``DockerClient`` over :class:`APIClient` (``from_env`` included)."""

    def __init__(self, *args: Any, strict: bool = False, **kwargs: Any) -> None:
        self.api = APIClient(*args, strict=strict, **kwargs)


def adopt(client: Any, strict: bool = False) -> Any:
    """Routes the streams of a docker-py client built elsewhere (an APIClient
    or a DockerClient) through wireproto; returns it."""
    api = getattr(client, "api", client)
    if not isinstance(api, _StockAPIClient):
        raise TypeError(f"not a docker-py client: {type(client).__name__}")
    if not isinstance(api, WireprotoHooks):
        api.__class__ = _adopted_class(type(api))
    api._wireproto_strict = strict
    return client


_ADOPTED: dict[type, type] = {}


def _adopted_class(cls: type) -> type:
    adopted = _ADOPTED.get(cls)
    if adopted is None:
        adopted = _ADOPTED[cls] = type(f"Wireproto{cls.__name__}", (WireprotoHooks, cls), {})
    return adopted


def install() -> None:
    """Routes every docker-py client's streams through wireproto, those built
    before and after (for code that builds its own, such as testcontainers):
    docker-py's APIClient takes the hooks.  :func:`uninstall` undoes it."""
    for name in _HOOKS:
        setattr(_StockAPIClient, name, getattr(WireprotoHooks, name))


def uninstall() -> None:
    """Gives docker-py's APIClient its own hooks back."""
    for name in _HOOKS:
        setattr(_StockAPIClient, name, _STOCK[name])


def installed() -> bool:
    return all(getattr(_StockAPIClient, n) is getattr(WireprotoHooks, n) for n in _HOOKS)
