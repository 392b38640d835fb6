"""One name per meaning: the markers, the event unions, the decoders' failure state.

Both backends' demuxers share one failure vocabulary (``fail`` records,
``check_usable`` raises StreamFailed); the stub engine and the client loop
return markers of one class.
"""

from __future__ import annotations

from typing import cast

import pytest

from wireproto import body, exchange, mux, sentinel, ws
from wireproto.codec import backend as _backend
from wireproto.codec.views import Ending
from wireproto.engine import protocol
from wireproto.errors import (
    DecodeError,
    FrameError,
    InvalidChunk,
    InvalidFrameHeader,
    InvalidResponse,
    JSONStreamError,
    MalformedMessage,
    StreamFailed,
    TruncatedFrame,
)
from wireproto.jsonstream import JSONStreamDecoder
from wireproto.progress import MessageDecoder


def test_every_loop_marker_is_one_sentinel_class() -> None:
    assert exchange.NEED_DATA is sentinel.NEED_DATA is vars(protocol)["NEED_DATA"]
    assert exchange.PAUSED is sentinel.PAUSED
    for marker in (sentinel.NEED_DATA, sentinel.PAUSED, protocol.CLOSED):
        assert isinstance(marker, sentinel.Sentinel)
    assert repr(protocol.CLOSED) == "CLOSED"


def test_the_event_unions_have_distinct_names() -> None:
    assert set(ws.WSEvent.__args__) < set(exchange.Event.__args__)
    assert not hasattr(ws, "Event")


def test_fail_records_the_first_error_and_check_usable_raises_it(backend: str) -> None:
    demuxer: Ending = _backend.classes(backend).Demuxer()  # type: ignore[assignment]
    demuxer.check_usable()  # nothing recorded yet
    first, second = ValueError("first"), ValueError("second")
    demuxer.fail(first)
    demuxer.fail(second)
    with pytest.raises(StreamFailed) as raised:
        demuxer.check_usable()
    assert raised.value.cause is first


def test_a_failed_demuxer_refuses_every_call_on_both_backends(backend: str) -> None:
    demuxer = mux.demuxer_class(backend)()
    with pytest.raises(InvalidFrameHeader):
        demuxer.feed(b"\x07" + bytes(7))
    for call in (lambda: demuxer.feed(b""), lambda: demuxer.feed_into(b"", {}), demuxer.close):
        with pytest.raises(StreamFailed):
            call()


def test_close_inside_a_frame_records_the_truncation(backend: str) -> None:
    demuxer = mux.demuxer_class(backend)()
    demuxer.feed(mux.encode(mux.STDOUT, b"abc")[:-1])
    with pytest.raises(TruncatedFrame):
        demuxer.close()
    with pytest.raises(StreamFailed) as raised:
        cast(Ending, demuxer).check_usable()
    assert isinstance(raised.value.cause, TruncatedFrame)


# --- errors that carry what came before the failure ----------------------------------------------


def test_every_partial_decode_error_shares_one_base_and_keeps_its_old_name(backend: str) -> None:
    demuxer = mux.demuxer_class(backend)()
    with pytest.raises(DecodeError) as frame:
        demuxer.feed(mux.encode(mux.STDOUT, b"ok") + b"\x09" + bytes(7))
    assert isinstance(frame.value, FrameError)
    assert frame.value.pieces is frame.value.delivered
    assert [bytes(p) for _, p in frame.value.pieces] == [b"ok"]

    decoder = _backend.classes(backend).ChunkedDecoder()
    with pytest.raises(DecodeError) as chunk:
        decoder.feed(b"3\r\nabc\r\nzz")
    assert isinstance(chunk.value, InvalidChunk)
    assert chunk.value.pieces is chunk.value.delivered
    assert chunk.value.pieces == [memoryview(b"abc")]
    assert "at body offset 8" in str(chunk.value)

    with pytest.raises(DecodeError) as json_error:
        JSONStreamDecoder().feed(b'{"a": 1}\n{"b": ]')
    assert isinstance(json_error.value, JSONStreamError)
    assert json_error.value.values == [{"a": 1}] == json_error.value.delivered

    with pytest.raises(DecodeError) as message:
        MessageDecoder().feed(b'{"status": "x"}\n[1]\n')
    assert isinstance(message.value, MalformedMessage)
    assert [m.status for m in message.value.values] == ["x"]  # type: ignore[attr-defined]


def test_a_body_read_whole_names_its_offset_a_body_offset() -> None:
    with pytest.raises(InvalidResponse, match=r"at body byte 3\)"):
        body.document(b"{x}")
    assert InvalidResponse("bad head", 7).counts == "response"
