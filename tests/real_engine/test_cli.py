"""The ``wireproto`` command against a real engine, compared with the docker CLI.

Each verb runs as a subprocess (``python -m wireproto -H HOST ...``) on both
backends, at /v1.12 (pinned) and at the negotiated version.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.engine import Engine

pytestmark = pytest.mark.engine

VERSIONS = [None, "1.12"]  # negotiated, and the oldest the test engine speaks
LONG_LINE = 70 * 1024  # over 64 KiB: the engine cuts it into 16 KiB log messages

# Interleaved stdout/stderr, binary bytes (invalid UTF-8 too), a long line, no final newline.
MIXED_SCRIPT = (
    'printf "out one\\n"; printf "err one\\n" >&2; '
    'printf "\\000\\001\\002\\177\\200\\377\\376 bytes\\n"; '
    'printf "\\033[1mbold\\033[0m \\342\\202\\254 utf8\\n" >&2; '
    f"head -c {LONG_LINE} /dev/zero | tr '\\000' L; echo; "
    "i=0; while [ $i -lt 50 ]; do echo out $i; echo err $i >&2; i=$((i+1)); done; "
    'printf "no final newline"'
)


def wireproto(
    engine: Engine,
    *args: str,
    backend: str = "native",
    api_version: str | None = None,
    input: bytes | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_API_VERSION")}
    env["WIREPROTO_BACKEND"] = backend
    pinned = ["--api-version", api_version] if api_version else []
    return subprocess.run(
        [sys.executable, "-m", "wireproto", "-H", engine.host, *pinned, *args],
        input=input,
        capture_output=True,
        timeout=timeout,
        env=env,
    )


@pytest.fixture(scope="module")
def mixed(engine: Engine) -> str:
    return engine.run_container(["sh", "-c", MIXED_SCRIPT])


@pytest.fixture(scope="module")
def tty_container(engine: Engine) -> str:
    script = 'printf "tty out\\n"; printf "tty err\\n" >&2; printf "\\001\\000\\000\\000 raw"'
    return engine.run_container(["sh", "-c", script], tty=True)


def started(engine: Engine, *create_args: str) -> str:
    """A running container (created with ``create_args``), removed at session end."""
    cid = engine.docker("create", "--network", "none", *create_args).stdout.decode().strip()
    engine.containers.append(cid)
    engine.docker("start", cid)
    return cid


@pytest.mark.parametrize("api_version", VERSIONS)
def test_logs_equal_docker_logs(
    engine: Engine, mixed: str, backend: str, api_version: str | None
) -> None:
    ours = wireproto(engine, "logs", mixed, backend=backend, api_version=api_version)
    theirs = engine.docker("logs", mixed)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout
    assert ours.stderr == theirs.stderr
    assert len(ours.stdout) > LONG_LINE and ours.stdout.endswith(b"no final newline")


@pytest.mark.parametrize("api_version", VERSIONS)
def test_logs_of_a_tty_container(
    engine: Engine, tty_container: str, backend: str, api_version: str | None
) -> None:
    ours = wireproto(engine, "logs", tty_container, backend=backend, api_version=api_version)
    theirs = engine.docker("logs", tty_container)
    assert ours.returncode == 0
    assert (ours.stdout, ours.stderr) == (theirs.stdout, theirs.stderr)
    assert b"tty err" in ours.stdout  # a TTY merges stderr into stdout


@pytest.mark.parametrize(
    "flags",
    [["--timestamps"], ["--tail", "3"], ["--tail", "0"], ["--since", "1h"], ["--until", "1h"]],
    ids=lambda f: " ".join(f),
)
def test_logs_flags_as_docker_logs(engine: Engine, mixed: str, flags: list[str]) -> None:
    ours = wireproto(engine, "logs", *flags, mixed)
    theirs = engine.docker("logs", *flags, mixed)
    assert ours.returncode == 0, ours.stderr
    assert (ours.stdout, ours.stderr) == (theirs.stdout, theirs.stderr)


def test_logs_since_an_rfc3339_time(engine: Engine, mixed: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    ours = wireproto(engine, "logs", "--since", stamp, mixed)
    assert ours.returncode == 0 and ours.stdout == b"" and ours.stderr == b""


def test_logs_follow_ends_with_the_container(engine: Engine, backend: str) -> None:
    script = "for i in 1 2 3 4 5; do echo line $i; sleep 0.2; done; echo bye >&2"
    cid = started(engine, engine.image, "sh", "-c", script)
    ours = wireproto(engine, "logs", "--follow", cid, backend=backend)
    assert ours.returncode == 0
    assert ours.stdout == b"".join(b"line %d\n" % i for i in range(1, 6))
    assert ours.stderr == b"bye\n"


def test_logs_into_one_file_keep_the_order(engine: Engine, tmp_path: Path) -> None:
    script = "echo a; sleep 0.1; echo b >&2; sleep 0.1; echo c"
    cid = engine.run_container(["sh", "-c", script])
    out = tmp_path / "both"
    with out.open("wb") as sink:
        code = subprocess.call(
            [sys.executable, "-m", "wireproto", "-H", engine.host, "logs", cid],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    assert code == 0
    assert out.read_bytes() == b"a\nb\nc\n"


@pytest.mark.parametrize("verb", [["logs"], ["attach"], ["exec", "-i"]])
def test_missing_container_exits_1_with_the_engines_message(
    engine: Engine, verb: list[str]
) -> None:
    args = [*verb, "wp-no-such-container"] + (["true"] if verb[0] == "exec" else [])
    ours = wireproto(engine, *args)
    assert ours.returncode == 1
    assert b"No such container: wp-no-such-container" in ours.stderr


@pytest.mark.parametrize("api_version", VERSIONS)
def test_attach_cat_echoes_and_half_close_exits_0(
    engine: Engine, backend: str, api_version: str | None
) -> None:
    # create -i (without -d) sets StdinOnce: stdin EOF closes cat's stdin.
    cid = started(engine, "-i", engine.image, "cat")
    data = b"hello\n" + bytes(range(256)) * 64 + os.urandom(200_000) + b"\nno newline"
    ours = wireproto(engine, "attach", cid, input=data, backend=backend, api_version=api_version)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == data
    assert ours.stderr == b""


def test_attach_exits_with_the_containers_code(engine: Engine) -> None:
    cid = started(engine, "-i", engine.image, "sh", "-c", "cat; echo gone >&2; exit 5")
    ours = wireproto(engine, "attach", cid, input=b"x\n")
    assert (ours.returncode, ours.stdout, ours.stderr) == (5, b"x\n", b"gone\n")


def test_attach_to_a_stopped_container(engine: Engine, mixed: str) -> None:
    ours = wireproto(engine, "attach", mixed)
    assert ours.returncode == 1 and b"stopped container" in ours.stderr


@pytest.fixture(scope="module")
def sleeper(engine: Engine) -> str:
    return started(engine, engine.image, "sleep", "3600")


@pytest.mark.parametrize("api_version", [None, "1.24"])
def test_exec_output_and_exit_code(
    engine: Engine, sleeper: str, backend: str, api_version: str | None
) -> None:
    script = 'echo out; echo err >&2; printf "\\000\\377"; exit 7'
    ours = wireproto(
        engine, "exec", sleeper, "sh", "-c", script, backend=backend, api_version=api_version
    )
    theirs = engine.docker("exec", sleeper, "sh", "-c", script, check=False)
    assert ours.returncode == theirs.returncode == 7
    assert (ours.stdout, ours.stderr) == (theirs.stdout, theirs.stderr)


def test_exec_interactive_forwards_stdin(engine: Engine, sleeper: str) -> None:
    data = os.urandom(100_000)
    ours = wireproto(engine, "exec", "-i", sleeper, "sh", "-c", "cat; exit 3", input=data)
    assert (ours.returncode, ours.stdout) == (3, data)


def test_exec_with_a_tty(engine: Engine, sleeper: str) -> None:
    ours = wireproto(engine, "exec", "-t", sleeper, "sh", "-c", "echo hi; echo err >&2")
    assert ours.returncode == 0
    assert ours.stdout == b"hi\r\nerr\r\n"  # one raw stream, through the TTY's line discipline


def test_exec_refused_below_1_15(engine: Engine, sleeper: str) -> None:
    ours = wireproto(engine, "exec", sleeper, "true", api_version="1.12")
    assert ours.returncode == 2 and b"needs API 1.15" in ours.stderr


def test_exec_in_a_stopped_container_is_a_conflict(engine: Engine, mixed: str) -> None:
    ours = wireproto(engine, "exec", mixed, "true")
    assert ours.returncode == 1 and b"is not running" in ours.stderr


def test_ping_and_version(engine: Engine) -> None:
    ping = wireproto(engine, "ping")
    assert ping.returncode == 0 and ping.stdout.startswith(b"OK")
    version = wireproto(engine, "version")
    assert version.returncode == 0 and b"ApiVersion:" in version.stdout
    pinned = wireproto(engine, "version", api_version="1.12")
    assert b"API version:     1.12" in pinned.stdout


def test_exit_codes_for_usage_and_unreachable(engine: Engine, tmp_path: Path) -> None:
    assert wireproto(engine, "ping", api_version="one.two").returncode == 2
    assert wireproto(engine, "nosuchverb").returncode == 2
    unreachable = subprocess.run(
        [sys.executable, "-m", "wireproto", "-H", f"unix://{tmp_path}/none.sock", "ping"],
        capture_output=True,
    )
    assert unreachable.returncode == 3
    assert b"cannot connect" in unreachable.stderr
    bad_host = subprocess.run(
        [sys.executable, "-m", "wireproto", "-H", "ssh://x", "ping"], capture_output=True
    )
    assert bad_host.returncode == 2


def test_too_old_a_version_is_a_clear_error(engine: Engine, mixed: str) -> None:
    ours = wireproto(engine, "logs", mixed, api_version="1.11")
    assert ours.returncode == 1
    assert b"too old" in ours.stderr.lower() or b"1.11" in ours.stderr
