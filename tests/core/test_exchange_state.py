"""The exchange as a state machine under random responses (Hypothesis, both backends).

Each run draws a response: a head (status; Content-Length exact, short or
long, chunked with or without its last chunk or with a bad size line,
close-delimited, or a hijack by 101 or by the legacy 200; a Content-Type), a
body (multiplexed frames, maybe with a bad header after them; TTY bytes; JSON
lines; garbage), a call (STDIO with tty True/False/None, BYTES, JSONSTREAM,
DOCUMENT; events or sinks) and the point where the peer closes, if it does.
The rules feed the wire at random split points; the invariants:

* every ``next_event`` gives an event, NEED_DATA or PAUSED, or raises a
  ``wireproto.errors`` error: never anything else;
* output is never a byte the stream did not carry: at every step each
  stream's output is a prefix of what the oracle below decodes;
* at the end the output is exactly the oracle's (nothing decoded before a bad
  byte or a cut is lost), and the outcome (EndOfMessage, or which error) is
  the oracle's: a stream cut inside a frame is never a success.

The oracle is written from the wire format, independently of the decoders:
the body bytes that arrived, the framing the head and call decide (or the
first four bytes), and a frame-by-frame walk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from wireproto import errors, framing, http, mux
from wireproto import exchange as ex
from wireproto.codec import backend as _backend

MUX_TYPE = framing.MULTIPLEXED_STREAM.encode()
RAW_TYPE = framing.RAW_STREAM.encode()
STREAM_TYPES = (None, RAW_TYPE, MUX_TYPE, b"application/json")

# --- drawing a response ------------------------------------------------------------------


@dataclass
class Scenario:
    """One drawn response and call, with what the oracle needs to judge it."""

    call: http.Call
    wire: bytes = b""
    head_len: int = 0
    body: bytes = b""  # the body's payload bytes (the stream), whatever frames it
    # Body bytes in wire[:p], for each p.
    body_at: list[int] = field(default_factory=list, repr=False)
    status: int = 200
    content_type: bytes | None = None
    hijacked: bool = False
    framing: str = "length"  # length, chunked, close (the connection's end ends the body)
    body_end: int = -1  # wire offset where the body is complete (-1: only the close)
    bad_chunk_at: int = -1  # wire offset of a bad chunk-size line (-1: none)
    eof_at: int | None = None  # wire offset where the peer closes (None: never)
    version: tuple[int, int] | None = None
    into: bool = False
    bad_head: bool = False

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        """Hypothesis prints this for a failing example: all but the per-byte counts."""
        shown = {k: v for k, v in vars(self).items() if k != "body_at"}
        printer.text(f"Scenario({shown})")  # type: ignore[attr-defined]


def frames_body(draw: st.DrawFn) -> bytes:
    sizes = st.one_of(st.integers(0, 40), st.integers(900, 1300))
    frames = draw(st.lists(st.tuples(st.integers(0, 3), sizes), max_size=6))
    body = b"".join(mux.encode(s, bytes([65 + s]) * n) for s, n in frames)
    if draw(st.booleans()):  # a bad header after the good frames
        body += draw(st.sampled_from([b"\x07\0\0\0\0\0\0\1x", b"\1\0\1\0\0\0\0\0", b"hi"]))
    return body


def draw_body(draw: st.DrawFn) -> bytes:
    content = draw(st.sampled_from(["frames", "tty", "json", "garbage"]))
    if content == "frames":
        return frames_body(draw)
    if content == "tty":
        return draw(st.binary(max_size=60)).replace(b"\0", b" ")
    if content == "json":
        values = draw(st.lists(st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)))
        return b"".join(json.dumps(v).encode() + b"\r\n" for v in values)
    return draw(st.binary(max_size=60))


def draw_call(draw: st.DrawFn) -> tuple[http.Call, tuple[int, int] | None, bytes]:
    """The call, the API version the exchange will see, and an Api-Version header line."""
    kind = draw(st.sampled_from(list(http.BodyKind)))
    hijack = kind is http.BodyKind.STDIO and draw(st.booleans())
    version = draw(st.sampled_from([(1, 41), (1, 44), None]))
    prefixed = version is not None and draw(st.booleans())
    target = (f"/v{version[0]}.{version[1]}" if prefixed and version else "") + "/containers/c/x"
    call = http.Call(
        request=http.Request(method="POST" if hijack else "GET", target=target),
        kind=kind,
        hijack=hijack,
        tty=draw(st.sampled_from([True, False, None])),
        endpoint="attach" if hijack else "logs",
    )
    header = b"" if prefixed or version is None else b"Api-Version: %d.%d\r\n" % version
    return call, version, header


def add(scenario: Scenario, data: bytes, *, body: bool = False) -> None:
    """Appends ``data`` to the wire, counting it as body payload or as framing."""
    scenario.wire += data
    count = scenario.body_at[-1]
    for _ in data:
        count += body
        scenario.body_at.append(count)


def add_chunked(draw: st.DrawFn, scenario: Scenario, body: bytes) -> None:
    """Appends ``body`` in random chunks, then the last chunk (or nothing, or a bad line)."""
    pos = 0
    while pos < len(body):
        size = draw(st.integers(1, len(body) - pos))
        add(scenario, b"%x%s\r\n" % (size, draw(st.sampled_from([b"", b";x=1"]))))
        add(scenario, body[pos : pos + size], body=True)
        add(scenario, b"\r\n")
        pos += size
    end = draw(st.sampled_from(["last", "last", "none", "bad"]))
    if end == "bad":
        scenario.bad_chunk_at = len(scenario.wire)
        add(scenario, b"zz\r\n")
    elif end == "last":
        add(scenario, b"0\r\n\r\n")
        scenario.body_end = len(scenario.wire)


def draw_head(draw: st.DrawFn, scenario: Scenario) -> tuple[bytes, str]:
    """The status line and framing: (head without the body framing header, framing)."""
    call = scenario.call
    if call.hijack and draw(st.booleans()):
        if draw(st.booleans()):
            return b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n", "hijack"
        scenario.content_type = draw(st.sampled_from([RAW_TYPE, MUX_TYPE]))
        return b"HTTP/1.1 200 OK\r\n", "hijack"
    if draw(st.integers(0, 9)) == 0:  # a head h11 refuses
        scenario.bad_head = True
        return draw(
            st.sampled_from([b"HTTP/1.1 2x0 X\r\n", b"HTTP/1.1 200 OK\r\nA b: c\r\n"])
        ), "close"
    scenario.status = draw(st.sampled_from([200, 200, 200, 404, 500]))
    return b"HTTP/1.1 %d X\r\n" % scenario.status, draw(
        st.sampled_from(["length", "chunked", "close"])
    )


@st.composite
def scenarios(draw: st.DrawFn, into: bool) -> Scenario:
    call, version, version_header = draw_call(draw)
    scenario = Scenario(call=call, version=version, body_at=[0], into=into)
    status_line, how = draw_head(draw, scenario)
    if scenario.content_type is None:
        scenario.content_type = draw(st.sampled_from(STREAM_TYPES))
    head = status_line + version_header
    if scenario.content_type is not None:
        head += b"Content-Type: " + scenario.content_type + b"\r\n"
    body = draw_body(draw)
    scenario.hijacked = how == "hijack"
    scenario.framing = "close" if how == "hijack" else how
    if how == "chunked":
        head += b"Transfer-Encoding: chunked\r\n\r\n"
        add(scenario, head)
        scenario.head_len = len(head)
        add_chunked(draw, scenario, body)
    elif how == "length":
        length = len(body) + draw(st.sampled_from([0, 0, 5, -min(3, len(body))]))
        add(scenario, head + b"Content-Length: %d\r\n\r\n" % length)
        scenario.head_len = len(scenario.wire)
        add(scenario, body[:length], body=True)
        add(scenario, body[length:])  # past the length: bytes after the body
        if length <= len(body):
            scenario.body_end = scenario.head_len + length
    else:
        head += b"Connection: close\r\n\r\n" if how == "close" else b"\r\n"
        add(scenario, head)
        scenario.head_len = len(head)
        add(scenario, body, body=True)
    scenario.body = body
    if draw(st.booleans()) or scenario.body_end < 0:
        scenario.eof_at = draw(st.integers(0, len(scenario.wire)))
    return scenario


# --- the oracle ----------------------------------------------------------------------------


@dataclass
class Expected:
    """What the exchange must give for a wire prefix: output, data, and the outcome
    ("end", "need" for NEED_DATA, or the error class)."""

    output: dict[int, bytes] = field(default_factory=lambda: {s: b"" for s in range(4)})
    data: bytes = b""
    document: object = None
    outcome: str | type[Exception] = "need"


def transport_state(scenario: Scenario, p: int, eof: bool) -> str:
    """complete, badchunk, cut (the peer closed first) or open."""
    if scenario.body_end >= 0 and p >= scenario.body_end and not scenario.hijacked:
        return "complete"
    if 0 <= scenario.bad_chunk_at < p:
        return "badchunk"
    if eof:
        return "complete" if scenario.framing == "close" or scenario.hijacked else "cut"
    return "open"


TRANSPORT_OUTCOME: dict[str, str | type[Exception]] = {
    "complete": "end",
    "badchunk": errors.InvalidChunk,
    "cut": errors.IncompleteBody,
    "open": "need",
}


def demux(stream: bytes) -> tuple[dict[int, bytes], str]:
    """Payload by stream id, frame by frame, and how the walk ended:
    "boundary", "mid-frame" or "bad" (a header byte that cannot be)."""
    output = {s: bytearray() for s in range(4)}
    pos = 0
    while pos < len(stream):
        header = stream[pos : pos + 8]
        if header[0] > 3 or any(header[1:4]):
            return {s: bytes(v) for s, v in output.items()}, "bad"
        if len(header) < 8:
            return {s: bytes(v) for s, v in output.items()}, "mid-frame"
        size = int.from_bytes(header[4:], "big")
        output[header[0]] += stream[pos + 8 : pos + 8 + size]
        pos += 8 + size
    ended = "boundary" if pos == len(stream) else "mid-frame"
    return {s: bytes(v) for s, v in output.items()}, ended


def stdio_kind(scenario: Scenario, received: bytes, ended: bool) -> str | None:
    """multiplexed or raw, as the head, the call, then the first 4 bytes say; None: not yet."""
    if scenario.content_type == MUX_TYPE:
        return "multiplexed"
    if scenario.content_type == RAW_TYPE and (scenario.version or (0, 0)) >= (1, 42):
        return "raw"
    if scenario.call.tty is not None:
        return "raw" if scenario.call.tty else "multiplexed"
    if len(received) >= 4:
        multiplexed = received[0] <= 3 and received[1:4] == b"\0\0\0"
        return "multiplexed" if multiplexed else "raw"
    return "raw" if ended else None


def oracle(scenario: Scenario, p: int, eof: bool) -> Expected:
    expected = Expected()
    if p < scenario.head_len:
        expected.outcome = errors.ConnectionClosed if eof else "need"
        return expected
    if scenario.bad_head:
        expected.outcome = errors.InvalidResponse
        return expected
    received = scenario.body[: scenario.body_at[p]]
    state = transport_state(scenario, p, eof)
    outcome = TRANSPORT_OUTCOME[state]
    kind = scenario.call.kind
    if scenario.status >= 400:
        expected.outcome = errors.APIError if state == "complete" else outcome
    elif kind is http.BodyKind.STDIO:
        expected.outcome = stdio(expected, scenario, received, state)
    elif kind is http.BodyKind.DOCUMENT:
        expected.outcome = outcome
        if state == "complete" and received:
            try:
                expected.document = json.loads(received)
            except ValueError:
                expected.outcome = errors.InvalidResponse
    elif kind is not http.BodyKind.EMPTY:
        expected.data = received
        expected.outcome = outcome
    else:
        expected.outcome = outcome
    return expected


def stdio(
    expected: Expected, scenario: Scenario, received: bytes, state: str
) -> str | type[Exception]:
    outcome = TRANSPORT_OUTCOME[state]
    chosen = stdio_kind(scenario, received, ended=state != "open")
    if chosen is None:
        return outcome
    if chosen == "raw":
        expected.output[1] = received
        return outcome
    expected.output, walk = demux(received)
    if walk == "bad":
        return errors.InvalidFrameHeader
    if state == "complete" and walk == "mid-frame":
        return errors.TruncatedFrame
    return outcome


# --- the machine ---------------------------------------------------------------------------


class ExchangeMachine(RuleBasedStateMachine):
    backend = "python"

    @initialize(data=st.data(), into=st.booleans())
    def start(self, data: st.DataObject, into: bool) -> None:
        self.scenario = data.draw(scenarios(into))
        sinks = {s: bytearray() for s in range(4)} if into else None
        self.sinks = sinks
        self.exchange = ex.Exchange(self.scenario.call, backend=self.backend, sinks=sinks)
        self.output = {s: bytearray() for s in range(4)} if sinks is None else sinks
        self.data = bytearray()
        self.events: list[object] = []
        self.error: Exception | None = None
        self.over = False  # an error, or PAUSED
        self.fed = 0
        eof_at = self.scenario.eof_at
        self.limit = len(self.scenario.wire) if eof_at is None else eof_at
        self.expected = oracle(self.scenario, self.limit, eof=eof_at is not None)

    @rule(size=st.integers(1, 64))
    def feed(self, size: int) -> None:
        if self.over or self.fed >= self.limit:
            return
        piece = self.scenario.wire[self.fed : min(self.limit, self.fed + size)]
        self.fed += len(piece)
        self.exchange.receive_data(piece)
        self.drain()

    @invariant()
    def output_is_never_more_than_the_stream_carried(self) -> None:
        if not hasattr(self, "expected"):
            return
        for stream in range(4):
            assert self.expected.output[stream].startswith(bytes(self.output[stream]))
        assert self.expected.data.startswith(bytes(self.data))

    def drain(self) -> None:
        """next_event until NEED_DATA, PAUSED or an error (only wireproto's are caught)."""
        while not self.over:
            try:
                event = self.exchange.next_event()
            except errors.WireprotoError as exc:
                self.error, self.over = exc, True
                return
            if event is ex.NEED_DATA:
                return
            if event is ex.PAUSED:
                self.over = True
                return
            self.events.append(event)
            if isinstance(event, ex.Output):
                self.check_piece_types(event)
                for stream, piece in event.pieces:
                    self.output[stream] += piece
            elif isinstance(event, ex.Data):
                self.data += event.data

    def check_piece_types(self, event: ex.Output) -> None:
        """Demuxed pieces under 1 KiB are bytes (raw TTY pieces are views of the input)."""
        chosen = self.exchange.framing
        if chosen is not None and chosen.kind == "multiplexed":
            for _, piece in event.pieces:
                assert isinstance(piece, bytes) or len(piece) >= 1024, (type(piece), len(piece))

    def teardown(self) -> None:
        if not hasattr(self, "expected"):
            return
        self.feed(len(self.scenario.wire))
        if self.scenario.eof_at is not None and not self.over:
            self.exchange.receive_data(b"")
            self.drain()
        self.check_the_end()

    def check_the_end(self) -> None:
        expected = self.expected
        assert {s: bytes(v) for s, v in self.output.items()} == expected.output
        assert bytes(self.data) == expected.data
        ended = any(isinstance(e, ex.EndOfMessage) for e in self.events)
        documents = [e.value for e in self.events if isinstance(e, ex.Document)]
        if expected.outcome == "end":
            assert self.error is None and ended
            assert documents == ([] if expected.document is None else [expected.document])
        elif expected.outcome == "need":
            assert self.error is None and not ended
        else:
            assert isinstance(expected.outcome, type)
            assert isinstance(self.error, expected.outcome), (self.error, expected.outcome)
            assert not ended
            if self.exchange.state != "DONE":  # (an API error, or a bad document, read it all)
                assert not self.exchange.reusable


class PythonMachine(ExchangeMachine):
    backend = "python"


class NativeMachine(ExchangeMachine):
    backend = "native"


MACHINE_SETTINGS = settings(max_examples=300, stateful_step_count=12, deadline=None)
TestPythonExchange = PythonMachine.TestCase
TestPythonExchange.settings = MACHINE_SETTINGS
TestNativeExchange = NativeMachine.TestCase
TestNativeExchange.settings = MACHINE_SETTINGS
if _backend.load_native() is None:
    TestNativeExchange = pytest.mark.skip(reason="the native module is not built")(
        TestNativeExchange
    )
