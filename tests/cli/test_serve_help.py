"""``wireproto serve --help`` says what the stub engine is and where it listens, and every
option of every verb has a help text."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from wireproto.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]


def wireproto(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "wireproto", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def serve_help() -> str:
    proc = wireproto("serve", "--help")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    return " ".join(out.split())  # argparse wraps lines where the terminal width says


def test_serve_help_says_what_the_stub_supports() -> None:
    text = serve_help()
    for claim in (
        "any API version from 1.0 to 1.12, or 1.41 (the default), as --api-version says",
        "containers (create, start, attach, logs, wait, stop, kill, pause, remove",
        "exec, images (pull, push, tag, build",
        "events",
        "the docker CLI and docker-py work against it",
    ):
        assert claim in text, claim


def test_serve_help_names_the_default_socket_where_serve_puts_it() -> None:
    """The help's place is where a bare ``wireproto serve`` listens, and it is gone at exit."""
    assert "wireproto-stub-XXXXXXXX/docker.sock" in serve_help()
    proc = wireproto("serve")
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    match = re.fullmatch(r"listening on unix://(.+)/wireproto-stub-\w{8}/docker\.sock", line)
    assert match, line
    assert match.group(1) == tempfile.gettempdir()
    assert not os.path.exists(line.removeprefix("listening on unix://"))


def test_every_option_has_help() -> None:
    parser = build_parser()
    verbs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = [
        f"{name} {action.option_strings[0]}"
        for name, verb in verbs.choices.items()
        for action in verb._actions
        if action.option_strings and not action.help
    ]
    assert missing == []
