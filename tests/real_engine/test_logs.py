"""The demuxer against a real engine: ``GET /containers/{id}/logs`` of busybox containers.

Strategy: each case is a container whose output we know byte for byte (computed here; the
container prints it with ``cat`` of files we mount, or makes it itself with ``seq``). The logs
body is fetched once per case with a minimal HTTP/1.1 client written here (a plain unix socket,
``Connection: close``, chunked decoding), then demuxed on both backends, fed whole, chunk by chunk
as the engine sent it, at random split points and (small bodies) byte by byte, through ``feed``
and ``feed_into``. Each stream must come out exactly as written, the pieces in the order of an
independent frame parser, and ``docker logs`` (the CLI) must print the same bytes.

What the engine (dockerd 20.10, json-file) does to the output, which shapes the cases: one log
message per line, cut into 16 KiB messages when longer; a final line without newline stays
without one; invalid UTF-8 becomes U+FFFD per bad byte; stdout and stderr are read by separate
goroutines, so their relative order in the log is not deterministic (each stream's own is).
"""

from __future__ import annotations

import io
import random
import socket
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.engine import Engine
from wireproto import errors, mux

pytestmark = pytest.mark.engine

API_PREFIXES = ["", "/v1.12"]  # newest, and the oldest the test engine speaks
BYTE_BY_BYTE_LIMIT = 16 * 1024
RANDOM_SPLIT_SEEDS = range(4)
LOG_MESSAGE_SIZE = 16 * 1024  # the json-file copier's cut


# --- a minimal HTTP/1.1 client ------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    chunks: list[bytes] = field(default_factory=list)  # as framed by the engine, if chunked

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k == name.lower()]
        return ", ".join(values) if values else None


def http_get(socket_path: str, target: str, timeout: float = 60) -> Response:
    """GET ``target`` over the unix socket, read to close, decode the body framing."""
    request = (
        f"GET {target} HTTP/1.1\r\nHost: docker\r\nUser-Agent: wireproto-tests\r\n"
        "Connection: close\r\n\r\n"
    ).encode("ascii")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(socket_path)
        sock.sendall(request)
        received = bytearray()
        while data := sock.recv(1 << 16):
            received += data
    head, separator, rest = bytes(received).partition(b"\r\n\r\n")
    assert separator, f"no end of response head in {bytes(received[:200])!r}"
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    version, status, _reason = [*status_line.split(" ", 2), ""][:3]
    assert version in ("HTTP/1.1", "HTTP/1.0"), status_line
    headers = []
    for line in header_lines:
        name, colon, value = line.partition(":")
        assert colon, f"malformed header line {line!r}"
        headers.append((name.strip().lower(), value.strip()))
    response = Response(int(status), headers, b"")
    encoding = (response.header("transfer-encoding") or "").lower()
    if encoding == "chunked":
        response.chunks = decode_chunked(rest)
        response.body = b"".join(response.chunks)
    elif encoding:
        raise AssertionError(f"unexpected Transfer-Encoding {encoding!r}")
    elif (length := response.header("content-length")) is not None:
        assert len(rest) == int(length), f"Content-Length {length}, got {len(rest)} bytes"
        response.body = rest
    else:
        response.body = rest  # read to close
    return response


def decode_chunked(data: bytes) -> list[bytes]:
    """The chunks of a complete chunked body (RFC 9112 section 7.1); trailers are dropped."""
    chunks, position = [], 0
    while True:
        line_end = data.index(b"\r\n", position)
        size = int(data[position:line_end].split(b";", 1)[0].strip(), 16)
        position = line_end + 2
        if size == 0:
            break
        chunks.append(data[position : position + size])
        assert data[position + size : position + size + 2] == b"\r\n", "chunk without CRLF"
        position += size + 2
    while not data.startswith(b"\r\n", position):  # trailer fields, up to the empty line
        position = data.index(b"\r\n", position) + 2
    assert position + 2 == len(data), f"{len(data) - position - 2} bytes after the chunked body"
    return chunks


# --- the cases ----------------------------------------------------------------------------------


@dataclass
class Case:
    """A container program and exactly what its stdout and stderr logs must hold."""

    name: str
    script: str  # run by `sh /data/script.sh`; /data holds `files`
    stdout: bytes
    stderr: bytes
    files: dict[str, bytes] = field(default_factory=dict)


def interleaved_case() -> Case:
    """~200 writes alternating at random between stdout and stderr; UTF-8, CR, tabs, NUL,
    empty lines; writes that cut lines (even UTF-8 sequences) anywhere; both streams end
    without a newline."""
    rng = random.Random(1729)
    words = ["docker", "wire", "proto", "héllo", "wörld", "✓", "🐳", "tab\there", "cr\rlf", "\x00"]

    def stream_text(label: str) -> bytes:
        lines = []
        for number in range(300):
            kind = rng.random()
            if kind < 0.1:
                line = ""
            elif kind < 0.2:
                line = "x" * rng.randint(1000, 4000)
            else:
                line = " ".join(rng.choice(words) for _ in range(rng.randint(1, 12)))
            lines.append(f"{label} {number}: {line}\n")
        return ("".join(lines) + f"{label}: the end, without a newline").encode()

    streams = {1: stream_text("out"), 2: stream_text("err")}
    writes: list[tuple[int, bytes]] = []
    for stream, text in streams.items():
        position = 0
        while position < len(text):
            size = rng.choice([1, 2, 3, 7, 64, 500, rng.randint(1, 5000)])
            writes.append((stream, text[position : position + size]))
            position += size
    # Shuffle across streams, keeping each stream's own order.
    order = [stream for stream, _ in writes]
    rng.shuffle(order)
    queues = {s: [w for t, w in writes if t == s] for s in streams}
    files, script = {}, []
    for index, stream in enumerate(order):
        files[f"w{index}"] = queues[stream].pop(0)
        script.append(f"cat /data/w{index}" + (" >&2" if stream == 2 else ""))
    return Case("interleaved", "\n".join(script) + "\n", streams[1], streams[2], files)


def long_lines_case() -> Case:
    """Lines over 64 KiB made by the container itself (seq), and lines around the 16 KiB cut."""
    seq_out = "".join(str(i) for i in range(1, 20001)).encode()  # 88,894 bytes
    seq_err = "".join(str(i) for i in range(100000, 115000)).encode()  # 90,000 bytes
    boundaries = b"".join(
        bytes([ord("A") + i]) * size + b"\n"
        for i, size in enumerate(
            [
                LOG_MESSAGE_SIZE - 1,
                LOG_MESSAGE_SIZE,
                LOG_MESSAGE_SIZE + 1,
                2 * LOG_MESSAGE_SIZE,
                4 * LOG_MESSAGE_SIZE + 7,
            ]
        )
    )
    script = (
        "seq 1 20000 | tr -d '\\n'\n"
        "echo\n"
        "cat /data/boundaries\n"
        "echo after the long lines\n"
        "seq 100000 114999 | tr -d '\\n' >&2\n"
    )
    return Case(
        "long_lines",
        script,
        seq_out + b"\n" + boundaries + b"after the long lines\n",
        seq_err,  # no newline at the end: a line of 90,000 bytes cut in six messages
        {"boundaries": boundaries},
    )


def small_case() -> Case:
    """A body small enough to feed byte by byte."""
    script = (
        "printf 'out 1\\n'\nprintf 'err 1\\n' >&2\nprintf '\\n'\n"
        "printf 'err 2, no newline' >&2\nprintf 'out 2, no newline'\n"
    )
    return Case("small", script, b"out 1\n\nout 2, no newline", b"err 1\nerr 2, no newline")


def stderr_only_case() -> Case:
    return Case("stderr_only", "printf 'only\\nstderr\\n' >&2\n", b"", b"only\nstderr\n")


def silent_case() -> Case:
    return Case("silent", "true\n", b"", b"")


def replaced_utf8_case() -> Case:
    """Not what was written: json-file stores each invalid UTF-8 byte as U+FFFD (EF BF BD)."""
    return Case(
        "invalid_utf8",
        "cat /data/bad\n",
        b"a\xef\xbf\xbd\xef\xbf\xbdb\n",
        b"",
        {"bad": b"a\xff\xfeb\n"},
    )


CASES = [
    interleaved_case,
    long_lines_case,
    small_case,
    stderr_only_case,
    silent_case,
    replaced_utf8_case,
]


@dataclass
class Logs:
    case: Case
    container: str
    responses: dict[str, Response]  # by API prefix


@pytest.fixture(
    scope="module", params=CASES, ids=[make.__name__[: -len("_case")] for make in CASES]
)
def logs(
    request: pytest.FixtureRequest, engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Logs:
    """Run the case's container once; fetch its logs at each API version."""
    case: Case = request.param()
    assert engine.socket_path, "these tests talk to the engine over its unix socket"
    data = tmp_path_factory.mktemp(case.name)
    for name, content in {**case.files, "script.sh": case.script.encode()}.items():
        (data / name).write_bytes(content)
    data.chmod(0o755)
    container = engine.run_container(["sh", "/data/script.sh"], volumes=[f"{data}:/data:ro"])
    responses = {}
    for prefix in API_PREFIXES:
        response = http_get(
            engine.socket_path, f"{prefix}/containers/{container}/logs?stdout=1&stderr=1"
        )
        assert response.status == 200, (response.status, response.body[:500])
        responses[prefix] = response
    return Logs(case, container, responses)


# --- helpers ------------------------------------------------------------------------------------


def reference_frames(body: bytes) -> list[tuple[int, bytes]]:
    """Split a multiplexed body into frames, simply and strictly (independent of wireproto)."""
    frames, position = [], 0
    while position < len(body):
        assert position + 8 <= len(body), f"header cut at offset {position}"
        stream, size = struct.unpack(">BxxxI", body[position : position + 8])
        assert body[position + 1 : position + 4] == b"\0\0\0", f"bad header at {position}"
        assert stream in (mux.STDOUT, mux.STDERR), f"stream {stream} at offset {position}"
        payload = body[position + 8 : position + 8 + size]
        assert len(payload) == size, f"payload cut at offset {position}"
        frames.append((stream, payload))
        position += 8 + size
    return frames


def coalesce(pieces: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """Merge adjacent pieces of one stream and drop empty ones: the order that must hold."""
    merged: list[tuple[int, bytes]] = []
    for stream, payload in pieces:
        if not payload:
            continue
        if merged and merged[-1][0] == stream:
            merged[-1] = (stream, merged[-1][1] + payload)
        else:
            merged.append((stream, payload))
    return merged


def random_splits(data: bytes, seed: int) -> list[bytes]:
    """Cut points at random, many of them within or next to 8-byte headers."""
    rng = random.Random(seed)
    parts, position = [], 0
    while position < len(data):
        size = rng.choice([1, 2, 3, 5, 7, 8, 9, 15, 16, 17, rng.randint(1, 40000)])
        parts.append(data[position : position + size])
        position += size
    return parts


def splittings(response: Response) -> Iterator[tuple[str, list[bytes]]]:
    body = response.body
    yield "whole", [body]
    yield "http_chunks", list(response.chunks) or [body]
    for seed in RANDOM_SPLIT_SEEDS:
        yield f"random_{seed}", random_splits(body, seed)
    if len(body) <= BYTE_BY_BYTE_LIMIT:
        yield "byte_by_byte", [body[i : i + 1] for i in range(len(body))]


def demux_pieces(demuxer_class: type, parts: list[bytes]) -> list[tuple[int, bytes]]:
    demuxer = demuxer_class()
    pieces = []
    for part in parts:
        pieces += [(stream, bytes(payload)) for stream, payload in demuxer.feed(part)]
    demuxer.close()
    return pieces


def streams_of(pieces: list[tuple[int, bytes]]) -> dict[int, bytes]:
    out: dict[int, bytearray] = {mux.STDOUT: bytearray(), mux.STDERR: bytearray()}
    for stream, payload in pieces:
        out.setdefault(stream, bytearray()).extend(payload)
    return {stream: bytes(data) for stream, data in out.items()}


class Writer:
    """A sink with only ``.write``, as a file would be."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()

    def write(self, data: Any) -> int:
        return self.buffer.write(data)

    def getvalue(self) -> bytes:
        return self.buffer.getvalue()


def dict_sinks() -> tuple[dict[int, bytearray], Callable[[int], bytes]]:
    sinks = {mux.STDOUT: bytearray(), mux.STDERR: bytearray()}
    return sinks, lambda stream: bytes(sinks[stream])


def list_sinks() -> tuple[list[bytearray], Callable[[int], bytes]]:
    sinks = [bytearray() for _ in range(4)]
    return sinks, lambda stream: bytes(sinks[stream])


def writer_sinks() -> tuple[dict[int, Writer], Callable[[int], bytes]]:
    sinks = {stream: Writer() for stream in (mux.STDIN, mux.STDOUT, mux.STDERR, mux.SYSTEMERR)}
    return sinks, lambda stream: sinks[stream].getvalue()


SINKS = {"dict": dict_sinks, "list": list_sinks, "writer": writer_sinks}


# --- tests --------------------------------------------------------------------------------------


def test_engine_output_is_what_the_case_expects(logs: Logs) -> None:
    """The expectation and the body agree under an independent parser (checks the test itself)."""
    for prefix, response in logs.responses.items():
        frames = reference_frames(response.body)
        assert streams_of(frames) == {
            mux.STDOUT: logs.case.stdout,
            mux.STDERR: logs.case.stderr,
        }, prefix
        # json-file never stores more than 16 KiB in one message, and sends one frame each.
        assert all(len(payload) <= LOG_MESSAGE_SIZE for _, payload in frames), prefix


def test_feed_gives_each_stream_exactly(logs: Logs, demuxer_class: type) -> None:
    expected = {mux.STDOUT: logs.case.stdout, mux.STDERR: logs.case.stderr}
    for prefix, response in logs.responses.items():
        order = coalesce(reference_frames(response.body))
        for how, parts in splittings(response):
            pieces = demux_pieces(demuxer_class, parts)
            assert all(stream in (mux.STDOUT, mux.STDERR) for stream, _ in pieces), (prefix, how)
            assert streams_of(pieces) == expected, (prefix, how)
            assert coalesce(pieces) == order, (prefix, how)


@pytest.mark.parametrize("sink_kind", list(SINKS))
def test_feed_into_gives_each_stream_exactly(
    logs: Logs, demuxer_class: type, sink_kind: str
) -> None:
    for prefix, response in logs.responses.items():
        for how, parts in splittings(response):
            sinks, value = SINKS[sink_kind]()
            demuxer = demuxer_class()
            for part in parts:
                demuxer.feed_into(part, sinks)
            demuxer.close()
            assert value(mux.STDOUT) == logs.case.stdout, (prefix, how)
            assert value(mux.STDERR) == logs.case.stderr, (prefix, how)


def test_truncated_body_raises_and_keeps_what_came(logs: Logs, demuxer_class: type) -> None:
    body = logs.responses[""].body
    frames = reference_frames(body)
    if not frames:  # nothing to cut: an empty body is a complete stream
        demuxer = demuxer_class()
        assert demuxer.feed(body) == []
        demuxer.close()
        return
    starts, position = [], 0
    for _, payload in frames:
        starts.append((position, len(payload)))
        position += 8 + len(payload)
    cuts = set()
    for start, size in starts[:: max(1, len(starts) // 20)] + starts[-1:]:
        cuts.update({start + 1, start + 7})  # inside the header
        if size > 1:
            cuts.add(start + 8 + size // 2)  # inside the payload
    cuts.add(len(body) - 1)
    for cut in sorted(cuts):
        demuxer = demuxer_class()
        pieces = [(s, bytes(p)) for s, p in demuxer.feed(body[:cut])]
        with pytest.raises(errors.TruncatedFrame):
            demuxer.close()
        got = streams_of(pieces)
        assert logs.case.stdout.startswith(got[mux.STDOUT]), cut
        assert logs.case.stderr.startswith(got[mux.STDERR]), cut
        # Everything up to the last complete frame has been delivered, at the least.
        complete = streams_of(reference_frames(body[: max(s for s, _ in starts if s <= cut)]))
        assert len(got[mux.STDOUT]) >= len(complete[mux.STDOUT]), cut
        assert len(got[mux.STDERR]) >= len(complete[mux.STDERR]), cut


def test_docker_logs_cli_prints_the_same(logs: Logs, engine: Engine) -> None:
    printed = engine.docker("logs", logs.container)
    assert printed.stdout == logs.case.stdout
    assert printed.stderr == logs.case.stderr


def test_tty_logs_are_raw_not_multiplexed(engine: Engine, demuxer_class: type) -> None:
    """With a TTY there are no frames: both streams arrive as one raw stream, LF as CRLF."""
    assert engine.socket_path
    container = engine.run_container(
        ["sh", "-c", "printf 'out\\n'; printf 'err\\n' >&2; printf 'end'"], tty=True
    )
    response = http_get(engine.socket_path, f"/containers/{container}/logs?stdout=1&stderr=1")
    assert response.status == 200
    assert response.body == b"out\r\nerr\r\nend"
    assert engine.docker("logs", container).stdout == b"out\r\nerr\r\nend"
    demuxer = demuxer_class()
    with pytest.raises(errors.FrameError):  # 'o' is no stream number
        demuxer.feed(response.body)
        demuxer.close()


def test_logs_of_a_missing_container_is_404(engine: Engine) -> None:
    assert engine.socket_path
    response = http_get(engine.socket_path, "/containers/wireproto-no-such-container/logs?stdout=1")
    assert response.status == 404
    assert b"No such container" in response.body


def test_raw_client_reads_to_close_and_content_length(engine: Engine) -> None:
    """The test's own client on a body that is not chunked: /_ping, with Content-Length."""
    assert engine.socket_path
    response = http_get(engine.socket_path, "/_ping")
    assert (response.status, response.body) == (200, b"OK")
    assert response.header("api-version")
