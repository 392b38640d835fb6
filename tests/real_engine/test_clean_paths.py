"""The router's 301 for unclean paths, on the real engine: the stub's table holds there too."""

from __future__ import annotations

import socket

import pytest

from tests.support.cleanpaths import MOVED
from tests.support.engine import Engine

pytestmark = pytest.mark.engine


@pytest.mark.parametrize(("method", "target", "location"), MOVED)
def test_real_engine_moves_unclean_paths(
    engine: Engine, method: str, target: str, location: str
) -> None:
    if engine.socket_path is None:
        pytest.skip("the engine is not on a unix socket")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(engine.socket_path)
        request = f"{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            piece = sock.recv(4096)
            assert piece, head
            head += piece
    lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 301 Moved Permanently"
    assert f"Location: {location}" in lines
