"""The stub engine's route table, its version, and the journal of what it received."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from tests.support.stub import raw
from wireproto.engine import StubEngine, StubEngineProcess
from wireproto.engine.routes import Context, Route, find
from wireproto.engine.world import UnknownEngineVersion
from wireproto.versions import ApiVersion


def _handler(ctx: Context) -> object:  # never called: find only matches
    raise AssertionError


TABLE = (
    Route("GET", "/images/json", _handler),  # type: ignore[arg-type]
    Route("GET", "/images/search", _handler),  # type: ignore[arg-type]
    Route("GET", "/images/{name+}/json", _handler),  # type: ignore[arg-type]
    Route("POST", "/images/{name+}/push", _handler),  # type: ignore[arg-type]
    Route("DELETE", "/images/{name+}", _handler),  # type: ignore[arg-type]
    Route("GET", "/containers/{id}/json", _handler),  # type: ignore[arg-type]
    Route("GET", "/containers/json", _handler),  # type: ignore[arg-type]
)


@pytest.mark.parametrize(
    ("method", "path", "pattern", "params"),
    [
        ("GET", "/images/json", "/images/json", {}),
        ("GET", "/images/search", "/images/search", {}),
        ("GET", "/images/busybox/json", "/images/{name+}/json", {"name": "busybox"}),
        (
            "GET",
            "/images/library/busybox/json",
            "/images/{name+}/json",
            {"name": "library/busybox"},
        ),
        ("GET", "/images/json/json", "/images/{name+}/json", {"name": "json"}),
        (
            "POST",
            "/images/127.0.0.1:5000/a/b/push",
            "/images/{name+}/push",
            {"name": "127.0.0.1:5000/a/b"},
        ),
        (
            "DELETE",
            "/images/127.0.0.1:5000/a/b:1",
            "/images/{name+}",
            {"name": "127.0.0.1:5000/a/b:1"},
        ),
        ("GET", "/containers/json", "/containers/json", {}),
        ("GET", "/containers/abc/json", "/containers/{id}/json", {"id": "abc"}),
    ],
)
def test_the_most_specific_route_wins(
    method: str, path: str, pattern: str, params: dict[str, str]
) -> None:
    found = find(TABLE, method, path)
    assert found is not None and (found[0].pattern, found[1]) == (pattern, params)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/images"), ("POST", "/images/json"), ("GET", "/containers/a/b/json"), ("GET", "/")],
)
def test_no_route(method: str, path: str) -> None:
    assert find(TABLE, method, path) is None


def test_an_engine_of_1_5_serves_every_prefix_up_to_its_own() -> None:
    with StubEngine(api_version=ApiVersion(1, 5)) as engine:
        status, _, body = raw(engine, "GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 200 and "Version" in json.loads(body)
        assert raw(engine, "GET /v1.0/version HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 200
        status, _, body = raw(engine, "GET /v1.6/version HTTP/1.1\r\nHost: x\r\n\r\n")
        # eras row paths.too_new.silent: an engine up to 1.8 answered a bare 404
        assert status == 404 and body == b""
        assert [r.version for r in engine.received] == [ApiVersion(1, 5), (1, 0), (1, 6)]


def test_received_records_each_request_as_sent() -> None:
    with StubEngine() as engine:
        request = (
            "POST /v1.41/containers/x/wait?condition=next-exit&a=1&a=2 HTTP/1.1\r\n"
            "Host: x\r\nX-Thing: Yes\r\nContent-Length: 2\r\n\r\n{}"
        )
        raw(engine, request)
        got = engine.received[-1]
        assert (got.method, got.target, got.path, got.version) == (
            "POST",
            "/v1.41/containers/x/wait?condition=next-exit&a=1&a=2",
            "/containers/x/wait",
            ApiVersion(1, 41),
        )
        assert got.query == {"condition": ["next-exit"], "a": ["1", "2"]}
        assert got.headers["x-thing"] == "Yes" and got.body == b"{}"


def test_the_journal_never_shows_a_credential() -> None:
    """Login bodies and X-Registry-Auth are recorded for the tests, never shown in a repr."""
    secret = "pa55-w0rd-not-shown"
    body = json.dumps({"username": "u", "password": secret})
    with StubEngine() as engine:
        raw(
            engine,
            f"POST /v1.41/auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n{body}",
        )
        raw(
            engine,
            f"POST /v1.41/images/x/push HTTP/1.1\r\nHost: x\r\nX-Registry-Auth: {secret}\r\n"
            "Content-Length: 0\r\n\r\n",
        )
        shown = repr(engine.received) + str(engine.received)
        assert secret.encode() in engine.received[0].body
        assert secret not in shown and "POST /auth" in shown


@pytest.mark.row("headers.engine")
def test_old_engines_send_no_engine_headers() -> None:
    """Api-Version and Server came with docker v1.12.0 (API 1.24): an engine of 1.12 or older
    answers with Content-Type and Date only."""
    with StubEngine(api_version=ApiVersion(1, 12)) as old, StubEngine() as new:
        _, head, _ = raw(old, "GET /v1.12/version HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"api-version" not in head.lower() and b"server:" not in head.lower()
        _, head, _ = raw(new, "GET /v1.41/version HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"Api-Version: 1.41" in head and b"Server: Docker/" in head


def test_the_stub_refuses_versions_it_cannot_be() -> None:
    with pytest.raises(UnknownEngineVersion):
        StubEngine(api_version=ApiVersion(1, 13))


def test_serve_api_version() -> None:
    with StubEngineProcess(extra=["--api-version", "1.3"]) as stub:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(stub.socket_path)
            sock.sendall(b"GET /info HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while b'"Images"' not in data or not data.endswith(b"\n"):
                data += sock.recv(65536)
        # only an engine of 1.3 reported LXCVersion (eras row info.lxc)
        assert b'"LXCVersion"' in data


@pytest.mark.parametrize("bad", ["1.13", "1.40", "2.0", "x"])
def test_serve_refuses_an_api_version_it_cannot_be(bad: str) -> None:
    argv = [sys.executable, "-m", "wireproto", "serve", "--api-version", bad]
    result = subprocess.run(argv, capture_output=True, timeout=30)
    assert result.returncode == 2 and b"serve --api-version wants" in result.stderr
    assert b"Traceback" not in result.stderr


def test_the_global_api_version_still_pins_the_client() -> None:
    argv = [sys.executable, "-m", "wireproto", "--api-version", "x", "serve"]
    assert subprocess.run(argv, capture_output=True, timeout=30).returncode == 2
