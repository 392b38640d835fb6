"""The answers a scripted loopback peer gives docker-py, so that stock docker-py and
docker-py on wireproto read exactly the same bytes.  The peer is the benchmark's
(wireproto.bench.dockerpy.scripted), so the tests and the figures use one server."""

from __future__ import annotations

from wireproto import mux
from wireproto.bench.dockerpy import inspect_answer, scripted

__all__ = ["CONTAINER", "chunked", "frames", "inspect", "ok", "scripted", "upgraded"]

CONTAINER = "c0ffee"


def chunked(*chunks: bytes) -> bytes:
    """A chunked body of exactly these chunks."""
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


def ok(body: bytes, content_type: bytes = b"application/json", is_chunked: bool = True) -> bytes:
    framing = b"Transfer-Encoding: chunked" if is_chunked else b"Content-Length: %d" % len(body)
    head = b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\n%s\r\n\r\n" % (content_type, framing)
    return head + body


def inspect(tty: bool) -> bytes:
    return inspect_answer(CONTAINER, tty)


def upgraded(stream: bytes) -> bytes:
    """The 101 head and the whole stream in one write (the engine often sends
    the first frames with the head)."""
    head = (
        b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
        b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    )
    return head + stream


def frames(*items: tuple[int, bytes]) -> bytes:
    return b"".join(mux.encode(s, p) for s, p in items)
