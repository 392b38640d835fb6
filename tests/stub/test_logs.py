"""The stub engine's logs parameters (timestamps, tail, since, until, follow) and pacing.

Expected bytes come from the reference generator ``Container.messages()`` and
the scripted message times, never from the encoder under test; the rules
(tail counts the last json-file entries of both streams and each 16 KiB piece
of a long line; since/until inclusive; 500 with Go's strconv text on a bad
time) were read off dockerd 20.10.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from tests.support.stub import CLIS, dechunk, docker, raw
from wireproto import api
from wireproto.adapters.blocking import Client
from wireproto.engine import Container, LogSpec, Script, StubEngine
from wireproto.engine.script import BASE_TIME, KIB, MIB
from wireproto.exchange import Output

LINES = Container(
    "1" * 64, "lines", output=LogSpec(size=20 * KIB, mix="log", stderr_ratio=0.4, seed=11)
)
LONG = Container("2" * 64, "long", output=LogSpec(size=100 * KIB + 5, mix=(40 * KIB,), seed=3))
TTY = Container("3" * 64, "tty", tty=True, output=LogSpec(size=8 * KIB, seed=12))
LIVE = Container("4" * 64, "live", running=True, output=LogSpec(size=64 * KIB, mix="line"))
PACED = Container("5" * 64, "paced", output=LogSpec(size=MIB, mix="line", rate=4 * MIB))
LIVE_PACED = Container(
    "6" * 64, "live-paced", running=True, output=LogSpec(size=64 * MIB, rate=256 * KIB)
)
TRICKLE = Container("7" * 64, "trickle", running=True, output=LogSpec(size=MIB, rate=20 * KIB))
SCRIPT = Script(containers=(LINES, LONG, TTY, LIVE, PACED, LIVE_PACED, TRICKLE))
START = BASE_TIME * 1_000_000_000  # LogSpec's default start_ns; messages 1 ms apart
MS = 1_000_000


@pytest.fixture(scope="module")
def stub() -> Iterator[StubEngine]:
    with StubEngine(SCRIPT) as server:
        yield server


def stamp(nanos: int) -> bytes:
    """dockerd's prefix: RFC3339 with nine fraction digits, UTC, and a space."""
    second = datetime.fromtimestamp(nanos // 1_000_000_000, tz=timezone.utc)
    return second.strftime("%Y-%m-%dT%H:%M:%S").encode() + b".%09dZ " % (nanos % 1_000_000_000)


def expected(
    container: Container, first: int = 0, stop: int | None = None, timestamps: bool = False
) -> tuple[bytes, bytes]:
    """(stdout, stderr) for messages [first, stop), stamped with their scripted times."""
    out: dict[int, bytearray] = {1: bytearray(), 2: bytearray()}
    messages = list(container.messages())
    for index in range(first, len(messages) if stop is None else stop):
        stream, payload = messages[index]
        prefix = stamp(START + index * MS) if timestamps else b""
        out[stream] += prefix + payload
    return bytes(out[1]), bytes(out[2])


def frames(body: bytes) -> tuple[bytes, bytes]:
    """A multiplexed body split by hand into (stdout, stderr)."""
    out: dict[int, bytearray] = {1: bytearray(), 2: bytearray()}
    pos = 0
    while pos < len(body):
        size = int.from_bytes(body[pos + 4 : pos + 8], "big")
        out[body[pos]] += body[pos + 8 : pos + 8 + size]
        pos += 8 + size
    return bytes(out[1]), bytes(out[2])


def query(stub: StubEngine, name: str, params: str, version: str = "v1.41") -> tuple[int, bytes]:
    request = f"GET /{version}/containers/{name}/logs?{params} HTTP/1.1\r\nHost: x\r\n\r\n"
    status, _, body = raw(stub, request)
    return status, body


def count(container: Container) -> int:
    return len(list(container.messages()))


# --- timestamps -----------------------------------------------------------------------------


@pytest.mark.parametrize("container", [LINES, TTY, LONG], ids=lambda c: c.name)
def test_timestamps_prefix_every_message(
    stub: StubEngine, backend: str, container: Container
) -> None:
    with Client(stub.host, backend=backend) as client:
        call = api.logs(container.id, timestamps=True, tty=container.tty)
        got: dict[int, bytes] = {1: b"", 2: b""}
        for event in client.stream(call):
            if isinstance(event, Output):
                for stream, piece in event.pieces:
                    got[stream] += bytes(piece)
    assert (got[1], got[2]) == expected(container, timestamps=True)
    assert got[1].startswith(b"2023-11-14T22:13:20.000000000Z ")


def test_timestamps_one_frame_per_message(stub: StubEngine) -> None:
    # each 16 KiB piece of a long line is its own json-file entry with its own time
    status, body = query(stub, "long", "stdout=1&stderr=1&timestamps=yes")
    assert status == 200
    sizes, pos = [], 0
    while pos < len(body):
        sizes.append(int.from_bytes(body[pos + 4 : pos + 8], "big"))
        pos += 8 + sizes[-1]
    stamp_size = len(stamp(START))
    assert sizes == [stamp_size + len(p) for _, p in LONG.messages()]


# --- tail ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tail", "last"),
    [
        ("0", 0),
        ("1", 1),
        ("7", 7),
        ("%2B7", 7),  # Go's Atoi takes a sign
        ("+7", None),  # a query's + is a space: not a number, so all (as dockerd)
        ("100000", None),
        ("all", None),
        ("-3", None),
    ],
)
def test_tail_counts_the_last_messages(stub: StubEngine, tail: str, last: int | None) -> None:
    status, body = query(stub, "lines", f"stdout=1&stderr=1&tail={tail}")
    first = 0 if last is None else max(0, count(LINES) - last)
    assert status == 200 and frames(body) == expected(LINES, first)


def test_tail_counts_both_streams_before_the_stream_filter(stub: StubEngine) -> None:
    _, body = query(stub, "lines", "stderr=1&tail=9")
    want = expected(LINES, count(LINES) - 9)
    assert frames(body) == (b"", want[1])
    assert len(want[1]) > 0 and len(want[0]) > 0  # both streams are among the last nine


def test_tail_counts_the_pieces_of_a_long_line(stub: StubEngine) -> None:
    # 40 KiB lines are json-file entries of 16 + 16 + 8 KiB: tail=2 is the last two pieces
    _, body = query(stub, "long", "stdout=1&stderr=1&tail=2")
    pieces = list(LONG.messages())
    assert [len(p) for _, p in pieces[-2:]] == [16 * KIB, 100 * KIB + 5 - 2 * 40 * KIB - 16 * KIB]
    assert frames(body) == expected(LONG, len(pieces) - 2)


# --- since / until ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "first", "stop"),
    [
        (f"since={BASE_TIME}.005", 5, None),  # inclusive
        (f"since={BASE_TIME}.005000001", 6, None),
        (f"until={BASE_TIME}.009", 0, 10),  # inclusive
        (f"since={BASE_TIME}.005&until={BASE_TIME}.009", 5, 10),
        (f"since={BASE_TIME}.0050000001", 5, None),  # ten fraction digits, scaled down
        (f"until={BASE_TIME - 1}", 0, 0),
        ("until=0", 0, None),  # 0 means no until
        ("since=-1", 0, None),
        (f"since={BASE_TIME + 3600}", 0, 0),
        (f"tail=10&since={BASE_TIME}.{count(LINES) - 4:03d}", count(LINES) - 4, None),
    ],
)
def test_since_until_filter_by_message_time(
    stub: StubEngine, params: str, first: int, stop: int | None
) -> None:
    status, body = query(stub, "lines", f"stdout=1&stderr=1&{params}")
    assert status == 200
    if stop == 0 or first >= count(LINES):
        assert body == b""
    else:
        assert frames(body) == expected(LINES, first, stop)


@pytest.mark.parametrize(
    ("params", "part"), [("since=abc", "abc"), ("until=1.5x", "5x"), ("since=1.", "")]
)
def test_bad_times_get_the_engines_500(stub: StubEngine, params: str, part: str) -> None:
    message = f'strconv.ParseInt: parsing "{part}": invalid syntax'
    assert query(stub, "lines", f"stdout=1&{params}", "v1.12") == (500, f"{message}\n".encode())
    status, body = query(stub, "lines", f"stdout=1&{params}")
    assert (status, body) == (500, b'{"message":"%s"}\n' % message.encode().replace(b'"', b'\\"'))


@pytest.mark.skipif(not CLIS, reason="no docker CLI")
@pytest.mark.parametrize("cli", CLIS)
def test_docker_cli_logs_flags(stub: StubEngine, cli: str) -> None:
    n = count(LINES)
    args = ["-t", "--tail", str(n - 3), "--since", "2023-11-14T22:13:20.002Z"]
    got = docker(cli, stub, "logs", *args, "--until", f"{BASE_TIME}.{n - 6:03d}", "lines")
    assert got.returncode == 0, got.stderr
    assert (got.stdout, got.stderr) == expected(LINES, 3, n - 5, timestamps=True)
    tty = docker(cli, stub, "logs", "--timestamps", "--tail", "4", "tty")
    assert tty.stdout == expected(TTY, count(TTY) - 4, timestamps=True)[0]


# --- follow and rate -----------------------------------------------------------------------------


def read_for(sock: socket.socket, seconds: float) -> bytes:
    """What arrives within ``seconds`` (the stream stays open: no EOF expected)."""
    data = bytearray()
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            piece = sock.recv(256 * KIB)
        except TimeoutError:
            break
        if not piece:
            break
        data += piece
    return bytes(data)


def open_logs(stub: StubEngine, name: str, params: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(stub.socket_path or "")
    request = f"GET /v1.41/containers/{name}/logs?{params} HTTP/1.1\r\nHost: x\r\n\r\n"
    sock.sendall(request.encode())
    return sock


def test_follow_a_running_container_holds_the_stream_open(stub: StubEngine) -> None:
    with open_logs(stub, "live", "stdout=1&stderr=1&follow=1") as sock:
        data = read_for(sock, 1.0)
        head, _, body = data.partition(b"\r\n\r\n")
        assert b"Transfer-Encoding: chunked" in head
        assert not body.endswith(b"0\r\n\r\n")  # no last chunk: still following
        assert frames(dechunk(body + b"0\r\n\r\n")) == expected(LIVE)
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(1)


def test_follow_ends_for_a_stopped_container_or_with_until(stub: StubEngine) -> None:
    for name, params in [("lines", "follow=1"), ("live", f"follow=1&until={BASE_TIME}.002")]:
        status, body = query(stub, name, f"stdout=1&stderr=1&{params}")
        container = LINES if name == "lines" else LIVE
        assert status == 200
        assert frames(body) == expected(container, 0, None if name == "lines" else 3)


def test_rate_paces_the_body(stub: StubEngine) -> None:
    # 1 MiB at 4 MiB/s: 0.25 s at best; a tolerant lower bound, and an upper bound
    # for a loaded machine
    started = time.monotonic()
    status, body = query(stub, "paced", "stdout=1&stderr=1")
    elapsed = time.monotonic() - started
    assert status == 200 and frames(body) == expected(PACED)
    assert 0.2 <= elapsed < 20, elapsed


@pytest.mark.parametrize(("name", "rate"), [("live-paced", 256 * KIB), ("trickle", 20 * KIB)])
def test_follow_with_rate_sends_no_faster_than_the_rate(
    stub: StubEngine, name: str, rate: int
) -> None:
    with open_logs(stub, name, "stdout=1&stderr=1&follow=1") as sock:
        started = time.monotonic()
        data = read_for(sock, 0.8)
        elapsed = time.monotonic() - started
    # the pace allows rate * elapsed, plus one write (1/20 s worth) ahead and the head
    assert rate / 10 < len(data) <= rate * elapsed + rate / 20 + 4 * KIB, (len(data), elapsed)


# --- the event loop ------------------------------------------------------------------------------


def test_hundreds_of_streams_share_one_thread(stub: StubEngine) -> None:
    """300 followed streams at once: each gets its bytes; no thread is started per stream."""
    threads = threading.active_count()

    async def one() -> bytes:
        reader, writer = await asyncio.open_unix_connection(stub.socket_path)
        request = "GET /containers/live/logs?stdout=1&stderr=1&follow=1 HTTP/1.1\r\nHost: x\r\n\r\n"
        writer.write(request.encode())
        await reader.readuntil(b"\r\n\r\n")
        body = bytearray()
        wanted = sum(len(chunk) for chunk in _encoded_live())
        while len(body) < wanted:
            body += await reader.read(64 * KIB)
        writer.close()
        return bytes(body)

    async def main() -> tuple[list[bytes], int]:
        tasks = [asyncio.create_task(one()) for _ in range(300)]
        await asyncio.sleep(0.2)
        during = threading.active_count()
        return list(await asyncio.gather(*tasks)), during

    bodies, during = asyncio.run(main())
    assert during <= threads + 1, (threads, during)
    want = expected(LIVE)
    assert all(frames(dechunk(body + b"0\r\n\r\n")) == want for body in bodies)


def _encoded_live() -> list[bytes]:
    from wireproto import mux

    return [b"%x\r\n%s\r\n" % (8 + len(p), mux.encode(s, p)) for s, p in LIVE.messages()]
