"""Talking to a stub engine from outside wireproto: the docker CLI, and raw requests on a socket."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess

from wireproto.engine import StubEngine

CLIS = [p for p in ("/usr/bin/docker", "/usr/local/bin/docker") if os.path.exists(p)]
if not CLIS and shutil.which("docker"):
    CLIS = [shutil.which("docker") or "docker"]


def docker(cli: str, engine: StubEngine, *args: str) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env.update(TZ="UTC", DOCKER_CONFIG=os.path.join(os.path.dirname(engine.socket_path or ""), "c"))
    return subprocess.run([cli, "-H", engine.host, *args], capture_output=True, env=env, timeout=60)


def raw(engine: StubEngine, request: str, until_close: bool = False) -> tuple[int, bytes, bytes]:
    """One request on a fresh socket: (status, head, body), de-chunked when chunked."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(engine.socket_path or "")
        sock.sendall(request.encode())
        if until_close:
            sock.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            piece = sock.recv(65536)
            data += piece
            head, sep, body = data.partition(b"\r\n\r\n")
            if not piece or (sep and not until_close and complete(head, body)):
                break
    status = int(head.split(b" ", 2)[1])
    if b"Transfer-Encoding: chunked" in head:
        body = dechunk(body)
    return status, head, body


def complete(head: bytes, body: bytes) -> bool:
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return body.endswith(b"0\r\n\r\n")


def dechunk(body: bytes) -> bytes:
    out, pos = b"", 0
    while True:
        end = body.index(b"\r\n", pos)
        size = int(body[pos:end], 16)
        if size == 0:
            return out
        out += body[end + 2 : end + 2 + size]
        pos = end + 2 + size + 2
