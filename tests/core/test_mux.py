"""The multiplexed-stream codec, on both backends, fed whole, byte by byte and at random splits."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wireproto import mux
from wireproto.errors import (
    InvalidFrameHeader,
    LocalProtocolError,
    MissingSink,
    StreamFailed,
    TruncatedFrame,
)

Split = Callable[[bytes], list[bytes]]

FRAMES = [
    (mux.STDOUT, b"hello "),
    (mux.STDERR, b"warning: disk\n"),
    (mux.STDOUT, b""),
    (mux.STDOUT, b"world\n"),
    (mux.STDOUT, b"x" * 3000),
    (mux.STDIN, b"typed"),
    (mux.SYSTEMERR, b"engine failed reading logs"),
    (mux.STDERR, bytes(range(256)) * 9),
    (mux.STDOUT, b"no newline at the end"),
]
STREAM = b"".join(mux.encode(stream, payload) for stream, payload in FRAMES)


def expected(frames: list[tuple[int, bytes]]) -> dict[int, bytes]:
    out = {s: b"" for s in range(4)}
    for stream, payload in frames:
        out[stream] += payload
    return out


def per_stream(pieces: list[tuple[int, bytes | memoryview]]) -> dict[int, bytes]:
    out = {s: b"" for s in range(4)}
    for stream, payload in pieces:
        out[stream] += bytes(payload)
    return out


def feed_all(demuxer: mux.Demuxer, chunks: list[bytes]) -> list[tuple[int, bytes]]:
    pieces = []
    for chunk in chunks:
        pieces += [(stream, bytes(p)) for stream, p in demuxer.feed(chunk)]
    demuxer.close()
    return pieces


def test_feed_delivers_each_stream(demuxer_class: type, split: Split) -> None:
    pieces = feed_all(demuxer_class(), split(STREAM))
    assert per_stream(pieces) == expected(FRAMES)


def test_feed_keeps_order_across_streams(demuxer_class: type, split: Split) -> None:
    pieces = feed_all(demuxer_class(), split(STREAM))
    merged: list[tuple[int, bytes]] = []
    for stream, payload in pieces:
        if merged and merged[-1][0] == stream:
            merged[-1] = (stream, merged[-1][1] + payload)
        else:
            merged.append((stream, payload))
    nonempty = [(s, p) for s, p in FRAMES if p]
    regrouped: list[tuple[int, bytes]] = []
    for stream, payload in nonempty:
        if regrouped and regrouped[-1][0] == stream:
            regrouped[-1] = (stream, regrouped[-1][1] + payload)
        else:
            regrouped.append((stream, payload))
    assert merged == regrouped


def test_feed_into_bytearrays(demuxer_class: type, split: Split) -> None:
    sinks = {s: bytearray() for s in range(4)}
    demuxer = demuxer_class()
    for chunk in split(STREAM):
        demuxer.feed_into(chunk, sinks)
    demuxer.close()
    assert {s: bytes(b) for s, b in sinks.items()} == expected(FRAMES)


class Recorder:
    """A write() sink that copies what it is given, as the io contract requires."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: memoryview) -> int:
        self.data += data
        return len(data)


def test_feed_into_writers_and_a_list_of_sinks(demuxer_class: type, split: Split) -> None:
    sinks = [Recorder() for _ in range(4)]
    demuxer = demuxer_class()
    for chunk in split(STREAM):
        demuxer.feed_into(chunk, sinks)
    assert [bytes(s.data) for s in sinks] == list(expected(FRAMES).values())


class CountingRecorder(Recorder):
    """A Recorder that also counts its writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, data: memoryview) -> int:
        self.writes += 1
        return super().write(data)


@pytest.mark.parametrize("size", [16, 2048, 40_000])
def test_feed_into_writes_each_stream_once_per_call(demuxer_class: type, size: int) -> None:
    # A stream whose payload lies in several places of one input (the end of
    # one frame, whole frames, the start of another) still gets one write.
    out, err = bytes(range(256)) * (size // 256 + 1), b"e" * size
    stream = (mux.encode(1, out[:size]) + mux.encode(2, err)) * 6
    demuxer = demuxer_class()
    received: dict[int, bytes] = {1: b"", 2: b""}
    for start in range(0, len(stream), 3 * size + 5):
        sinks = {1: CountingRecorder(), 2: CountingRecorder()}
        demuxer.feed_into(stream[start : start + 3 * size + 5], sinks)
        assert [sink.writes <= 1 for sink in sinks.values()] == [True, True]
        for stream_id, sink in sinks.items():
            received[stream_id] += bytes(sink.data)
    demuxer.close()
    assert received == {1: out[:size] * 6, 2: err * 6}


def test_feed_into_large_frames_in_two_spans_land_whole(demuxer_class: type) -> None:
    # Large frames fed in reads that cut them: each read holds the end of one
    # frame and the start of the next, often of the same stream.
    payloads = [(1 + i % 3 // 2, bytes([65 + i]) * 70_000) for i in range(9)]
    stream = b"".join(mux.encode(s, p) for s, p in payloads)
    demuxer = demuxer_class()
    sinks = [bytearray() for _ in range(4)]
    for start in range(0, len(stream), 65_536):
        demuxer.feed_into(stream[start : start + 65_536], sinks)
    demuxer.close()
    for stream_id in (1, 2):
        assert sinks[stream_id] == b"".join(p for s, p in payloads if s == stream_id)


def test_zero_length_frames_produce_nothing(demuxer_class: type, split: Split) -> None:
    data = mux.encode(mux.STDOUT, b"") * 5 + mux.encode(mux.STDERR, b"")
    demuxer = demuxer_class()
    assert [p for chunk in split(data) for p in demuxer.feed(chunk)] == []
    demuxer.close()
    assert demuxer.offset == len(data)


def test_empty_input_is_fine_at_any_time(demuxer_class: type) -> None:
    demuxer = demuxer_class()
    assert demuxer.feed(b"") == []
    demuxer.feed_into(b"", {})
    assert [(s, bytes(p)) for s, p in demuxer.feed(mux.encode(1, b"x"))] == [(1, b"x")]
    assert demuxer.feed(bytearray()) == []


def test_payload_is_delivered_before_its_frame_completes(demuxer_class: type) -> None:
    demuxer = demuxer_class()
    frame = mux.encode(mux.STDOUT, b"abcdef")
    assert demuxer.feed(frame[:10]) == [(mux.STDOUT, b"ab")]
    assert demuxer.feed(frame[10:]) == [(mux.STDOUT, b"cdef")]


def test_systemerr_is_its_own_stream(demuxer_class: type) -> None:
    data = mux.encode(mux.STDERR, b"err") + mux.encode(mux.SYSTEMERR, b"sys")
    assert [(s, bytes(p)) for s, p in demuxer_class().feed(data)] == [(2, b"err"), (3, b"sys")]


def test_adjacent_short_frames_of_one_stream_merge(demuxer_class: type) -> None:
    data = b"".join(mux.encode(mux.STDOUT, b"line %d\n" % i) for i in range(100))
    pieces = demuxer_class().feed(data)
    assert len(pieces) == 1
    assert bytes(pieces[0][1]) == b"".join(b"line %d\n" % i for i in range(100))


def test_long_payloads_are_views_of_bytes_input(demuxer_class: type) -> None:
    payload = bytes(range(256)) * 64
    data = mux.encode(mux.STDOUT, payload) * 2
    pieces = demuxer_class().feed(data)
    assert [(s, bytes(p)) for s, p in pieces] == [(1, payload), (1, payload)]
    assert all(isinstance(p, memoryview) and p.obj is data for _, p in pieces)


def test_pieces_survive_changes_to_a_mutable_input(demuxer_class: type) -> None:
    buffer = bytearray(mux.encode(mux.STDOUT, b"a" * 2000) + mux.encode(mux.STDERR, b"b"))
    pieces = demuxer_class().feed(memoryview(buffer))
    buffer[:] = bytes(len(buffer))
    assert [(s, bytes(p)) for s, p in pieces] == [(1, b"a" * 2000), (2, b"b")]


def test_accepts_any_bytes_like(demuxer_class: type) -> None:
    frame = mux.encode(mux.STDOUT, b"12345678")
    for data in (frame, bytearray(frame), memoryview(frame), memoryview(frame).cast("c")):
        assert [(s, bytes(p)) for s, p in demuxer_class().feed(data)] == [(1, b"12345678")]


# Bad input ---------------------------------------------------------------


def test_a_tty_stream_fails_on_its_first_byte(demuxer_class: type) -> None:
    demuxer = demuxer_class()
    with pytest.raises(InvalidFrameHeader) as caught:
        demuxer.feed(b"h")
    assert (caught.value.offset, caught.value.index, caught.value.value) == (0, 0, ord("h"))
    assert "TTY" in str(caught.value)


@pytest.mark.parametrize(
    ("header", "index"),
    [
        (b"\x04\x00\x00\x00", 0),
        (b"\x01\x01\x00\x00", 1),
        (b"\x02\x00\xff\x00", 2),
        (b"\x01\x00\x00\x80", 3),
    ],
)
def test_bad_header_byte_is_named_with_its_offset(
    demuxer_class: type, split: Split, header: bytes, index: int
) -> None:
    good = mux.encode(mux.STDOUT, b"before") + mux.encode(mux.STDERR, b"err")
    data = good + header + b"\x00\x00\x00\x05hello"
    demuxer = demuxer_class()
    delivered: list[tuple[int, bytes]] = []
    with pytest.raises(InvalidFrameHeader) as caught:
        for chunk in split(data):
            delivered += [(s, bytes(p)) for s, p in demuxer.feed(chunk)]
    delivered += [(s, bytes(p)) for s, p in caught.value.pieces]
    assert per_stream(delivered) == expected([(1, b"before"), (2, b"err")])
    assert caught.value.offset == len(good) + index
    assert caught.value.index == index
    assert caught.value.value == header[index]


def test_feed_into_delivers_what_came_before_the_bad_byte(demuxer_class: type) -> None:
    good = mux.encode(mux.STDOUT, b"kept") + mux.encode(mux.STDOUT, b" too")
    sinks = {s: bytearray() for s in range(4)}
    with pytest.raises(InvalidFrameHeader) as caught:
        demuxer_class().feed_into(good + b"\x07" + bytes(7), sinks)
    assert sinks[1] == b"kept too"
    assert caught.value.offset == len(good)


def test_a_failed_demuxer_stays_failed(demuxer_class: type) -> None:
    demuxer = demuxer_class()
    with pytest.raises(InvalidFrameHeader):
        demuxer.feed(b"\x09")
    with pytest.raises(StreamFailed) as caught:
        demuxer.feed(mux.encode(1, b"ok"))
    assert isinstance(caught.value.cause, InvalidFrameHeader)
    with pytest.raises(StreamFailed):
        demuxer.feed_into(b"", {})
    with pytest.raises(StreamFailed):
        demuxer.close()


def test_close_inside_a_header_says_how_many_bytes_are_missing(demuxer_class: type) -> None:
    demuxer = demuxer_class()
    demuxer.feed(mux.encode(mux.STDOUT, b"done") + b"\x01\x00\x00")
    with pytest.raises(TruncatedFrame) as caught:
        demuxer.close()
    assert (caught.value.missing, caught.value.in_header, caught.value.offset) == (5, True, 15)


def test_close_inside_a_payload_says_how_many_bytes_are_missing(demuxer_class: type) -> None:
    demuxer = demuxer_class()
    assert [(s, bytes(p)) for s, p in demuxer.feed(mux.encode(2, b"0123456789")[:-3])] == [
        (2, b"0123456")
    ]
    with pytest.raises(TruncatedFrame) as caught:
        demuxer.close()
    assert (caught.value.missing, caught.value.in_header, caught.value.offset) == (3, False, 15)


def test_close_between_frames_is_clean(demuxer_class: type, split: Split) -> None:
    demuxer = demuxer_class()
    for chunk in split(STREAM):
        demuxer.feed(chunk)
    demuxer.close()
    assert demuxer.offset == len(STREAM)


def test_a_missing_sink_is_a_typed_error_and_loses_nothing_delivered(demuxer_class: type) -> None:
    data = mux.encode(mux.STDOUT, b"out") + mux.encode(mux.SYSTEMERR, b"sys")
    sinks = {1: bytearray(), 2: bytearray()}
    demuxer = demuxer_class()
    with pytest.raises(MissingSink) as caught:
        demuxer.feed_into(data, sinks)
    assert caught.value.stream == 3
    assert sinks[1] == b""  # nothing written: every sink is looked up first
    with pytest.raises(StreamFailed):
        demuxer.feed_into(b"", sinks)


# Encoding ------------------------------------------------------------------


def test_encode_builds_the_v16_header() -> None:
    assert mux.encode(mux.STDERR, b"abc") == b"\x02\x00\x00\x00\x00\x00\x00\x03abc"
    assert mux.header(mux.STDOUT, 2**32 - 1) == b"\x01\x00\x00\x00\xff\xff\xff\xff"


@pytest.mark.parametrize("stream", [-1, 4, 255])
def test_encode_rejects_a_bad_stream(stream: int) -> None:
    with pytest.raises(LocalProtocolError, match="stream"):
        mux.encode(stream, b"x")


def test_encode_rejects_a_payload_over_4_gib() -> None:
    with pytest.raises(LocalProtocolError, match="4294967295"):
        mux.header(mux.STDOUT, 2**32)


# Raw (TTY) pass-through --------------------------------------------------------


def test_raw_stream_passes_bytes_through_as_stdout(split: Split) -> None:
    data = b"\x1b[31mred\x1b[0m\r\n" + bytes(range(256))
    raw = mux.decoder(tty=True)
    pieces = [p for chunk in split(data) for p in raw.feed(chunk)]
    raw.close()
    assert {s for s, _ in pieces} == {mux.STDOUT}
    assert b"".join(bytes(p) for _, p in pieces) == data


def test_raw_stream_feed_into() -> None:
    sinks = {1: bytearray()}
    raw = mux.RawStream()
    raw.feed_into(b"tty bytes", sinks)
    assert sinks[1] == b"tty bytes"
    assert raw.offset == 9


def test_decoder_for_no_tty_is_the_chosen_demuxer() -> None:
    assert isinstance(mux.decoder(tty=False), mux.Demuxer)


def test_a_sink_that_cannot_grow_fails_alike(demuxer_class: type) -> None:
    data = mux.encode(mux.STDOUT, b"out") + mux.encode(mux.STDERR, b"err")
    sinks = {1: bytearray(b"old:"), 2: bytearray()}
    export = memoryview(sinks[2])  # a live view: the bytearray cannot be resized
    demuxer = demuxer_class()
    with pytest.raises(BufferError):
        demuxer.feed_into(data, sinks)
    export.release()
    assert sinks == {1: bytearray(b"old:out"), 2: bytearray()}
    with pytest.raises(StreamFailed):
        demuxer.feed_into(b"", sinks)


class Failing:
    """A write() sink that refuses everything (a closed pipe, say)."""

    def write(self, data: memoryview) -> int:
        raise BrokenPipeError("closed")


def test_a_failing_sink_leaves_the_others_as_in_stream_order(demuxer_class: type) -> None:
    # Many small frames: the native backend grows the sinks of streams 1 and 3 next time.
    first = (mux.encode(mux.STDOUT, b"a") + mux.encode(mux.SYSTEMERR, b"s")) * 8
    then = mux.encode(mux.STDOUT, b"b") + mux.encode(mux.STDERR, b"e") + mux.encode(3, b"t")
    sinks: dict[int, object] = {1: bytearray(), 2: Recorder(), 3: bytearray()}
    demuxer = demuxer_class()
    demuxer.feed_into(first, sinks)
    sinks[2] = Failing()
    with pytest.raises(BrokenPipeError):
        demuxer.feed_into(then * 8, sinks)
    # In stream order: stdout delivered, stderr failed, systemerr never reached.
    assert sinks[1] == b"a" * 8 + b"b" * 8
    assert sinks[3] == b"s" * 8


def test_a_missing_sink_after_others_were_expected_writes_nothing(demuxer_class: type) -> None:
    sinks = {1: bytearray(), 2: bytearray()}
    demuxer = demuxer_class()
    demuxer.feed_into((mux.encode(1, b"x") + mux.encode(2, b"y")) * 8, sinks)
    with pytest.raises(MissingSink):
        demuxer.feed_into((mux.encode(1, b"x") + mux.encode(3, b"z")) * 8, sinks)
    assert sinks == {1: bytearray(b"x" * 8), 2: bytearray(b"y" * 8)}


def test_streams_may_come_and_go_and_share_a_sink(demuxer_class: type) -> None:
    both = bytearray()
    sinks = {1: both, 2: both, 3: bytearray()}
    demuxer = demuxer_class()
    demuxer.feed_into((mux.encode(1, b"1") + mux.encode(2, b"2")) * 8, sinks)
    demuxer.feed_into(mux.encode(3, b"3") * 8, sinks)  # expected 1 and 2 send nothing
    demuxer.feed_into((mux.encode(2, b"4") + mux.encode(1, b"5")) * 8, {1: both, 2: both})
    # One append per stream per call, in stream order.
    assert both == b"1" * 8 + b"2" * 8 + b"5" * 8 + b"4" * 8
    assert sinks[3] == b"3" * 8


# A read of large frames usually holds two pieces: the end of one frame and the
# start of the next (the native backend has a path of its own for it).
LONG = 3000  # a long piece: a view in place, not merged in scratch


def end_and_start(first: int, second: int) -> tuple[bytes, bytes]:
    """Two reads: the first 100 bytes of a long frame of ``first``, then its end
    and the start of a long frame of ``second``."""
    data = mux.encode(first, b"a" * LONG) + mux.encode(second, b"b" * LONG)
    return data[:100], data[100 : 2 * mux.HEADER_SIZE + LONG + 1000]


def test_end_and_start_of_one_stream_is_one_write(demuxer_class: type) -> None:
    head, read = end_and_start(mux.STDOUT, mux.STDOUT)
    demuxer = demuxer_class()
    demuxer.feed_into(head, {1: CountingRecorder()})
    recorder = CountingRecorder()
    demuxer.feed_into(read, {1: recorder})
    assert (recorder.writes, recorder.data) == (1, b"a" * (LONG - 92) + b"b" * 1000)


def test_end_and_start_of_two_streams_go_in_stream_order(demuxer_class: type) -> None:
    head, read = end_and_start(mux.STDERR, mux.STDOUT)
    sinks: dict[int, object] = {1: bytearray(), 2: bytearray()}
    demuxer = demuxer_class()
    demuxer.feed_into(head, sinks)
    demuxer.feed_into(read, sinks)
    assert sinks == {1: b"b" * 1000, 2: b"a" * LONG}
    head, read = end_and_start(mux.STDERR, mux.STDOUT)
    sinks = {1: Failing(), 2: bytearray()}
    demuxer = demuxer_class()
    demuxer.feed_into(head, sinks)
    with pytest.raises(BrokenPipeError):
        demuxer.feed_into(read, sinks)
    assert sinks[2] == b"a" * 92  # stdout failed first: stderr was not reached


def test_end_and_start_with_a_missing_sink_writes_nothing(demuxer_class: type) -> None:
    head, read = end_and_start(mux.STDOUT, mux.SYSTEMERR)
    sinks = {1: bytearray()}
    demuxer = demuxer_class()
    demuxer.feed_into(head, sinks)
    with pytest.raises(MissingSink):
        demuxer.feed_into(read, sinks)
    assert sinks[1] == b"a" * 92


def test_pieces_under_1_kib_are_bytes_beside_long_ones(backend: str, split: Split) -> None:
    """The README's promise, on both backends and through the fused chunked path:
    a piece under 1 KiB is ``bytes`` even when its input also holds a long piece."""
    from wireproto import chunked

    frames = [(1, b"short"), (2, b"x" * 5000), (1, b"tail\n"), (2, b"y" * 1023), (1, b"z" * 1024)]
    stream = b"".join(mux.encode(s, p) for s, p in frames)
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(stream), stream)
    for decoder, wire in (
        (mux.demuxer_class(backend)(), stream),
        (chunked.classes(backend).ChunkedDemuxer(), body),
    ):
        pieces = [piece for data in split(wire) for piece in decoder.feed(data)]
        assert b"".join(p for s, p in pieces if s == 1) == b"short" + b"tail\n" + b"z" * 1024
        for _, payload in pieces:
            assert isinstance(payload, bytes) or len(payload) >= 1024, (type(payload), len(payload))


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview], ids=lambda k: k.__name__)
def test_raw_stream_pieces_under_1_kib_are_bytes(kind: type, split: Split) -> None:
    """A TTY stream keeps the same promise: short pieces ``bytes``, long ones views."""
    data = b"$ ls\r\n" + b"w" * 3000 + b"\r\n"
    raw = mux.RawStream()
    pieces = [piece for part in split(data) for piece in raw.feed(kind(part))]
    assert b"".join(bytes(p) for _, p in pieces) == data
    for _, payload in pieces:
        assert isinstance(payload, bytes) or len(payload) >= 1024, (type(payload), len(payload))


@pytest.mark.parametrize("tty", [True, None], ids=["tty=True", "sniffed-raw"])
def test_exchange_tty_output_under_1_kib_is_bytes(backend: str, tty: bool | None) -> None:
    from wireproto import exchange as ex
    from wireproto import http
    from wireproto.api import containers

    text = b"prompt$ \r\n"
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(text)
    exchange = ex.Exchange(containers.logs("c1", tty=tty), backend=backend)
    exchange.data_to_send()
    exchange.receive_data(memoryview(bytearray(head + text)))
    pieces = []
    while not isinstance(event := exchange.next_event(), ex.EndOfMessage):
        if isinstance(event, ex.Output):
            pieces += event.pieces
        else:
            assert isinstance(event, http.Response), event
    assert pieces == [(mux.STDOUT, text)] and isinstance(pieces[0][1], bytes)
