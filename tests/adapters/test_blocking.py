"""The blocking adapter against small fake engines on real sockets (no Docker needed)."""

from __future__ import annotations

import shutil
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.sockets import (
    PING_OK,
    FakeEngine,
    Handler,
    TLSVerifyEngine,
    before_ping,
    read_head,
)
from wireproto import api, http, mux
from wireproto.adapters.blocking import Client, parse_host, tls_context
from wireproto.errors import EngineUnreachable, IncompleteBody, NotFound
from wireproto.exchange import EndOfMessage, Output
from wireproto.versions import ApiVersion


def keep_alive_handler(engine_requests: list[bytes], limit: int = 100) -> Handler:
    def handle(conn: socket.socket) -> None:
        for _ in range(limit):
            head = read_head(conn)
            if not head:
                return
            engine_requests.append(head)
            conn.sendall(PING_OK)

    return handle


def test_sequential_calls_reuse_one_connection(fake: Callable[[Handler], FakeEngine]) -> None:
    requests: list[bytes] = []
    engine = fake(keep_alive_handler(requests))
    with Client(engine.host) as client:
        for _ in range(3):
            assert client.request(api.ping()).data == b"OK"
    assert engine.connections == 1 and len(requests) == 3


def test_a_connection_the_engine_closed_is_replaced(fake: Callable[[Handler], FakeEngine]) -> None:
    requests: list[bytes] = []
    engine = fake(keep_alive_handler(requests, limit=1))  # closes after one answer
    with Client(engine.host) as client:
        for _ in range(3):
            assert client.request(api.ping()).data == b"OK"
    assert engine.connections == 3


def test_connection_close_is_honoured(fake: Callable[[Handler], FakeEngine]) -> None:
    def handle(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nOK")

    engine = fake(handle)
    with Client(engine.host) as client:
        client.request(api.ping())
        client.request(api.ping())
    assert engine.connections == 2


def test_negotiation(fake: Callable[[Handler], FakeEngine]) -> None:
    engine = fake(keep_alive_handler([]))
    with Client(engine.host) as client:
        assert client.negotiate() == ApiVersion(1, 41)
        assert client.negotiate(ApiVersion(1, 12)) == ApiVersion(1, 12)


def test_negotiation_falls_back_to_version(fake: Callable[[Handler], FakeEngine]) -> None:
    engine = fake(before_ping)
    with Client(engine.host) as client:
        assert client.negotiate() == ApiVersion(1, 9)


def test_hijacked_session(fake: Callable[[Handler], FakeEngine]) -> None:
    received = bytearray()
    done = threading.Event()

    def handle(conn: socket.socket) -> None:
        read_head(conn)
        # The first output travels in the same segment as the 101 head.
        head = b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
        conn.sendall(head + mux.encode(1, b"ready\n"))
        while chunk := conn.recv(65536):  # stdin until the client's half-close
            received.extend(chunk)
        conn.sendall(mux.encode(1, bytes(received)) + mux.encode(2, b"bye\n"))
        done.set()

    engine = fake(handle)
    with Client(engine.host) as client:
        session = client.hijack(api.attach("c1", stdin=True))
        assert session.response.status == 101 and session.response.hijacked
        session.send(b"hello ")
        session.send(b"world")
        session.close_stdin()
        output = list(session)
        session.close()
    assert done.wait(5)
    assert received == b"hello world"
    assert output == [(1, b"ready\n"), (1, b"hello world"), (2, b"bye\n")]


def test_hijacked_session_into_sinks(fake: Callable[[Handler], FakeEngine]) -> None:
    def handle(conn: socket.socket) -> None:
        read_head(conn)
        head = b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
        conn.sendall(head + mux.encode(1, b"out") + mux.encode(2, b"err"))

    engine = fake(handle)
    sinks = [bytearray() for _ in range(4)]
    with Client(engine.host) as client:
        session = client.hijack(api.attach("c1", tty=False), sinks=sinks)
        events = list(session.events())
    assert isinstance(events[-1], EndOfMessage)
    assert not [e for e in events if isinstance(e, Output)]
    assert (sinks[1], sinks[2]) == (b"out", b"err")


def test_hijack_error_reply(fake: Callable[[Handler], FakeEngine]) -> None:
    def handle(conn: socket.socket) -> None:
        read_head(conn)
        conn.sendall(b"HTTP/1.1 404 Not Found\r\n\r\nNo such container: c1\r\n")

    engine = fake(handle)
    with Client(engine.host) as client, pytest.raises(NotFound, match="No such container: c1"):
        client.hijack(api.attach("c1"))


def test_a_stream_cut_short_raises_after_the_data(fake: Callable[[Handler], FakeEngine]) -> None:
    def handle(conn: socket.socket) -> None:
        read_head(conn)
        body = b"%x\r\n%s\r\n" % (11, mux.encode(1, b"line\n")[:11])
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body)

    engine = fake(handle)
    output = bytearray()
    with Client(engine.host) as client, pytest.raises(IncompleteBody):
        for event in client.stream(api.logs("c1", tty=False)):
            if isinstance(event, Output):
                output += b"".join(bytes(p) for _, p in event.pieces)
    assert output == b"lin"


def test_timeout_waiting_for_the_head(fake: Callable[[Handler], FakeEngine]) -> None:
    gate = threading.Event()

    def handle(conn: socket.socket) -> None:
        read_head(conn)
        gate.wait(5)

    engine = fake(handle)
    with Client(engine.host, timeout=0.2) as client, pytest.raises(TimeoutError):
        client.request(api.ping())
    gate.set()


def test_unreachable(tmp_path: Path) -> None:
    with pytest.raises(EngineUnreachable, match="cannot connect"):
        Client(f"unix://{tmp_path}/none.sock").request(api.ping())
    with pytest.raises(EngineUnreachable):
        Client("tcp://127.0.0.1:1").request(api.ping())


def test_parse_host() -> None:
    assert parse_host("unix:///var/run/docker.sock").unix_path == "/var/run/docker.sock"
    assert parse_host("/run/d.sock").unix_path == "/run/d.sock"
    tcp = parse_host("tcp://10.0.0.1:1234")
    assert (tcp.host, tcp.port, tcp.tls, tcp.host_header) == (
        "10.0.0.1",
        1234,
        False,
        "10.0.0.1:1234",
    )
    assert parse_host("tcp://example").port == 2375
    assert parse_host("tcp://example", tls=True).port == 2376
    assert parse_host("https://example").tls
    assert parse_host("unix:///x").host_header == http.UNIX_HOST
    for bad in ("ssh://x", "unix://", "tcp://h:port"):
        with pytest.raises(ValueError):
            parse_host(bad)


def test_client_reads_docker_host(fake: Callable[[Handler], FakeEngine]) -> None:
    engine = fake(keep_alive_handler([]))
    with Client(environ={"DOCKER_HOST": engine.host}) as client:
        assert client.request(api.ping()).data == b"OK"
    assert Client(environ={}).host == "unix:///var/run/docker.sock"


def test_tls_context_from_the_environment(tmp_path: Path) -> None:
    assert tls_context({}) is None
    context = tls_context({"DOCKER_TLS": "1", "DOCKER_CERT_PATH": str(tmp_path)})
    assert context is not None and context.verify_mode == ssl.CERT_NONE


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls_with_verification_and_a_client_certificate(tmp_path: Path) -> None:
    engine = TLSVerifyEngine(tmp_path, [PING_OK])
    env = {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)}
    with Client(f"tcp://localhost:{engine.port}", environ=env) as client:
        assert client.request(api.ping()).data == b"OK"
    engine.close()
    assert b"Host: localhost:%d\r\n" % engine.port in engine.seen[0]
