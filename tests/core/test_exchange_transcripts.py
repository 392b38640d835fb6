"""Replays responses recorded from a real engine (scripts/record_transcripts.py).

Each transcript is fed whole, byte by byte and at random splits, on both
backends, through the event API and through sinks; the output must be what
the docker CLI printed for the same container, or the engine's error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wireproto import exchange as ex
from wireproto import http, mux
from wireproto.errors import APIError, Conflict, NotFound

HERE = Path(__file__).parents[1] / "transcripts"
INDEX: dict[str, dict[str, Any]] = json.loads((HERE / "index.json").read_text())
Split = Callable[[bytes], list[bytes]]
TTY_CONTAINER = "wp-rec-tty"  # the recorded container with a TTY


def latin1(text: str) -> bytes:
    return text.encode("latin-1")


def call_of(entry: dict[str, Any], *, tell_tty: bool = False) -> http.Call:
    body = latin1(entry["body"]) or None
    headers = (("Content-Type", "application/json"),) if body else ()
    request = http.Request(
        method=entry["method"], target=entry["target"], headers=headers, body=body
    )
    return http.Call(
        request=request,
        kind=http.BodyKind(entry["kind"]),
        hijack=entry["hijack"],
        tty=(TTY_CONTAINER in entry["target"]) if tell_tty else entry["tty"],
        endpoint=entry["endpoint"],
    )


def response_of(name: str) -> bytes:
    return (HERE / f"{name}.response").read_bytes()


def expected_stream(entry: dict[str, Any], stream: str) -> bytes:
    return (HERE / entry["expect"][stream]).read_bytes()


class Run:
    """Everything an exchange gave out."""

    def __init__(self) -> None:
        self.events: list[object] = []
        self.streams = {s: bytearray() for s in range(4)}
        self.error: Exception | None = None


def replay(exchange: ex.Exchange, chunks: list[bytes]) -> Run:
    run = Run()
    try:
        for data in [*chunks, b""]:
            exchange.receive_data(data)
            while True:
                event = exchange.next_event()
                if event is ex.NEED_DATA or event is ex.PAUSED:
                    break
                run.events.append(event)
                if isinstance(event, ex.Output):
                    for stream, piece in event.pieces:
                        run.streams[stream] += piece
            if event is ex.PAUSED:
                break
    except APIError as exc:
        run.error = exc
    return run


def stdio_names() -> list[str]:
    return sorted(
        n for n, e in INDEX.items() if e["expect"]["status"] < 300 and "stdout" in e["expect"]
    )


def error_names() -> list[str]:
    return sorted(n for n, e in INDEX.items() if e["expect"]["status"] >= 400)


@pytest.mark.parametrize("tell_tty", [False, True], ids=["framing-sniffed", "tty-known"])
@pytest.mark.parametrize("name", stdio_names())
def test_output_matches_the_docker_cli(
    name: str, tell_tty: bool, backend: str, split: Split
) -> None:
    """With the TTY known, a chunked multiplexed body takes the fused decoder."""
    entry = INDEX[name]
    exchange = ex.Exchange(call_of(entry, tell_tty=tell_tty), backend=backend)
    run = replay(exchange, split(response_of(name)))
    assert run.error is None
    assert bytes(run.streams[mux.STDOUT]) == expected_stream(entry, "stdout")
    assert bytes(run.streams[mux.STDERR]) == expected_stream(entry, "stderr")
    assert isinstance(run.events[0], http.Response)
    assert isinstance(run.events[-1], ex.EndOfMessage)
    assert exchange.state == "DONE"
    assert exchange.framing is not None
    assert exchange.framing.tty == (TTY_CONTAINER in entry["target"])
    if tell_tty:
        assert exchange.framing.reason.startswith("caller passed tty=")


@pytest.mark.parametrize("tell_tty", [False, True], ids=["framing-sniffed", "tty-known"])
@pytest.mark.parametrize("name", stdio_names())
def test_output_into_sinks(name: str, tell_tty: bool, backend: str, split: Split) -> None:
    entry = INDEX[name]
    sinks = [bytearray() for _ in range(4)]
    exchange = ex.Exchange(call_of(entry, tell_tty=tell_tty), backend=backend, sinks=sinks)
    run = replay(exchange, split(response_of(name)))
    assert not [e for e in run.events if isinstance(e, ex.Output)]
    # With a TTY, stdout and stderr are one raw stream: all of it is stdout.
    assert bytes(sinks[mux.STDOUT]) == expected_stream(entry, "stdout")
    assert bytes(sinks[mux.STDERR]) == expected_stream(entry, "stderr")


@pytest.mark.parametrize("name", error_names())
def test_errors_carry_the_engine_message(name: str, backend: str, split: Split) -> None:
    entry = INDEX[name]
    exchange = ex.Exchange(call_of(entry), backend=backend)
    run = replay(exchange, split(response_of(name)))
    error = run.error
    assert isinstance(error, APIError)
    expect = entry["expect"]
    assert error.status == expect["status"]
    if "message" in expect:
        assert error.message == expect["message"]
    else:
        assert expect["message_contains"] in error.message
    assert "\n" not in error.message and not error.message.startswith("{")
    assert isinstance(error, {404: NotFound, 409: Conflict}.get(error.status, APIError))
    assert error.body and error.target == entry["target"]
    assert exchange.state == "DONE"


def test_errors_below_1_24_are_plain_text_and_json_after() -> None:
    old = replay(
        ex.Exchange(call_of(INDEX["error_404_logs_v1.12"])), [response_of("error_404_logs_v1.12")]
    )
    new = replay(
        ex.Exchange(call_of(INDEX["error_404_logs_newest"])), [response_of("error_404_logs_newest")]
    )
    assert isinstance(old.error, NotFound) and isinstance(new.error, NotFound)
    assert old.error.body == b"No such container: wp-rec-nosuch\n"
    assert new.error.body.startswith(b'{"message":')
    assert old.error.message == new.error.message


@pytest.mark.parametrize("name", ["attach_101_newest", "attach_101_v1.12", "exec_start"])
def test_101_hijacks(name: str, split: Split) -> None:
    run = replay(ex.Exchange(call_of(INDEX[name])), split(response_of(name)))
    head = run.events[0]
    assert isinstance(head, http.Response)
    assert head.status == 101 and head.hijacked


def test_legacy_200_raw_stream_hijacks(split: Split) -> None:
    name = "attach_legacy_200_v1.12"
    exchange = ex.Exchange(call_of(INDEX[name]))
    run = replay(exchange, split(response_of(name)))
    head = run.events[0]
    assert isinstance(head, http.Response)
    assert head.status == 200 and head.hijacked
    assert head.content_type == "application/vnd.docker.raw-stream"
    assert not exchange.reusable


def test_the_404_reply_to_a_legacy_attach_has_no_length() -> None:
    name = "error_404_attach_v1.12"
    exchange = ex.Exchange(call_of(INDEX[name]))
    exchange.receive_data(response_of(name))
    head = exchange.next_event()
    assert isinstance(head, http.Response) and not head.hijacked
    assert exchange.next_event() is ex.NEED_DATA  # the body runs until the close
    exchange.receive_data(b"")
    with pytest.raises(NotFound, match="No such container: wp-rec-nosuch"):
        exchange.next_event()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("logs_mux_v1.12", "first bytes 01 00 00 00 are a frame header"),
        ("logs_tty_v1.12", "caller passed tty=True"),
        ("logs_tty_sniffed_v1.12", "are not a frame header"),
        ("attach_101_newest", "first bytes 01 00 00 00"),
    ],
)
def test_framing_reason_is_recorded(name: str, reason: str) -> None:
    exchange = ex.Exchange(call_of(INDEX[name]))
    replay(exchange, [response_of(name)])
    assert exchange.framing is not None
    assert reason in exchange.framing.reason


@pytest.mark.parametrize("name", ["exec_create", "exec_inspect", "version_v1.12"])
def test_documents(name: str, split: Split) -> None:
    entry = INDEX[name]
    run = replay(ex.Exchange(call_of(entry)), split(response_of(name)))
    documents = [e for e in run.events if isinstance(e, ex.Document)]
    assert len(documents) == 1
    value = documents[0].value
    assert isinstance(value, dict)
    for key in entry["expect"].get("keys", []):
        assert key in value
    for key, wanted in entry["expect"].get("fields", {}).items():
        assert value[key] == wanted


@pytest.mark.parametrize("name", ["ping_v1.12", "ping_newest"])
def test_ping(name: str, split: Split) -> None:
    entry = INDEX[name]
    run = replay(ex.Exchange(call_of(entry)), split(response_of(name)))
    head = run.events[0]
    assert isinstance(head, http.Response)
    assert head.api_version == entry["expect"]["api_version"]
    assert head.os_type == "linux" and head.experimental is False
    body = b"".join(bytes(e.data) for e in run.events if isinstance(e, ex.Data))
    assert body == latin1(entry["expect"]["body"])


def test_requests_match_the_recorded_ones() -> None:
    """What wireproto sends differs from the hand-written recording only in User-Agent."""
    for name, entry in INDEX.items():
        if entry["legacy"]:
            continue  # recorded without the Upgrade headers wireproto always sends
        sent = ex.Exchange(call_of(entry)).data_to_send()
        recorded = latin1(entry["request"])
        ours = sent.replace(http.USER_AGENT.encode(), b"wireproto-recorder")
        if not entry["hijack"]:
            recorded = recorded.replace(b"Connection: close\r\n", b"")
        assert sorted(ours.split(b"\r\n")) == sorted(recorded.split(b"\r\n")), name
