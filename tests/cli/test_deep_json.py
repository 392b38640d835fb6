"""``wireproto events|pull|version`` against an engine that sends JSON nested too deep.

A small loopback HTTP server written here answers as the engine does (``/_ping``
with ``Api-Version``, a chunked JSON stream, a JSON document), with one line
nested past the limit after a few good ones; the command must print the good
lines, then one error line, and exit 1 without a traceback.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.sockets import accept_each, next_head

MAX_DEPTH = 512  # the default limit (wireproto.jsonstream.MAX_DEPTH)

DEEP = b'{"status":"x","aux":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
EVENTS = [
    {"status": "start", "id": "c1", "Type": "container", "Action": "start", "time": 1},
    {"status": "die", "id": "c1", "Type": "container", "Action": "die", "time": 2},
]
PULL = [
    {"status": "Pulling from library/busybox", "id": "latest"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "abc"},
]


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class FakeEngine:
    """Answers every request on loopback; streams end with ``deep`` (a line or a document)."""

    def __init__(self, deep: bytes) -> None:
        self.deep = deep
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        accept_each(self.listener, self._answer)

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            self._answer_requests(conn)

    def _answer_requests(self, conn: socket.socket) -> None:
        buf = b""
        while True:
            request = next_head(conn, buf, 65536)
            if request is None:
                return
            head, buf = request
            path = head.split(b" ")[1].decode()
            if path.endswith("/_ping"):
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: text/plain\r\n"
                    b"Content-Length: 2\r\n\r\nOK"
                )
            elif "/version" in path:
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(self.deep), self.deep)
                )
            else:
                lines = EVENTS if "/events" in path else PULL
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n"
                )
                for value in lines:
                    conn.sendall(_chunk(json.dumps(value).encode() + b"\n"))
                conn.sendall(_chunk(self.deep + b"\n") + _chunk(b'{"status":"after"}\n'))
                conn.sendall(b"0\r\n\r\n")
                return

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def server() -> Iterator[FakeEngine]:
    server = FakeEngine(DEEP)
    yield server
    server.close()


def wireproto(server: FakeEngine, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HOME=str(tmp_path), DOCKER_CONFIG=str(tmp_path))
    env.pop("DOCKER_API_VERSION", None)
    return subprocess.run(
        [sys.executable, "-m", "wireproto", "-H", f"tcp://127.0.0.1:{server.port}", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    assert "RecursionError" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr[:2000]
    assert len(lines[0]) < 300
    assert f"nested deeper than {MAX_DEPTH} levels" in lines[0]
    return lines[0]


def test_events_prints_the_lines_before_then_one_error(server: FakeEngine, tmp_path: Path) -> None:
    done = wireproto(server, tmp_path, "events")
    assert [json.loads(line) for line in done.stdout.splitlines()] == EVENTS
    _one_error_line(done.stderr)
    assert done.returncode == 1


def test_pull_prints_the_lines_before_then_one_error(server: FakeEngine, tmp_path: Path) -> None:
    done = wireproto(server, tmp_path, "pull", "busybox")
    assert done.stdout.splitlines() == [
        "Using default tag: latest",  # as docker pull says it
        "latest: Pulling from library/busybox",
        "abc: Pulling fs layer",
    ]
    _one_error_line(done.stderr)
    assert done.returncode == 1


def test_version_with_a_deep_document(server: FakeEngine, tmp_path: Path) -> None:
    done = wireproto(server, tmp_path, "version")
    assert done.stdout == ""
    _one_error_line(done.stderr)
    assert done.returncode == 1
