"""The ``wireproto`` command without an engine: parsing, times, exit codes."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from wireproto import __main__, cli
from wireproto.cli import output, verbs
from wireproto.cli.errors import UsageError

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1700000000", "1700000000"),
        ("1700000000.5", "1700000000.5"),
        ("42m", f"{NOW - 42 * 60:.9f}"),
        ("1h30m", f"{NOW - 5400:.9f}"),
        ("1.5s", f"{NOW - 1.5:.9f}"),
        ("2023-11-14T22:13:20Z", f"{1_700_000_000:.9f}"),
        ("2023-11-14T23:13:20+01:00", f"{1_700_000_000:.9f}"),
    ],
)
def test_timestamps_as_the_docker_cli_reads_them(value: str, expected: str) -> None:
    assert verbs.timestamp(value, NOW) == expected


def test_a_local_time_without_zone() -> None:
    local = datetime.fromtimestamp(NOW).replace(microsecond=0)
    stamp = verbs.timestamp(local.isoformat(), NOW)
    assert float(stamp) == pytest.approx(NOW)
    assert datetime.fromtimestamp(float(stamp), timezone.utc).tzinfo is not None


@pytest.mark.parametrize("bad", ["yesterday", "42x", "-5m", ""])
def test_bad_times(bad: str) -> None:
    with pytest.raises(UsageError):
        verbs.timestamp(bad, NOW)


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "wireproto", *args], capture_output=True, env=env, timeout=60
    )


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run().returncode == 2
    assert run("nosuchverb").returncode == 2
    assert run("--api-version", "x", "ping").returncode == 2
    assert run("-H", "ssh://somewhere", "ping").returncode == 2
    assert run("exec", "c1").returncode == 2  # no command
    unix = f"unix://{tmp_path}/none.sock"
    assert run("-H", unix, "logs", "--since", "yesterday", "c1").returncode == 3  # connects first


def test_cannot_connect_exits_3(tmp_path: Path) -> None:
    result = run("-H", f"unix://{tmp_path}/none.sock", "version")
    assert result.returncode == 3
    assert b"cannot connect to the Docker engine" in result.stderr


def test_docker_api_version_is_read(tmp_path: Path) -> None:
    env = {"DOCKER_API_VERSION": "bad", "PATH": "/usr/bin:/bin"}
    assert run("-H", f"unix://{tmp_path}/x.sock", "ping", env=env).returncode == 2


def test_entry_points() -> None:
    assert callable(__main__.main)
    parser = cli.build_parser()
    args = parser.parse_args(["logs", "-f", "--tail", "5", "c1"])
    assert (args.verb, args.follow, args.tail, args.container) == ("logs", True, "5", "c1")
    args = parser.parse_args(["exec", "-i", "c1", "sh", "-c", "echo -n x"])
    assert args.command == ["sh", "-c", "echo -n x"]


def test_fd_writer_writes_everything(tmp_path: Path) -> None:
    path = tmp_path / "out"
    with path.open("wb") as file:
        writer = output.FdWriter(file.fileno())
        assert writer.write(memoryview(b"x" * 100_000)) == 100_000
    assert path.read_bytes() == b"x" * 100_000
