"""What a long-lived exchange keeps between reads: not the bytes it already decoded.

A follow stream (logs, attach, events) lives for hours; whatever its
exchange still references after a read stays in memory for all that time,
once per stream.  Measured with tracemalloc (bytes still allocated, no
timing), on both backends, for each kind of body the first read can carry.
"""

from __future__ import annotations

import tracemalloc

import pytest

from tests.core.test_exchange import (
    OK_CHUNKED,
    bytes_call,
    chunk,
    logs_body,
    stdio_call,
)
from wireproto import exchange as ex
from wireproto import http, mux

BODY_SIZE = 256 * 1024
HIJACK_HEAD = b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
LINES = [(1 + i % 2, b"x" * 99 + b"\n") for i in range(BODY_SIZE // 100)]


def first_read(kind: str) -> tuple[http.Call, bytes]:
    """A call and its response's first read: the head, then BODY_SIZE body bytes, not the end."""
    if kind == "bytes":
        return bytes_call(), OK_CHUNKED + chunk(b"y" * BODY_SIZE)
    if kind == "hijack":
        return stdio_call(hijack=True, tty=False), HIJACK_HEAD + b"".join(
            mux.encode(s, p) for s, p in LINES
        )
    tty = {"logs, tty known": False, "logs, sniffed": None}[kind]
    return stdio_call(tty=tty), OK_CHUNKED + logs_body(LINES)[: -len(b"0\r\n\r\n")]


def started(exchange: ex.Exchange) -> ex.Exchange:
    """The exchange with its request sent (and, hijacked, its stdin closed)."""
    exchange.data_to_send()
    if exchange.hijacked:
        exchange.end_stdin()
        exchange.data_to_send()
    return exchange


def decode_all(exchange: ex.Exchange) -> int:
    """Takes every event the exchange has, and drops it as a caller done with it would."""
    total = 0
    while (event := exchange.next_event()) is not ex.NEED_DATA:
        if isinstance(event, ex.Output):
            total += sum(len(piece) for _, piece in event.pieces)
        elif isinstance(event, ex.Data):
            total += len(event.data)
    return total


@pytest.mark.parametrize("kind", ["logs, tty known", "logs, sniffed", "bytes", "hijack"])
def test_the_bytes_after_the_head_are_not_kept_once_decoded(backend: str, kind: str) -> None:
    call, data = first_read(kind)
    warm = started(ex.Exchange(call, backend=backend))  # imports, caches: not counted
    warm.receive_data(data)
    decode_all(warm)
    exchange = started(ex.Exchange(call, backend=backend))
    tracemalloc.start()
    try:
        exchange.receive_data(data)
        assert decode_all(exchange) == (BODY_SIZE if kind == "bytes" else len(LINES) * 100)
        kept, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert kept < BODY_SIZE // 4, f"the exchange keeps {kept} bytes after decoding its reads"
