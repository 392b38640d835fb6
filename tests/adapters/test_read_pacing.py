"""Paced reads of bulk streams (blocking adapter): fewer wakeups, never a wait for nothing.

A fixed wait after every short read stalled a fast engine (its socket buffer
full while we slept) and slept once more after the body had all arrived.
The pacer waits only until a read should hold its target, before the read,
and only while the exchange still needs bytes.  No timings are asserted:
the waits are recorded by replacing the clock and ``time.sleep``.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Callable

import pytest

from tests.support.sockets import FakeEngine, read_head
from wireproto import api, mux
from wireproto.adapters import blocking
from wireproto.adapters.blocking import Client, ReadPacer

LOGS_HEAD = b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nTransfer-Encoding: chunked\r\n\r\n"


class Clock:
    """``time.monotonic`` and ``time.sleep`` for the pacer: sleeping moves the clock."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []
        monkeypatch.setattr(blocking.time, "monotonic", lambda: self.now)
        monkeypatch.setattr(blocking.time, "sleep", self.sleep)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_a_short_read_waits_until_the_target_should_be_there(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock(monkeypatch)
    pacer = ReadPacer(limit=0.005, target=16384)
    clock.now += 0.001
    pacer.read(4096)  # 4 KiB a millisecond: 16 KiB take 4 ms
    pacer.wait()
    assert clock.sleeps == [pytest.approx(0.004)]


def test_the_wait_counts_the_time_spent_since_the_read(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(monkeypatch)
    pacer = ReadPacer(limit=0.005, target=16384)
    clock.now += 0.001
    pacer.read(4096)
    clock.now += 0.003  # decoding and writing the read took 3 ms
    pacer.wait()
    assert clock.sleeps == [pytest.approx(0.001)]


@pytest.mark.parametrize("count", [16384, 65536, 0])
def test_a_full_read_or_the_end_means_no_wait(monkeypatch: pytest.MonkeyPatch, count: int) -> None:
    clock = Clock(monkeypatch)
    pacer = ReadPacer(limit=0.005, target=16384)
    clock.now += 0.001
    pacer.read(count)
    pacer.wait()
    assert clock.sleeps == []


def test_a_slow_sender_waits_at_most_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(monkeypatch)
    pacer = ReadPacer(limit=0.005, target=16384)
    clock.now += 0.01
    pacer.read(100)
    pacer.wait()
    assert clock.sleeps == [pytest.approx(0.005)]


def logs_engine(body: bytes) -> Callable[[socket.socket], None]:
    def handle(conn: socket.socket) -> None:
        while head := read_head(conn):
            if b"/_ping" in head:
                conn.sendall(b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK")
            else:
                conn.sendall(LOGS_HEAD)
                threading.Event().wait(0.05)  # the body comes in a read of its own
                conn.sendall(body)

    return handle


def frames(count: int) -> bytes:
    chunks = [mux.encode(1 + i % 2, b"line %d\n" % i) for i in range(count)]
    return b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"


@pytest.mark.parametrize("read_delay", [None, 0.002])
def test_no_wait_once_the_body_is_complete(
    fake: Callable[..., FakeEngine], monkeypatch: pytest.MonkeyPatch, read_delay: float | None
) -> None:
    """The whole body comes in one short read: there is nothing to wait for after it."""
    body = frames(50)
    engine = fake(logs_engine(body))
    sleeps: list[float] = []
    monkeypatch.setattr(blocking.time, "sleep", sleeps.append)
    got = {1: bytearray(), 2: bytearray()}
    with Client(engine.host) as client:
        version = client.negotiate()
        sinks = [bytearray(), got[1], got[2], bytearray()]
        list(client.stream(api.logs("c", version, tty=False), sinks=sinks, read_delay=read_delay))
    assert sleeps == []
    assert got[1].count(b"\n") == 25 and got[2].count(b"\n") == 25


def pacers_made(monkeypatch: pytest.MonkeyPatch) -> list[ReadPacer]:
    """The pacers the blocking adapter makes from now on, in a list."""
    made: list[ReadPacer] = []

    class Recorded(ReadPacer):
        def __init__(self, limit: float) -> None:
            super().__init__(limit)
            made.append(self)

    monkeypatch.setattr(blocking, "ReadPacer", Recorded)
    return made


@pytest.mark.parametrize(("follow", "paced"), [(False, True), (True, False)])
def test_finished_logs_are_paced_by_default_and_followed_ones_are_not(
    fake: Callable[..., FakeEngine], monkeypatch: pytest.MonkeyPatch, follow: bool, paced: bool
) -> None:
    made = pacers_made(monkeypatch)
    engine = fake(logs_engine(frames(20)))
    with Client(engine.host) as client:
        version = client.negotiate()
        events = list(client.stream(api.logs("c", version, follow=follow, tty=False)))
        assert bool(made) is paced
        assert sum(len(p) for e in events if hasattr(e, "pieces") for _, p in e.pieces) > 0
        made.clear()
        client.request(api.logs("c", version, follow=follow, tty=False))
    assert made == []  # a request on the kept-alive connection is not paced


def test_pacing_follows_the_calls_bulk_flag_not_its_endpoint(
    fake: Callable[..., FakeEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether a stream may be paced is the catalogue's word (``Call.bulk``):
    the adapter reads no endpoint name or query."""
    made = pacers_made(monkeypatch)
    engine = fake(logs_engine(frames(20)))
    with Client(engine.host) as client:
        version = client.negotiate()
        finished = api.logs("c", version, tty=False)
        list(client.stream(dataclasses.replace(finished, bulk=False)))
        assert made == []
        followed = api.logs("c", version, follow=True, tty=False)
        list(client.stream(dataclasses.replace(followed, bulk=True)))
        assert len(made) == 1
