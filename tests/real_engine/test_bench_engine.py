"""``wireproto bench --host`` on a real engine: the commands race each other too.

With a real engine the end-to-end section also runs ``wireproto logs`` and
``docker logs`` as a user runs them (stdout and stderr one pipe), each
checked for every payload byte and charged its own process's CPU.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engine import Engine
from wireproto.cli import main

pytestmark = pytest.mark.engine


@pytest.fixture(autouse=True)
def keep_sigpipe() -> Iterator[None]:
    """cli.main() restores SIGPIPE's default (die quietly); pytest must keep ignoring it."""
    old = signal.getsignal(signal.SIGPIPE)
    yield
    signal.signal(signal.SIGPIPE, old)


def test_the_logs_commands_are_contenders_on_a_real_engine(
    engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    argv = ["bench", "--host", engine.host, "--image", engine.image, "--only", "e2e"]
    assert main([*argv, "--size", "2", "--repeat", "1", "--json", str(out)]) == 0
    rows = {row["contender"]: row for row in json.loads(out.read_text())["rows"]}
    size = rows["wireproto native"]["bytes"]
    for name in ("wireproto logs (command)", "docker logs (command)"):
        assert rows[name]["bytes"] == size  # checked against what the command wrote
        assert rows[name]["cpu_s"] > 0  # the child's CPU, not this thread's
    assert "docker logs (command)" in capsys.readouterr().out
