"""WebSocket attach: recorded engine transcripts fed every way, bad input, the real engine."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from wsproto.frame_protocol import FrameProtocol, Opcode

from tests.support.engine import Engine
from wireproto import api, mux
from wireproto.adapters.blocking import Client
from wireproto.errors import (
    ConnectionClosed,
    IncompleteBody,
    LocalProtocolError,
    NotFound,
    RemoteProtocolError,
    StreamFailed,
)
from wireproto.exchange import NEED_DATA, PAUSED, EndOfMessage, Output
from wireproto.http import Response
from wireproto.versions import ApiVersion
from wireproto.ws import WSAttach

V = ApiVersion
FIXTURES = Path(__file__).parents[1] / "fixtures" / "ws"
# The key the transcripts were recorded with (Sec-WebSocket-Accept depends on it).
KEY = b"d2lyZXByb3RvLXA0LWtleQ=="
ECHOED = b"\xff\xfe not utf-8\n"  # what `cat` in the container echoed: not UTF-8
Splitter = Callable[[bytes], list[bytes]]


def run(ws: WSAttach, pieces: list[bytes], *, eof: bool = True) -> list[object]:
    """Feeds ``pieces`` (then EOF), returning every event until the stream ends."""
    events: list[object] = []
    feed = iter([*pieces, *([b""] if eof else [])])
    while True:
        event = ws.next_event()
        if event is NEED_DATA:
            try:
                ws.receive_data(next(feed))
            except StopIteration:
                return events
            continue
        if event is PAUSED:
            return events
        events.append(event)
        if isinstance(event, EndOfMessage):
            return events


def output(events: list[object]) -> bytes:
    return b"".join(
        bytes(p) for e in events if isinstance(e, Output) for s, p in e.pieces if s == mux.STDOUT
    )


V12 = V(1, 12)


def ws_for(version: ApiVersion | None = V12) -> WSAttach:
    return WSAttach(api.attach_ws("c1", version, stdin=True), key=KEY)


@pytest.mark.parametrize("version", ["1.12", "1.41"])
def test_recorded_transcript_any_split(version: str, split: Splitter) -> None:
    """1.12 sends a text frame that is not UTF-8 (0x81), 1.41 a binary one (0x82)."""
    raw = (FIXTURES / f"attach_ws_v{version}.response").read_bytes()
    frames = raw.partition(b"\r\n\r\n")[2]
    assert frames[0] == (0x81 if version == "1.12" else 0x82)
    ws = ws_for()
    events = run(ws, split(raw))
    assert isinstance(events[0], Response) and events[0].status == 101 and events[0].hijacked
    assert output(events) == ECHOED
    assert isinstance(events[-1], EndOfMessage)
    assert ws.close_code == 1000 and ws.closed
    assert ws.next_event() is PAUSED


def test_handshake_request() -> None:
    ws = ws_for(V(1, 12))
    sent = ws.data_to_send()
    assert sent.startswith(
        b"GET /v1.12/containers/c1/attach/ws?logs=0&stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n"
    )
    for header in (b"upgrade: websocket", b"connection: Upgrade", b"sec-websocket-version: 13"):
        assert header.lower() in sent.lower()
    assert b"Sec-WebSocket-Key: " + KEY in sent or b"sec-websocket-key: " + KEY in sent
    assert ws.data_to_send() == b""


HEAD_101 = (FIXTURES / "attach_ws_v1.12.response").read_bytes().partition(b"\r\n\r\n")[0] + (
    b"\r\n\r\n"
)


def server_frame(opcode: Opcode, payload: bytes, fin: bool = True) -> bytes:
    """A frame as the engine sends it (unmasked)."""
    proto = FrameProtocol(client=False, extensions=[])
    if opcode is Opcode.PING:
        return bytes(proto._serialize_frame(Opcode.PING, payload))
    return bytes(proto._serialize_frame(opcode, payload, fin=fin))


def test_text_frame_with_invalid_utf8_is_output_not_1007(split: Splitter) -> None:
    data = HEAD_101 + server_frame(Opcode.TEXT, b"\x80\x81\xfe") + server_frame(Opcode.TEXT, b"ok")
    events = run(ws_for(), split(data))
    assert output(events) == b"\x80\x81\xfeok"
    assert isinstance(events[-1], EndOfMessage)  # the connection ended without a close frame


def test_fragmented_message_and_ping(split: Splitter) -> None:
    ws = ws_for()
    data = (
        HEAD_101
        + server_frame(Opcode.BINARY, b"ab", fin=False)
        + server_frame(Opcode.PING, b"p")
        + server_frame(Opcode.CONTINUATION, b"cd")
    )
    events = run(ws, split(data))
    assert output(events) == b"abcd"
    pong = ws.data_to_send()[-7:]
    assert pong[0] == 0x8A and pong[1] == 0x81  # a masked pong carrying "p"


def test_close_is_echoed() -> None:
    ws = ws_for()
    ws.data_to_send()
    closing = server_frame(Opcode.BINARY, b"x") + b"\x88\x02\x03\xe8"
    events = run(ws, [HEAD_101 + closing], eof=False)
    assert output(events) == b"x" and isinstance(events[-1], EndOfMessage)
    echoed = ws.data_to_send()
    assert echoed[0] == 0x88  # our close frame answers the engine's
    with pytest.raises(LocalProtocolError):
        ws.send_stdin(b"late")


def test_stdin_frames_are_masked_binary() -> None:
    ws = ws_for()
    ws.data_to_send()
    ws.send_stdin(b"hello")
    frame = ws.data_to_send()
    assert frame[0] == 0x82 and frame[1] == 0x80 | 5 and len(frame) == 2 + 4 + 5
    ws.end_stdin()
    assert ws.data_to_send()[0] == 0x88
    assert ws.data_to_send() == b""


def test_cut_inside_a_frame() -> None:
    data = HEAD_101 + server_frame(Opcode.BINARY, b"abcdef")[:-2]
    ws = ws_for()
    with pytest.raises(IncompleteBody):
        run(ws, [data])
    with pytest.raises(StreamFailed):
        ws.next_event()


def test_cut_inside_the_head() -> None:
    with pytest.raises(ConnectionClosed):
        run(ws_for(), [HEAD_101[:20]])


def test_wrong_accept_token() -> None:
    bad = re.sub(rb"(?i)(sec-websocket-accept: )\S+", rb"\1AAAAAAAAAAAAAAAAAAAAAAAAAAA=", HEAD_101)
    assert bad != HEAD_101
    with pytest.raises(RemoteProtocolError, match="Sec-WebSocket-Accept"):
        run(WSAttach(api.attach_ws("c1", V(1, 12)), key=KEY), [bad])


def test_bad_frame_is_an_error_and_sends_a_close() -> None:
    ws = ws_for()
    ws.data_to_send()
    with pytest.raises(RemoteProtocolError, match="bad frame"):
        run(ws, [HEAD_101 + b"\x83\x00"])  # opcode 3 is reserved
    assert ws.data_to_send()[0] == 0x88


@pytest.mark.parametrize(
    "bad",
    [
        b"\x83\x00",  # a reserved opcode
        b"\xc1\x01x",  # RSV1 set, no extension agreed
        b"\x81\x80\x00\x00\x00\x00",  # masked: the engine must not mask
        b"\x89\x7e\x00\x7e" + b"p" * 126,  # a control frame over 125 bytes
    ],
)
def test_output_before_a_bad_frame_comes_out_first(bad: bytes, split: Splitter) -> None:
    good = server_frame(Opcode.TEXT, b"first\n") + server_frame(Opcode.BINARY, b"second\n")
    ws = ws_for()
    ws.data_to_send()
    events: list[object] = []
    feed = iter(split(HEAD_101 + good + bad))
    with pytest.raises(RemoteProtocolError, match="bad frame after 13 bytes of output"):
        while True:
            event = ws.next_event()
            if event is NEED_DATA:
                ws.receive_data(next(feed))
            else:
                events.append(event)
    assert output(events) == b"first\nsecond\n"
    assert not any(isinstance(e, EndOfMessage) for e in events)
    with pytest.raises(StreamFailed):
        ws.next_event()
    assert ws.data_to_send()[0] == 0x88  # the close frame saying why


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 21\r\n\r\n"
        b"No such container: c1",
        b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
        b'Transfer-Encoding: chunked\r\n\r\n23\r\n{"message":"No such container: c1"}\r\n0\r\n\r\n',
    ],
)
def test_error_reply(reply: bytes, split: Splitter) -> None:
    ws = ws_for()
    with pytest.raises(NotFound, match="No such container: c1"):
        run(ws, split(reply))


def test_only_attach_ws_calls() -> None:
    with pytest.raises(LocalProtocolError):
        WSAttach(api.attach("c1", V(1, 12)))


# --- the real engine ------------------------------------------------------------------------


@pytest.mark.engine
@pytest.mark.parametrize("version", [V(1, 12), V(1, 27), V(1, 28), None])
def test_engine_echo_through_cat(engine: Engine, version: ApiVersion | None) -> None:
    assert engine.socket_path is not None
    with Client(engine.host) as client:
        config = {"Image": engine.image, "Cmd": ["cat"], "OpenStdin": True, "NetworkDisabled": True}
        created = client.request(api.create_container(config, version)).document
        assert isinstance(created, dict)
        cid = str(created["Id"])
        engine.containers.append(cid)
        client.request(api.start(cid, version))
        ws = WSAttach(api.attach_ws(cid, version, stdin=True))
        got = b""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(10)
            sock.connect(engine.socket_path)
            sock.sendall(ws.data_to_send())
            while True:
                event = ws.next_event()
                if event is NEED_DATA:
                    ws.receive_data(sock.recv(65536))
                    continue
                if isinstance(event, Response):
                    ws.send_stdin(ECHOED)
                if isinstance(event, Output):
                    got += b"".join(bytes(p) for _, p in event.pieces)
                    if got == ECHOED:
                        ws.end_stdin()
                if isinstance(event, EndOfMessage):
                    break
                sock.sendall(ws.data_to_send())
        assert got == ECHOED
        client.request(api.remove_container(cid, version, force=True))
