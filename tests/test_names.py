"""One name per meaning: the markers, the event unions, the decoders' failure state.

Both backends' demuxers share one failure vocabulary (``fail`` records,
``check_usable`` raises StreamFailed); the stub engine and the client loop
return markers of one class.
"""

from __future__ import annotations

from typing import cast

import pytest

from wireproto import exchange, mux, sentinel, ws
from wireproto.codec import backend as _backend
from wireproto.codec.views import Ending
from wireproto.engine import protocol
from wireproto.errors import InvalidFrameHeader, StreamFailed, TruncatedFrame


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
