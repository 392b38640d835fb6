"""The JSON-stream verbs' pieces that need no engine: output formats and displays."""

from __future__ import annotations

import io
import signal
from collections.abc import Iterator

import pytest

from wireproto.cli import main
from wireproto.cli.errors import UsageError
from wireproto.cli.streams import PlainDisplay, TerminalDisplay, go_json, json_values, parse_filters
from wireproto.errors import MalformedJSON
from wireproto.exchange import Data, EndOfMessage
from wireproto.progress import JSONMessage, Progress


def test_go_json_matches_docker_format_json() -> None:
    value = {"status": "start", "Actor": {"Attributes": {"cmd": "a && b <c> \u2028 caf\u00e9"}}}
    assert go_json(value) == (
        '{"status":"start","Actor":{"Attributes":{"cmd":"a \\u0026\\u0026 b \\u003cc\\u003e '
        '\\u2028 caf\u00e9"}}}'
    )


def test_parse_filters() -> None:
    assert parse_filters(["type=container", "event=start", "event=die"]) == {
        "type": ["container"],
        "event": ["start", "die"],
    }
    with pytest.raises(UsageError):
        parse_filters(["nokey"])


def test_json_values_keeps_values_before_a_bad_byte() -> None:
    events = [
        Data(data=memoryview(b'{"a":1}\r\n{"b"')),
        Data(data=memoryview(b":]")),
        EndOfMessage(),
    ]
    got = []
    with pytest.raises(MalformedJSON):
        for value in json_values(events):
            got.append(value)
    assert got == [{"a": 1}]


PULL = [
    {"status": "Pulling from p/busybox", "id": "t1"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "l1"},
    {
        "status": "Downloading",
        "progressDetail": {"current": 5, "total": 10},
        "progress": "[=> ]",
        "id": "l1",
    },
    {
        "status": "Downloading",
        "progressDetail": {"current": 9, "total": 10},
        "progress": "[==>]",
        "id": "l1",
    },
    {"status": "Pull complete", "progressDetail": {}, "id": "l1"},
    {"status": "Status: Downloaded newer image for p/busybox:t1"},
]


def _show(display: PlainDisplay | TerminalDisplay) -> None:
    progress = Progress()
    for raw in PULL:
        message = JSONMessage.from_value(raw)
        progress.update(message)
        display.show(message, progress)


def test_plain_display_prints_status_changes_not_ticks() -> None:
    out = io.StringIO()
    _show(PlainDisplay(out))
    assert out.getvalue().splitlines() == [
        "t1: Pulling from p/busybox",
        "l1: Pulling fs layer",
        "l1: Pull complete",
        "Status: Downloaded newer image for p/busybox:t1",
    ]


def test_terminal_display_redraws_layer_lines() -> None:
    out = io.StringIO()
    _show(TerminalDisplay(out))
    text = out.getvalue()
    assert "\x1b[1A\r\x1b[2Kl1: Downloading [=> ]\r\x1b[1B" in text
    assert "l1: Pull complete" in text
    assert text.endswith("Status: Downloaded newer image for p/busybox:t1\n")


@pytest.fixture
def keep_sigpipe() -> Iterator[None]:
    """main() makes SIGPIPE kill the process (as `docker logs | head` dies): in
    pytest's own process that would let a later test's broken socket kill the run."""
    saved = signal.getsignal(signal.SIGPIPE)
    yield
    signal.signal(signal.SIGPIPE, saved)


def test_password_stdin_needs_username(
    keep_sigpipe: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-H", "unix:///nonexistent.sock", "pull", "--password-stdin", "busybox"]) == 2
    assert "--password-stdin needs --username" in capsys.readouterr().err


def test_unreachable_engine_exits_3(keep_sigpipe: None, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["-H", "unix:///nonexistent.sock", "events", "--until", "1"])
    assert code == 3
