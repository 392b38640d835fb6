"""The stub engine under wireproto's three adapters, the docker CLI and docker-py.

Every stream is compared byte for byte with what the stub was scripted to
send (``Container.expected``, ``Image.pull_messages``, ``Event.message``).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator

import pytest

from tests.support.stub import CLIS, dechunk, docker, raw
from wireproto import api, mux
from wireproto.adapters.blocking import Client
from wireproto.api import events as events_api
from wireproto.api import registry
from wireproto.api.auth import parse_reference
from wireproto.engine import Container, LogSpec, Script, StubEngine
from wireproto.engine.script import BASE_TIME, KIB, MIB
from wireproto.errors import APIError, NotFound
from wireproto.exchange import Data, Output
from wireproto.jsonstream import JSONStreamDecoder
from wireproto.versions import ApiVersion

MUX = Container(
    "a" * 64, "mux", output=LogSpec(size=300 * KIB, mix="log", stderr_ratio=0.4, seed=5)
)
TTY = Container("b" * 64, "tty", tty=True, output=LogSpec(size=40 * KIB, mix="tiny"))
BULK = Container("c" * 64, "bulk", output=LogSpec(size=3 * MIB + 17, mix="bulk"))
HUGE = Container("d" * 64, "huge", output=LogSpec(size=256 * MIB, mix="line"))
SCRIPT = Script(containers=(MUX, TTY, BULK, HUGE))


@pytest.fixture(scope="module")
def stub() -> Iterator[StubEngine]:
    with StubEngine(SCRIPT) as server:
        yield server


def collect(events: Iterator[object]) -> dict[int, bytes]:
    out: dict[int, bytearray] = {1: bytearray(), 2: bytearray()}
    for event in events:
        if isinstance(event, Output):
            for stream, piece in event.pieces:
                out[stream] += piece
    return {k: bytes(v) for k, v in out.items()}


# --- blocking ---------------------------------------------------------------------------


@pytest.mark.parametrize("container", [MUX, TTY, BULK], ids=lambda c: c.name)
@pytest.mark.parametrize("version", [ApiVersion(1, 12), None])
def test_logs_blocking(
    stub: StubEngine, backend: str, container: Container, version: ApiVersion | None
) -> None:
    with Client(stub.host, backend=backend) as client:
        got = collect(client.stream(api.logs(container.id, version, tty=container.tty)))
    assert (got[1], got[2]) == container.expected()


def test_logs_one_stream(stub: StubEngine) -> None:
    with Client(stub.host) as client:
        got = collect(client.stream(api.logs(MUX.name, stderr=False, tty=False)))
    assert got[1] == MUX.expected()[0] and got[2] == b""


def test_ping_version_info_lists(stub: StubEngine) -> None:
    with Client(stub.host) as client:
        ping = client.request(api.ping())
        assert ping.data == b"OK" and ping.response.api_version == "1.41"
        assert client.negotiate() == ApiVersion(1, 41)
        document = client.request(api.engine_version(ApiVersion(1, 12))).document
        assert isinstance(document, dict) and document["MinAPIVersion"] == "1.12"
        listed = client.request(api.logs(MUX.id))  # keep-alive: several calls, one socket
        assert listed.response.status == 200
    for path, check in [
        ("/v1.41/info", lambda d: d["Containers"] == 4),
        ("/containers/json?all=1", lambda d: d[0]["Names"] == ["/mux"]),
        ("/v1.24/containers/mux/json", lambda d: d["Config"]["Tty"] is False),
        ("/images/json", lambda d: d[0]["RepoTags"] == ["busybox:latest"]),
    ]:
        status, _, body = raw(stub, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 200 and check(json.loads(body))


def test_attach_101_echoes_stdin_until_half_close(stub: StubEngine, backend: str) -> None:
    small = Script(containers=(Container("e" * 64, "small", output=LogSpec(size=5000)),))
    with StubEngine(small) as stub, Client(stub.host, backend=backend) as client:
        session = client.hijack(api.attach("small", stdin=True, tty=False))
        assert session.response.status == 101
        session.send(b"ping\n")
        session.close_stdin()
        got: dict[int, bytes] = {1: b"", 2: b""}
        for stream, data in session:
            got[stream] += data
        out, err = small.containers[0].expected()
        assert got == {1: out + b"ping\n", 2: err}


def test_attach_legacy_200_raw_stream(stub: StubEngine) -> None:
    request = "POST /v1.12/containers/tty/attach?stream=1&stdout=1&stderr=1 HTTP/1.1\r\n"
    status, head, body = raw(stub, request + "Host: x\r\n\r\n", until_close=True)
    assert status == 200 and b"Content-Type: application/vnd.docker.raw-stream" in head
    assert body == TTY.expected()[0]  # TTY: raw bytes, no frames


@pytest.mark.parametrize(
    ("request_line", "status", "body"),
    [
        ("GET /v1.12/containers/nope/logs?stdout=1", 404, b"No such container: nope\n"),
        (
            "GET /v1.24/containers/nope/logs?stdout=1",
            404,
            b'{"message":"No such container: nope"}\n',
        ),
        (
            "GET /v1.41/containers/mux/logs",
            400,
            b'{"message":"Bad parameters: you must choose at least one stream"}\n',
        ),
        (
            "GET /v1.5/version",
            400,
            b"client version 1.5 is too old. Minimum supported API version "
            b"is 1.12, please upgrade your client to a newer version\n",
        ),
        (
            "GET /v1.99/version",
            400,
            b'{"message":"client version 1.99 is too new. Maximum '
            b'supported API version is 1.41"}\n',
        ),
        ("GET /v1.41/nothing/here", 404, b'{"message":"page not found"}\n'),
        (
            "POST /v1.12/images/create?fromImage=nosuch&tag=latest",
            404,
            b"pull access denied for "
            b"nosuch, repository does not exist or may require 'docker login': denied: requested "
            b"access to the resource is denied\n",
        ),
    ],
)
def test_errors_shaped_as_the_engines(
    stub: StubEngine, request_line: str, status: int, body: bytes
) -> None:
    got_status, head, got_body = raw(stub, f"{request_line} HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (got_status, got_body) == (status, body)
    plain = b"text/plain; charset=utf-8" in head
    assert plain == (not body.startswith(b"{"))


def test_errors_raise_typed_through_the_client(stub: StubEngine) -> None:
    with Client(stub.host) as client:
        with pytest.raises(NotFound, match="No such container: nope"):
            client.request(api.inspect_container("nope", ApiVersion(1, 12)))
        with pytest.raises(APIError, match="too old"):
            client.request(api.engine_version(ApiVersion(1, 11)))


def test_malformed_request_gets_400_and_close(stub: StubEngine) -> None:
    status, _, body = raw(stub, "GET /_ping HTTP/1.1\r\nBad Header\r\n\r\n", until_close=True)
    assert status == 400 and body.startswith(b"400 Bad Request")


def test_pull_and_events_streams(stub: StubEngine) -> None:
    image = SCRIPT.images[0]
    with Client(stub.host) as client:
        messages = decode(client.stream(registry.pull(parse_reference("busybox"))))
        assert messages == image.pull_messages()
        window = events_api.events(since=str(BASE_TIME), until=str(BASE_TIME + 12))
        got = decode(client.stream(window))
    # the window ends at BASE_TIME + 12 s; the sixth event is at + 12.123456789 s
    wanted = [e.message() for e in SCRIPT.all_events()[:5]]
    assert got == wanted


def test_slow_reader_bounds_the_producer(stub: StubEngine) -> None:
    """256 MiB scripted; the client reads 1 MiB then stalls: the stub stops writing."""
    before = stub.stats.body_bytes
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(stub.socket_path or "")
        sock.sendall(b"GET /containers/huge/logs?stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\n\r\n")
        read = 0
        while read < MIB:
            read += len(sock.recv(64 * KIB))
        time.sleep(0.5)
        sent = stub.stats.body_bytes - before
        # socket buffers on both sides (a few hundred KiB) plus one 64 KiB piece
        assert sent < read + 8 * MIB, (sent, read)


# --- asyncio and trio -------------------------------------------------------------------------


def test_logs_asyncio(stub: StubEngine, backend: str) -> None:
    from wireproto.adapters.asyncio import Client as AsyncClient

    async def main() -> dict[int, bytes]:
        out: dict[int, bytes] = {1: b"", 2: b""}
        async with AsyncClient(stub.host, backend=backend) as client:
            call = api.logs(MUX.id, tty=False)
            async with client.stream(call) as events:
                async for event in events:
                    if isinstance(event, Output):
                        for stream, piece in event.pieces:
                            out[stream] += bytes(piece)
        return out

    got = asyncio.run(main())
    assert (got[1], got[2]) == MUX.expected()


def test_logs_trio(stub: StubEngine, backend: str) -> None:
    trio = pytest.importorskip("trio")
    from wireproto.adapters.trio import Client as TrioClient

    async def main() -> dict[int, bytes]:
        out: dict[int, bytes] = {1: b"", 2: b""}
        async with TrioClient(stub.host, backend=backend) as client:
            call = api.logs(BULK.id, tty=False)
            async with client.stream(call) as events:
                async for event in events:
                    if isinstance(event, Output):
                        for stream, piece in event.pieces:
                            out[stream] += bytes(piece)
        return out

    got = trio.run(main)
    assert (got[1], got[2]) == BULK.expected()


# --- the docker CLI and docker-py ---------------------------------------------------------------


@pytest.mark.skipif(not CLIS, reason="no docker CLI")
@pytest.mark.parametrize("cli", CLIS)
def test_docker_cli(stub: StubEngine, cli: str) -> None:
    version = docker(cli, stub, "version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}")
    assert version.stdout == b"20.10.24-wireproto-stub 1.41\n", version.stderr
    for container in (MUX, TTY, BULK):
        logs = docker(cli, stub, "logs", container.name)
        assert (logs.stdout, logs.stderr) == container.expected(), container.name
    pull = docker(cli, stub, "pull", "busybox")
    assert pull.returncode == 0, pull.stderr
    lines = [
        (f"{m['id']}: {m['status']}" if "id" in m else str(m["status"]))
        for m in SCRIPT.images[0].pull_messages()
        if "progress" not in m
    ]
    assert pull.stdout.decode().splitlines()[1:-1] == lines
    events = docker(cli, stub, "events", "--since", str(BASE_TIME), "--until", str(BASE_TIME + 12))
    expected = [
        f"2023-11-14T22:13:{20 + e.time - BASE_TIME:02d}.123456789Z container {e.action} "
        f"{e.actor} (image=busybox:latest, name={c.name})"
        for c, e in zip([MUX] * 3 + [TTY] * 2, SCRIPT.all_events()[:5])
    ]
    assert events.stdout.decode().splitlines() == expected
    missing = docker(cli, stub, "logs", "nope")
    assert missing.returncode == 1 and b"No such container: nope" in missing.stderr


def test_docker_py(stub: StubEngine) -> None:
    docker_py = pytest.importorskip("docker")
    client = docker_py.APIClient(base_url=stub.host, version="1.41")
    try:
        assert client.version()["ApiVersion"] == "1.41"
        out, err = MUX.expected()
        assert client.logs(MUX.id, stdout=True, stderr=False) == out
        assert client.logs(MUX.id, stdout=False, stderr=True) == err
        assert client.logs(TTY.id) == TTY.expected()[0]
        pulled = list(client.pull("busybox", tag="latest", stream=True, decode=True))
        assert pulled == SCRIPT.images[0].pull_messages()
        with pytest.raises(docker_py.errors.NotFound):
            client.inspect_container("nope")
    finally:
        client.close()


# --- helpers -----------------------------------------------------------------------------------


def decode(events: Iterator[object]) -> list[object]:
    decoder = JSONStreamDecoder()
    values: list[object] = []
    for event in events:
        if isinstance(event, Data):
            values += decoder.feed(event.data)
    decoder.close()
    return values


def test_frames_are_one_chunk_per_message(stub: StubEngine) -> None:
    status, _, _ = raw(stub, "GET /containers/mux/logs?stdout=1&stderr=1 HTTP/1.1\r\n\r\n")
    assert status == 400  # no Host header: h11 refuses the HTTP/1.1 request
    request = "GET /containers/mux/logs?stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\n\r\n"
    _, _, data = raw(stub, request)
    messages = list(MUX.messages())
    assert data == b"".join(mux.encode(s, p) for s, p in messages)


def test_pipelined_requests_answered_in_order(stub: StubEngine) -> None:
    """Two requests in one write, then the client's EOF: both replies, then the close."""
    logs = "GET /containers/tty/logs?stdout=1 HTTP/1.1\r\nHost: x\r\n\r\n"
    ping = "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(stub.socket_path or "")
        sock.sendall((logs + ping).encode())
        sock.shutdown(socket.SHUT_WR)  # EOF while the first body is being written
        data = b""
        while piece := sock.recv(65536):
            data += piece
    first, _, rest = data.partition(b"\r\n\r\n")
    body, end, second = rest.partition(b"0\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200") and dechunk(body + end) == TTY.expected()[0]
    assert second.startswith(b"HTTP/1.1 200") and second.endswith(b"\r\n\r\nOK")
