"""The stub engine under clients that get things wrong: each fault costs its own request or
connection, is answered as dockerd 20.10 answers it, and leaves one log line, no traceback.

The expected statuses and messages were read off the real engine (dockerd 20.10) with
the same queries; it answers 500 with Go's own error text for malformed filters and
timestamps, 400 for a ``since`` after ``until``.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from wireproto.engine import Script, StubEngine

HEADER_TIMEOUT = 0.5
DEEP = "[" * 2000
TOO_DEEP = "[" * 20_000
ARRAY = "json: cannot unmarshal array into Go value of type map[string]map[string]bool"

# (query, status, message): dockerd 20.10's answers to the same queries
MALFORMED = [
    ("/events?filters=" + quote("[1]"), 500, ARRAY),
    ("/events?filters=" + quote("[]"), 500, ARRAY),
    (
        "/events?filters=" + quote('{"a":1}'),
        500,
        "json: cannot unmarshal number into Go value of type map[string]bool",
    ),
    (
        "/events?filters=" + quote('{"type":[1]}'),
        500,
        "json: cannot unmarshal array into Go value of type map[string]bool",
    ),
    (
        "/events?filters=" + quote('{"type":{"container":1}}'),
        500,
        "json: cannot unmarshal number into Go value of type bool",
    ),
    ("/events?filters=x", 500, "invalid character 'x' looking for beginning of value"),
    ("/events?filters=" + quote('{"type":["x"]'), 500, "unexpected end of JSON input"),
    ("/events?filters=" + quote(DEEP), 500, "unexpected end of JSON input"),
    ("/events?filters=" + quote(TOO_DEEP), 500, "invalid character '[' exceeded max depth"),
    ("/events?since=abc&until=0", 500, 'strconv.ParseInt: parsing "abc": invalid syntax'),
    ("/events?since=1&until=abc", 500, 'strconv.ParseInt: parsing "abc": invalid syntax'),
    ("/events?since=1.x&until=0", 500, 'strconv.ParseInt: parsing "x": invalid syntax'),
    (
        "/events?since=9999999999&until=1",
        400,
        "`since` time (9999999999) cannot be after `until` time (1)",
    ),
    (
        "/containers/logs-mux/logs?stdout=1&since=abc",
        500,
        'strconv.ParseInt: parsing "abc": invalid syntax',
    ),
    (
        "/containers/logs-mux/logs?stdout=1&until=1.y",
        500,
        'strconv.ParseInt: parsing "y": invalid syntax',
    ),
]


@pytest.fixture(scope="module")
def stub() -> Iterator[StubEngine]:
    with StubEngine(Script(), header_timeout=HEADER_TIMEOUT) as server:
        yield server


@pytest.fixture
def faults(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """The engine's log records (and asyncio's, where a traceback would land)."""
    caplog.set_level(logging.INFO)
    return caplog


def connect(stub: StubEngine) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(10)
    sock.connect(stub.socket_path or "")
    return sock


def read_reply(sock: socket.socket, buffered: bytes = b"") -> tuple[int, bytes, bytes, bytes]:
    """One Content-Length reply off ``sock``: (status, head, body, bytes after it)."""
    data = buffered
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        assert piece, f"the connection closed before a reply: {data!r}"
        data += piece
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        piece = sock.recv(65536)
        assert piece, "the connection closed inside a reply"
        rest += piece
    return int(head.split(b" ")[1]), head, rest[:length], rest[length:]


def read_to_close(sock: socket.socket) -> bytes:
    data = b""
    while piece := sock.recv(65536):
        data += piece
    return data


def assert_one_line_per_fault(records: list[logging.LogRecord], faults: int) -> None:
    ours = [r for r in records if r.name == "wireproto.engine"]
    assert len(ours) == faults, [r.getMessage() for r in ours]
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in records), [
        r.getMessage() for r in records
    ]
    assert not [r for r in records if r.name == "asyncio"], [r.getMessage() for r in records]


@pytest.mark.parametrize(("target", "status", "message"), MALFORMED, ids=lambda v: str(v)[:40])
def test_malformed_query_answered_as_dockerd_and_the_connection_goes_on(
    stub: StubEngine, faults: pytest.LogCaptureFixture, target: str, status: int, message: str
) -> None:
    with connect(stub) as sock:
        sock.sendall(f"GET /v1.41{target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        got, head, body, rest = read_reply(sock)
        assert (got, json.loads(body)) == (status, {"message": message})
        assert b"Content-Type: application/json" in head
        sock.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")  # the same connection
        assert read_reply(sock, rest)[:3:2] == (200, b"OK")
    time.sleep(0.05)  # the server logs from its own thread
    assert_one_line_per_fault(faults.records, 1)


def test_filters_dockerd_accepts_still_filter(stub: StubEngine) -> None:
    """Both filter shapes dockerd takes, and null, still filter after the stricter parsing."""
    container = stub.script.containers[0]
    shapes = {
        '{"container":{"logs-mux":true}}': {container.id},
        '{"container":["logs-mux"]}': {container.id},
        "null": {c.id for c in stub.script.containers},
    }
    for filters, wanted in shapes.items():
        target = f"/events?since=0&until=1800000000&filters={quote(filters)}"
        with connect(stub) as sock:
            sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            data = read_to_close(sock)
        lines = [line for line in data.partition(b"\r\n\r\n")[2].split(b"\r\n") if b"{" in line]
        assert {json.loads(line)["id"] for line in lines} == wanted, filters


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (
            b"POST /containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        (b"GET /_ping HTTP/9.9\r\nHost: x\r\n\r\n", 505),
        (b"GET /_ping HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    ],
    ids=["content-length-and-chunked", "http-9.9", "http-2.0"],
)
def test_ambiguous_framing_and_unknown_versions_refused_and_closed(
    stub: StubEngine, faults: pytest.LogCaptureFixture, request_bytes: bytes, status: int
) -> None:
    with connect(stub) as sock:
        sock.sendall(request_bytes)
        data = read_to_close(sock)  # the server closes after its answer
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d " % status), data
    assert b"Connection: close" in head and body.startswith(b"%d " % status), data
    time.sleep(0.05)
    assert_one_line_per_fault(faults.records, 1)


def test_a_head_that_never_comes_is_closed_after_the_timeout(
    stub: StubEngine, faults: pytest.LogCaptureFixture
) -> None:
    with connect(stub) as sock:
        started = time.monotonic()
        assert read_to_close(sock) == b""
        waited = time.monotonic() - started
    assert HEADER_TIMEOUT * 0.8 <= waited < HEADER_TIMEOUT + 2, waited
    time.sleep(0.05)
    assert_one_line_per_fault(faults.records, 1)
    assert "request head" in faults.records[-1].getMessage()


def test_a_slowloris_is_closed_though_bytes_keep_coming(
    stub: StubEngine, faults: pytest.LogCaptureFixture
) -> None:
    """A byte every tenth of a second never lets the head finish: closed at the deadline."""
    head = b"GET /_ping HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 1000
    with connect(stub) as sock:
        started = time.monotonic()
        closed_after = None
        for byte in head:
            try:
                sock.send(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - started
                break
            sock.settimeout(0.1)
            try:
                if sock.recv(1) == b"":
                    closed_after = time.monotonic() - started
                    break
            except TimeoutError:
                pass
        assert closed_after is not None and closed_after < HEADER_TIMEOUT + 2, closed_after
    time.sleep(0.05)
    assert_one_line_per_fault(faults.records, 1)


def test_an_idle_keep_alive_connection_is_not_timed_out(stub: StubEngine) -> None:
    """The deadline runs from the first byte of a later request, as Go's ReadHeaderTimeout."""
    with connect(stub) as sock:
        sock.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        _, _, _, rest = read_reply(sock)
        time.sleep(HEADER_TIMEOUT * 2)
        sock.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_reply(sock, rest)[:3:2] == (200, b"OK")


def test_a_request_within_the_timeout_is_served(stub: StubEngine) -> None:
    with connect(stub) as sock:
        for part in (b"GET /_ping HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"):
            sock.sendall(part)
            time.sleep(HEADER_TIMEOUT / 5)
        assert read_reply(sock)[:3:2] == (200, b"OK")


# (An origin-form "//[fe80::/v1.41/version" is a path to dockerd, moved 301 to its clean
# form: tests/stub/test_clean_paths.py.)
@pytest.mark.parametrize("target", [b"http://[::1/_ping", b"http://[fe80::/v1.41/version"])
def test_a_target_that_is_no_url_is_refused_and_closed(
    stub: StubEngine, faults: pytest.LogCaptureFixture, target: bytes
) -> None:
    with connect(stub) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        data = read_to_close(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and body.startswith(b"400 "), data
    time.sleep(0.05)
    assert_one_line_per_fault(faults.records, 1)


def test_pipelined_requests_are_all_answered(
    stub: StubEngine, faults: pytest.LogCaptureFixture
) -> None:
    """Thousands of requests in one send: answered in order, not one stack frame each."""
    count = 3000
    with connect(stub) as sock:
        sock.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n" * count)
        rest, answered = b"", 0
        for _ in range(count):
            status, _, body, rest = read_reply(sock, rest)
            assert (status, body) == (200, b"OK")
            answered += 1
        sock.sendall(b"GET /v1.41/version HTTP/1.1\r\nHost: x\r\n\r\n")
        assert read_reply(sock, rest)[0] == 200
    assert answered == count
    time.sleep(0.05)
    assert_one_line_per_fault(faults.records, 0)


def test_connections_opened_together_are_named_apart_in_log_lines(
    faults: pytest.LogCaptureFixture,
) -> None:
    """Each connection's log lines carry its own number, however many arrive at once."""
    with StubEngine(Script(), header_timeout=HEADER_TIMEOUT) as stub:
        socks = [connect(stub) for _ in range(20)]
        try:
            for sock in socks:
                assert read_to_close(sock) == b""  # each one closed by the header timeout
        finally:
            for sock in socks:
                sock.close()
    lines = [r.getMessage() for r in faults.records if r.name == "wireproto.engine"]
    names = {line.split(":", 1)[0] for line in lines if line.startswith("connection ")}
    assert len(lines) == 20 and len(names) == 20, lines
