"""Requests with byte bodies and tar contexts for the images-side tests of the stub engine."""

from __future__ import annotations

import base64
import io
import json
import socket
import tarfile

from tests.support.stub import complete, dechunk
from wireproto.engine import StubEngine
from wireproto.versions import ApiVersion


def send(
    engine: StubEngine,
    method: str,
    target: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, bytes]:
    """One request on a fresh socket: (status, head, body), de-chunked when chunked."""
    lines = [f"{method} {target} HTTP/1.1", "Host: x", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(engine.socket_path or "")
        sock.sendall(request)
        data = b""
        while True:
            piece = sock.recv(65536)
            data += piece
            head, sep, rest = data.partition(b"\r\n\r\n")
            if not piece or (sep and complete(head, rest)):
                break
    status = int(head.split(b" ", 2)[1])
    if b"Transfer-Encoding: chunked" in head:
        rest = dechunk(rest)
    return status, head, rest


def get_json(engine: StubEngine, target: str) -> object:
    status, _, body = send(engine, "GET", target)
    assert status == 200, (target, status, body)
    return json.loads(body)


def messages(body: bytes) -> list[dict[str, object]]:
    """The JSON objects of a JSON stream (one per line)."""
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def tar_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def context(dockerfile: str) -> bytes:
    return tar_of({"Dockerfile": dockerfile.encode()})


def auth_header(config: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(config).encode()).decode()


def engine_at(version: str) -> StubEngine:
    major, minor = version.split(".")
    return StubEngine(api_version=ApiVersion(int(major), int(minor)))
