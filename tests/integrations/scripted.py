"""A loopback HTTP peer that answers docker-py with scripted bytes, so that
stock docker-py and docker-py on wireproto read exactly the same bytes."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from wireproto import mux

CONTAINER = "c0ffee"


def chunked(*chunks: bytes) -> bytes:
    """A chunked body of exactly these chunks."""
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


def ok(body: bytes, content_type: bytes = b"application/json", is_chunked: bool = True) -> bytes:
    framing = b"Transfer-Encoding: chunked" if is_chunked else b"Content-Length: %d" % len(body)
    head = b"HTTP/1.1 200 OK\r\nContent-Type: %s\r\n%s\r\n\r\n" % (content_type, framing)
    return head + body


def inspect(tty: bool) -> bytes:
    body = json.dumps({"Id": CONTAINER, "Config": {"Tty": tty}}).encode()
    return ok(body, is_chunked=False)


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


Script = dict[str, bytes]  # request path (without the version) -> the whole answer


def _serve_connection(conn: socket.socket, script: Script) -> None:
    buffer = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in buffer:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1].split("?")[0]
            length = next(
                (int(v) for k, _, v in (x.partition(":") for x in lines[1:])
                 if k.lower() == "content-length"),
                0,
            )
            while len(buffer) < length:
                buffer += conn.recv(65536)
            buffer = buffer[length:]
            path = "/" + path.split("/", 2)[2] if path.startswith("/v1.") else path
            answer = script.get(path)
            if answer is None:
                answer = b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}"
            conn.sendall(answer)
            if answer.startswith(b"HTTP/1.1 101") or b"Connection: close" in answer:
                conn.shutdown(socket.SHUT_WR)
                return


@contextmanager
def scripted(script: Script) -> Iterator[str]:
    """Serves ``script`` on a loopback port; yields docker-py's base_url."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # so the accept loop sees stop soon
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=_serve_connection, args=(conn, script), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()
        thread.join(5)
