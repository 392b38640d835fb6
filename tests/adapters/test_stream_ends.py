"""How a stream ends, over real sockets: each adapter, and the CLI's exit codes.

A body that ends cleanly (the last chunk, the Content-Length reached) while
the multiplexed stream inside it is mid-frame is a truncated stream, not a
success: every adapter raises ``TruncatedFrame`` after the output before the
cut, and ``wireproto logs`` exits 1 saying so.  An engine whose version is
garbage is at fault (exit 1), not the command line (exit 2).  The engines
here are threads on unix sockets answering canned bytes, per request path.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.adapters import Adapter
from tests.support.sockets import CHUNKED_MUX, FakeEngine, read_head
from wireproto import api, mux
from wireproto.errors import InvalidEngineVersion, RemoteProtocolError, TruncatedFrame
from wireproto.exchange import EndOfMessage, Output

CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
# The second frame is cut 3 bytes into its payload; then the body ends cleanly.
CUT_STREAM = mux.encode(1, b"hello\n") + mux.encode(2, b"world\n")[:-3]
CUT_BODY = b"%x\r\n%s\r\n0\r\n\r\n" % (len(CUT_STREAM), CUT_STREAM)


def answer_each(replies: dict[str, bytes]) -> Callable[[socket.socket], None]:
    """A keep-alive handler answering each request by the first key its head contains."""

    def handle(conn: socket.socket) -> None:
        while head := read_head(conn):
            line = head.split(b"\r\n", 1)[0].decode()
            reply = next((r for key, r in replies.items() if key in line), None)
            if reply is None:
                reply = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
            conn.sendall(reply)

    return handle


@pytest.mark.parametrize("head", [CHUNKED, CHUNKED_MUX], ids=["tty=False", "content-type"])
@pytest.mark.parametrize("into", [False, True], ids=["events", "sinks"])
def test_every_adapter_raises_on_a_chunked_body_ending_mid_frame(
    adapter: Adapter,
    fake: Callable[..., FakeEngine],
    delivery: str,
    head: bytes,
    into: bool,
) -> None:
    engine = fake(answer_each({"/logs": head + CUT_BODY}), trickle=delivery == "byte_by_byte")
    sinks = [bytearray() for _ in range(4)]
    output = [bytearray() for _ in range(4)]
    seen: list[Any] = []

    async def scenario() -> None:
        call = api.logs("c1", tty=False)
        async with (
            adapter.client(engine.host) as client,
            client.stream(call, sinks=sinks if into else None) as events,
        ):
            async for event in events:
                seen.append(type(event))
                if isinstance(event, Output):
                    for stream, piece in event.pieces:
                        output[stream] += piece

    with pytest.raises(TruncatedFrame) as caught:
        adapter.run(scenario)
    assert caught.value.offset == len(CUT_STREAM)
    assert EndOfMessage not in seen
    got = sinks if into else output
    assert (bytes(got[1]), bytes(got[2])) == (b"hello\n", b"wor")


PING = b"HTTP/1.1 200 OK\r\nApi-Version: %s\r\nContent-Length: 2\r\n\r\nOK"
GARBAGE_VERSIONS = [
    {"/_ping": PING % b"garbage"},
    {  # no /_ping (404): the version document says it
        "/version": b"HTTP/1.1 200 OK\r\nContent-Length: 21\r\n\r\n" + b'{"ApiVersion": "1.x"}'
    },
]


@pytest.mark.parametrize("replies", GARBAGE_VERSIONS, ids=["ping header", "version document"])
def test_every_adapter_blames_the_engine_for_a_garbage_version(
    adapter: Adapter, fake: Callable[..., FakeEngine], replies: dict[str, bytes]
) -> None:
    engine = fake(answer_each(replies))

    async def scenario() -> None:
        async with adapter.client(engine.host) as client:
            await client.negotiate()

    with pytest.raises(InvalidEngineVersion) as caught:
        adapter.run(scenario)
    assert isinstance(caught.value, RemoteProtocolError)
    assert "engine's API version is unusable" in str(caught.value)


# --- the CLI ---------------------------------------------------------------------------

INSPECT = b'{"Id": "c1", "Config": {"Tty": false}}'
INSPECT_REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
INSPECT_REPLY += b"Content-Length: %d\r\n\r\n%s" % (len(INSPECT), INSPECT)


def wireproto(host: str, *args: str, merged: bool = False) -> subprocess.CompletedProcess[bytes]:
    """Runs the CLI; ``merged``: stderr into stdout (its ordered-events path)."""
    return subprocess.run(
        [sys.executable, "-m", "wireproto", "-H", host, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merged else subprocess.PIPE,
        timeout=60,
    )


@pytest.mark.parametrize("merged", [False, True], ids=["sinks", "events"])
def test_logs_of_a_stream_ending_mid_frame_exits_1(
    fake: Callable[..., FakeEngine], merged: bool
) -> None:
    replies = {"/_ping": PING % b"1.41", "/json": INSPECT_REPLY, "/logs": CHUNKED + CUT_BODY}
    engine = fake(answer_each(replies))
    result = wireproto(engine.host, "logs", "c1", merged=merged)
    assert result.returncode == 1
    if merged:
        assert result.stdout.startswith(b"hello\nwor")
    else:
        assert (result.stdout, result.stderr[:3]) == (b"hello\n", b"wor")
    said = result.stdout if merged else result.stderr
    assert b"inside a frame payload: 3 bytes missing" in said


@pytest.mark.parametrize("replies", GARBAGE_VERSIONS, ids=["ping header", "version document"])
def test_a_garbage_engine_version_exits_1_not_2(
    fake: Callable[..., FakeEngine], replies: dict[str, bytes]
) -> None:
    engine = fake(answer_each(replies))
    result = wireproto(engine.host, "version")
    assert result.returncode == 1, result.stderr
    assert b"engine's API version is unusable" in result.stderr


def test_a_garbage_pinned_version_is_still_a_usage_error(tmp_path: Path) -> None:
    result = wireproto(f"unix://{tmp_path}/none.sock", "--api-version", "1.x", "version")
    assert result.returncode == 2
