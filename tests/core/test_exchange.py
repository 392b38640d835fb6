"""The sans-IO exchange on synthetic responses: framing, errors, keep-alive, stdin.

Every reader runs whole, byte by byte and at random splits (the ``split``
fixture), on both backends.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable

import pytest

from wireproto import exchange as ex
from wireproto import http, mux
from wireproto.errors import (
    APIError,
    ConnectionClosed,
    IncompleteBody,
    InvalidChunk,
    InvalidFrameHeader,
    InvalidResponse,
    LocalProtocolError,
    StreamFailed,
    TruncatedFrame,
)

Split = Callable[[bytes], list[bytes]]
OK_CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def logs_body(frames: list[tuple[int, bytes]]) -> bytes:
    return b"".join(chunk(mux.encode(s, p)) for s, p in frames) + b"0\r\n\r\n"


def stdio_call(*, tty: bool | None = None, hijack: bool = False, target: str = "/x") -> http.Call:
    method = "POST" if hijack else "GET"
    return http.Call(
        request=http.Request(method=method, target=target),
        kind=http.BodyKind.STDIO,
        hijack=hijack,
        tty=tty,
        endpoint="attach" if hijack else "logs",
    )


def bytes_call(method: str = "GET") -> http.Call:
    return http.Call(request=http.Request(method=method, target="/x"), kind=http.BodyKind.BYTES)


class Result:
    def __init__(self) -> None:
        self.events: list[object] = []
        self.streams = {s: bytearray() for s in range(4)}
        self.data = bytearray()
        self.error: Exception | None = None


def run(exchange: ex.Exchange, chunks: list[bytes], eof: bool = True) -> Result:
    result = Result()
    try:
        for data in [*chunks, *([b""] if eof else [])]:
            exchange.receive_data(data)
            while (event := exchange.next_event()) not in (ex.NEED_DATA, ex.PAUSED):
                result.events.append(event)
                if isinstance(event, ex.Output):
                    for stream, piece in event.pieces:
                        result.streams[stream] += piece
                elif isinstance(event, ex.Data):
                    result.data += event.data
            if event is ex.PAUSED:
                break
    except Exception as exc:
        result.error = exc
    return result


def test_logs_fused_path(backend: str, split: Split) -> None:
    frames = [(1, b"out\n"), (2, b"err\n"), (1, b"x" * 5000), (2, b"")]
    exchange = ex.Exchange(stdio_call(tty=False), backend=backend)
    result = run(exchange, split(OK_CHUNKED + logs_body(frames)))
    assert result.error is None
    assert result.streams[1] == b"out\n" + b"x" * 5000 and result.streams[2] == b"err\n"
    assert exchange.reusable


def test_a_body_cut_short_delivers_everything_then_fails(backend: str, split: Split) -> None:
    frames = [(1, b"line one\n"), (2, b"line two\n")]
    wire = OK_CHUNKED + logs_body(frames)[:-12]  # inside the second chunk's payload
    for tty in (False, None):
        exchange = ex.Exchange(stdio_call(tty=tty), backend=backend)
        result = run(exchange, split(wire))
        assert isinstance(result.error, IncompleteBody)
        assert result.streams[1] == b"line one\n"
        assert bytes(result.streams[2]) == b"line two\n"[: len(result.streams[2])]
        assert not exchange.reusable


def test_content_length_cut_short(split: Split) -> None:
    wire = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345"
    result = run(ex.Exchange(bytes_call()), split(wire))
    assert isinstance(result.error, IncompleteBody)
    assert "5 of 10 bytes" in str(result.error)
    assert result.data == b"12345"


def test_bad_frame_header_delivers_what_came_before(backend: str, split: Split) -> None:
    body = mux.encode(1, b"good\n") + b"\x09\x00\x00\x00\x00\x00\x00\x01!"
    wire = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    exchange = ex.Exchange(stdio_call(tty=False), backend=backend)
    result = run(exchange, split(wire))
    assert isinstance(result.error, InvalidFrameHeader)
    assert result.error.offset == 13
    assert result.streams[1] == b"good\n"
    with pytest.raises(StreamFailed):
        exchange.next_event()


def test_bad_chunk_in_the_fused_path(backend: str, split: Split) -> None:
    wire = OK_CHUNKED + chunk(mux.encode(1, b"fine\n")) + b"zz\r\n"
    result = run(ex.Exchange(stdio_call(tty=False), backend=backend), split(wire))
    assert isinstance(result.error, InvalidChunk)
    assert result.streams[1] == b"fine\n"


def test_hijacked_stream_cut_mid_frame(backend: str, split: Split) -> None:
    head = b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    wire = head + mux.encode(1, b"hello") + mux.encode(2, b"world")[:-2]
    result = run(ex.Exchange(stdio_call(hijack=True), backend=backend), split(wire))
    assert isinstance(result.error, TruncatedFrame)
    assert result.streams[1] == b"hello" and result.streams[2] == b"wor"


def test_output_in_the_segment_of_the_101_head_is_not_lost(backend: str) -> None:
    head = b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    exchange = ex.Exchange(stdio_call(hijack=True, tty=False), backend=backend)
    exchange.receive_data(head + mux.encode(1, b"first bytes"))
    response = exchange.next_event()
    assert isinstance(response, http.Response) and response.hijacked
    output = exchange.next_event()
    assert isinstance(output, ex.Output)
    assert [(s, bytes(p)) for s, p in output.pieces] == [(1, b"first bytes")]
    assert exchange.next_event() is ex.NEED_DATA


def test_stdin_goes_out_after_the_hijack_then_half_closes() -> None:
    exchange = ex.Exchange(stdio_call(hijack=True))
    assert exchange.data_to_send().startswith(b"POST /x HTTP/1.1\r\n")
    exchange.send_stdin(b"early")  # queued until the stream is ours
    assert exchange.data_to_send() == b""
    exchange.receive_data(b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
    assert isinstance(exchange.next_event(), http.Response)
    exchange.send_stdin(b" and late")
    exchange.end_stdin()
    assert not exchange.stdin_closed
    assert exchange.data_to_send() == b"early and late"
    assert exchange.data_to_send() == b""
    assert exchange.stdin_closed
    with pytest.raises(LocalProtocolError):
        exchange.send_stdin(b"more")


def test_stdin_needs_a_hijacked_call() -> None:
    with pytest.raises(LocalProtocolError):
        ex.Exchange(bytes_call()).send_stdin(b"x")


def test_streamed_request_body_is_chunked() -> None:
    call = http.Call(
        request=http.Request(method="POST", target="/build", body=iter([b"ab", b"", b"cde"])),
        kind=http.BodyKind.JSONSTREAM,
    )
    exchange = ex.Exchange(call)
    sent = b""
    while out := exchange.data_to_send():
        sent += out
    assert b"Transfer-Encoding: chunked\r\n" in sent
    assert sent.endswith(b"\r\n\r\n2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n")


def test_streamed_request_body_with_a_known_length() -> None:
    request = http.Request(
        method="POST", target="/build", headers=(("Content-Length", "5"),), body=[b"ab", b"cde"]
    )
    exchange = ex.Exchange(http.Call(request=request, kind=http.BodyKind.JSONSTREAM))
    sent = b""
    while out := exchange.data_to_send():
        sent += out
    assert b"Transfer-Encoding" not in sent
    assert sent.endswith(b"Content-Length: 5\r\n\r\nabcde")


def test_a_streamed_body_longer_than_its_length_is_refused() -> None:
    request = http.Request(
        method="POST", target="/build", headers=(("Content-Length", "2"),), body=[b"abc"]
    )
    exchange = ex.Exchange(http.Call(request=request, kind=http.BodyKind.JSONSTREAM))
    exchange.data_to_send()
    with pytest.raises(LocalProtocolError):
        exchange.data_to_send()


def test_interim_responses_are_skipped(split: Split) -> None:
    wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"
    result = run(ex.Exchange(bytes_call()), split(wire))
    assert result.error is None
    response = result.events[0]
    assert isinstance(response, http.Response) and response.status == 200
    assert result.data == b"OK"


def test_head_too_large(split: Split) -> None:
    wire = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * http.MAX_HEAD_SIZE + b"\r\n\r\n"
    result = run(ex.Exchange(bytes_call()), split(wire))
    assert isinstance(result.error, InvalidResponse)
    assert "MAX_HEAD_SIZE" in str(result.error)


def test_malformed_head(split: Split) -> None:
    result = run(ex.Exchange(bytes_call()), split(b"HTTP/1.1 abc OK\r\n\r\n"))
    assert isinstance(result.error, InvalidResponse)


def test_closed_before_the_head(split: Split) -> None:
    result = run(ex.Exchange(bytes_call()), split(b"HTTP/1.1 200 OK\r\nContent-"))
    assert isinstance(result.error, ConnectionClosed)
    assert result.error.received == 25


def test_keep_alive(split: Split) -> None:
    exchange = ex.Exchange(bytes_call())
    result = run(exchange, split(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"), eof=False)
    assert isinstance(result.events[-1], ex.EndOfMessage)
    assert exchange.reusable
    assert exchange.next_event() is ex.PAUSED


@pytest.mark.parametrize(
    "wire",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nOK",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOKgarbage",
        b"HTTP/1.1 200 OK\r\n\r\nuntil close",
    ],
)
def test_not_reusable(wire: bytes) -> None:
    exchange = ex.Exchange(bytes_call())
    run(exchange, [wire], eof=wire.endswith(b"close"))
    assert exchange.state == "DONE"
    assert not exchange.reusable


def test_no_body_for_head_and_204(split: Split) -> None:
    exchange = ex.Exchange(bytes_call("HEAD"))
    result = run(exchange, split(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"), eof=False)
    assert isinstance(result.events[-1], ex.EndOfMessage) and exchange.reusable
    call = http.Call(request=http.Request(method="POST", target="/x"), kind=http.BodyKind.DOCUMENT)
    result = run(ex.Exchange(call), split(b"HTTP/1.1 204 No Content\r\n\r\n"), eof=False)
    assert not [e for e in result.events if isinstance(e, ex.Document)]


def test_error_body_is_bounded(split: Split) -> None:
    size = http.MAX_ERROR_BODY + 1000
    wire = b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n%s" % (size, b"e" * size)
    exchange = ex.Exchange(bytes_call())
    result = run(exchange, [wire], eof=False)
    assert isinstance(result.error, APIError)
    assert len(result.error.body) == http.MAX_ERROR_BODY
    assert exchange.reusable  # the whole body was read


def test_error_status_without_body_uses_the_reason() -> None:
    result = run(ex.Exchange(bytes_call()), [b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n"])
    assert isinstance(result.error, APIError)
    assert result.error.message == "Busy"


def test_engine_content_type_beats_the_callers_tty(backend: str) -> None:
    wire = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
        + b"Transfer-Encoding: chunked\r\n\r\n"
        + logs_body([(1, b"a")])
    )
    exchange = ex.Exchange(stdio_call(tty=True, target="/v1.44/x"), backend=backend)
    result = run(exchange, [wire])
    assert result.streams[1] == b"a"
    assert exchange.framing is not None and "Content-Type" in exchange.framing.reason


def test_unprefixed_target_uses_the_engines_version(backend: str) -> None:
    wire = (
        b"HTTP/1.1 101 UPGRADED\r\nApi-Version: 1.44\r\n"
        + b"Content-Type: application/vnd.docker.raw-stream\r\n"
        + b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n\x01\x00\x00\x00raw tty bytes"
    )
    exchange = ex.Exchange(stdio_call(hijack=True), backend=backend)
    result = run(exchange, [wire])
    assert result.streams[1] == b"\x01\x00\x00\x00raw tty bytes"
    assert exchange.framing is not None and exchange.framing.kind == "raw"


def test_a_short_raw_stream_is_not_lost(split: Split) -> None:
    wire = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
    exchange = ex.Exchange(stdio_call())
    result = run(exchange, split(wire))
    assert result.error is None and result.streams[1] == b"hi"


def test_data_after_eof_is_refused() -> None:
    exchange = ex.Exchange(bytes_call())
    exchange.receive_data(b"")
    with pytest.raises(LocalProtocolError):
        exchange.receive_data(b"x")


def test_reused_receive_buffers_are_safe(backend: str) -> None:
    """The adapter may pass views of one buffer it overwrites after NEED_DATA."""
    wire = OK_CHUNKED + logs_body([(1, b"%d\n" % i) for i in range(200)])
    buffer = bytearray(7)
    exchange = ex.Exchange(stdio_call(), backend=backend)
    pieces: list[tuple[int, memoryview]] = []
    for start in range(0, len(wire), 7):
        piece = wire[start : start + 7]
        buffer[: len(piece)] = piece
        exchange.receive_data(memoryview(buffer)[: len(piece)])
        while (event := exchange.next_event()) is not ex.NEED_DATA:
            if isinstance(event, ex.Output):
                pieces += event.pieces
            if isinstance(event, ex.EndOfMessage):
                break
    assert b"".join(bytes(p) for _, p in pieces) == b"".join(b"%d\n" % i for i in range(200))


def test_send_failed_kills_the_exchange() -> None:
    exchange = ex.Exchange(bytes_call())
    exchange.data_to_send()
    exchange.send_failed()
    with pytest.raises(StreamFailed):
        exchange.next_event()
    assert not exchange.reusable


def test_a_sink_that_raises_fails_the_exchange(backend: str) -> None:
    class Broken:
        def write(self, data: memoryview) -> None:
            raise BrokenPipeError("reader went away")

    sinks = [Broken()] * 4
    exchange = ex.Exchange(stdio_call(tty=False), backend=backend, sinks=sinks)
    exchange.receive_data(OK_CHUNKED + logs_body([(1, b"x")]))
    assert isinstance(exchange.next_event(), http.Response)
    with pytest.raises(BrokenPipeError):
        exchange.next_event()
    assert exchange.state == "FAILED" and not exchange.reusable
    with pytest.raises(StreamFailed):
        exchange.next_event()


def test_a_trickled_head_costs_linear_time() -> None:
    """The head search resumes where it stopped: 60 KB one byte at a time stays fast."""
    import time

    wire = (
        b"HTTP/1.1 200 OK\r\n" + b"X-Pad: %s\r\n" % (b"p" * 60_000) + b"Content-Length: 0\r\n\r\n"
    )
    exchange = ex.Exchange(bytes_call())
    start = time.perf_counter()
    for i in range(len(wire)):
        exchange.receive_data(wire[i : i + 1])
        event = exchange.next_event()
    assert isinstance(event, http.Response)
    assert time.perf_counter() - start < 1.0  # quadratic re-scanning takes far longer


def _tarball() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("hello")
        info.size = 5000
        archive.addfile(info, io.BytesIO(b"t" * 5000))
    return buffer.getvalue()


def test_a_tar_body_arrives_byte_for_byte_as_data(backend: str, split: Split) -> None:
    tarball = _tarball()
    call = http.Call(request=http.Request(method="GET", target="/x"), kind=http.BodyKind.TAR)
    exchange = ex.Exchange(call, backend=backend)
    wire = OK_CHUNKED + chunk(tarball[:1000]) + chunk(tarball[1000:]) + b"0\r\n\r\n"
    result = run(exchange, split(wire))
    assert result.error is None and bytes(result.data) == tarball
    assert not any(isinstance(e, (ex.Output, ex.Document)) for e in result.events)
    with tarfile.open(fileobj=io.BytesIO(bytes(result.data))) as archive:
        assert archive.getnames() == ["hello"]
    assert exchange.reusable


def test_a_tar_body_cut_short_delivers_what_came_then_fails(split: Split) -> None:
    tarball = _tarball()
    wire = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(tarball) + tarball[:700]
    call = http.Call(request=http.Request(method="GET", target="/x"), kind=http.BodyKind.TAR)
    result = run(ex.Exchange(call), split(wire))
    assert isinstance(result.error, IncompleteBody)
    assert bytes(result.data) == tarball[:700]


# --- a stream cut inside a frame, whatever ends the body --------------------------------

HELLO = mux.encode(1, b"hello\n")
CUTS = {
    "in the payload": HELLO + mux.encode(2, b"world\n")[:-3],
    "in the header": HELLO + mux.encode(2, b"world\n")[:5],
}
HIJACK_HEAD = b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"


def bodies(stream: bytes) -> dict[str, bytes]:
    """The wire of each way a body can end cleanly around ``stream``."""
    length = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(stream)
    return {
        "chunked": OK_CHUNKED + chunk(stream[:10]) + chunk(stream[10:]) + b"0\r\n\r\n",
        "content-length": length + stream,
        "until close": b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + stream,
        "hijacked": HIJACK_HEAD + stream,
    }


def run_with(
    call: http.Call, backend: str, chunks: list[bytes], into: bool, eof: bool = True
) -> tuple[ex.Exchange, Result]:
    """Runs ``call`` with Output events, or with sinks (``into``): the result's streams
    hold the payload either way."""
    sinks = {s: bytearray() for s in range(4)} if into else None
    exchange = ex.Exchange(call, backend=backend, sinks=sinks)
    result = run(exchange, chunks, eof=eof)
    if sinks is not None:
        result.streams = sinks
    return exchange, result


@pytest.mark.parametrize("cut", list(CUTS))
@pytest.mark.parametrize("ending", list(bodies(b"")))
@pytest.mark.parametrize("tty", [False, None])
@pytest.mark.parametrize("into", [False, True], ids=["events", "sinks"])
def test_a_stream_cut_inside_a_frame_is_never_a_success(
    backend: str, split: Split, cut: str, ending: str, tty: bool | None, into: bool
) -> None:
    stream = CUTS[cut]
    call = stdio_call(tty=tty, hijack=ending == "hijacked")
    exchange, result = run_with(call, backend, split(bodies(stream)[ending]), into)
    assert isinstance(result.error, TruncatedFrame)
    assert result.error.offset == len(stream)
    assert not any(isinstance(e, ex.EndOfMessage) for e in result.events)
    assert result.streams[1] == b"hello\n"
    assert bytes(result.streams[2]) == stream[len(HELLO) + 8 :]
    assert not exchange.reusable
    with pytest.raises(StreamFailed):
        exchange.next_event()


@pytest.mark.parametrize("size", [1, 2, 3])
@pytest.mark.parametrize("ending", ["chunked", "content-length"])
@pytest.mark.parametrize("into", [False, True], ids=["events", "sinks"])
def test_a_sniffed_stream_cut_before_its_fourth_byte_keeps_its_bytes(
    backend: str, split: Split, size: int, ending: str, into: bool
) -> None:
    first = b"\x01\x00\x00"[:size]
    if ending == "chunked":
        wire = OK_CHUNKED + b"10\r\n" + first
    else:
        wire = b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n" + first
    exchange, result = run_with(stdio_call(tty=None), backend, split(wire), into)
    assert isinstance(result.error, IncompleteBody)
    assert result.streams[1] == first
    assert exchange.framing is not None and exchange.framing.kind == "raw"
    assert not exchange.reusable


@pytest.mark.parametrize("into", [False, True], ids=["events", "sinks"])
def test_bad_bytes_that_left_no_output_fail_without_waiting_for_more(
    backend: str, into: bool
) -> None:
    """The error is raised on the next call, not after bytes that may never come."""
    wire = OK_CHUNKED + chunk(mux.encode(1, b"ok\n") + b"\x09bad")
    for tty in (False, None):
        exchange, result = run_with(stdio_call(tty=tty), backend, [wire], into, eof=False)
        assert isinstance(result.error, InvalidFrameHeader)
        assert not exchange.reusable
        assert result.streams[1] == b"ok\n"


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n",
    ],
)
def test_content_length_and_transfer_encoding_close_the_connection(
    backend: str, split: Split, head: bytes
) -> None:
    """RFC 9112 6.3: chunked wins, but a peer that sent both may be smuggling a request."""
    payload = mux.encode(1, b"abc")
    for call in (bytes_call(), stdio_call(tty=False), stdio_call(tty=None)):
        exchange = ex.Exchange(call, backend=backend)
        result = run(exchange, split(head + chunk(payload) + b"0\r\n\r\n"), eof=False)
        assert result.error is None and isinstance(result.events[-1], ex.EndOfMessage)
        assert bytes(result.data) == payload or result.streams[1] == b"abc"
        assert not exchange.reusable


def test_a_garbage_api_version_is_the_engines_fault(backend: str) -> None:
    wire = b"HTTP/1.1 200 OK\r\nApi-Version: garbage\r\nContent-Length: 0\r\n\r\n"
    result = run(ex.Exchange(stdio_call(), backend=backend), [wire])
    assert isinstance(result.error, InvalidResponse)
    assert not isinstance(result.error, LocalProtocolError)
    assert "Api-Version" in str(result.error) and "garbage" in str(result.error)


@pytest.mark.parametrize("into", [False, True], ids=["events", "sinks"])
def test_a_bad_chunk_line_keeps_the_body_before_it(backend: str, split: Split, into: bool) -> None:
    """Found by the state machine: the chunk data that came in the same read as a bad
    size line was dropped on the unfused paths (bytes, raw and sniffed stdio)."""
    body = chunk(b"abc") + chunk(b"defg") + b"zz\r\n"
    for call in (bytes_call(), stdio_call(tty=True), stdio_call(tty=None)):
        exchange, result = run_with(call, backend, split(OK_CHUNKED + body), into)
        assert isinstance(result.error, InvalidChunk)
        got = result.data if call.kind is http.BodyKind.BYTES else result.streams[1]
        assert got == b"abcdefg", (call.tty, split)
        assert not exchange.reusable
