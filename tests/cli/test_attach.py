"""``wireproto attach``: docker's signal proxy and detach keys, on the real engine.

Each behaviour runs against ``docker attach`` on a twin container; exit codes
and output are compared.  TTY sessions run in a pseudo-terminal (the detach
keys are typed there, as a user would).
"""

from __future__ import annotations

import argparse
import os
import pty
import random
import select
import signal
import subprocess
import sys
import time

import pytest

from tests.support.engine import Engine
from wireproto.cli.attach import EscapeWatch, detach_sequence, go_bool
from wireproto.cli.errors import UsageError

TRAPS = (
    'trap "echo got INT; exit 7" INT; trap "echo got TERM; exit 9" TERM; '
    'while read l; do echo "echo:$l"; done'
)


@pytest.mark.parametrize(
    ("keys", "sequence"),
    [
        ("ctrl-p,ctrl-q", b"\x10\x11"),
        ("ctrl-x", b"\x18"),
        ("a,ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", b"a\x00\x1b\x1c\x1d\x1e\x1f"),
        ("CTRL-A", b"\x01"),
    ],
)
def test_detach_keys_as_docker_reads_them(keys: str, sequence: bytes) -> None:
    assert detach_sequence(keys) == sequence


@pytest.mark.parametrize("bad", ["ctrl-1", "ctrl-", "ab", "", "ctrl-p,,ctrl-q"])
def test_bad_detach_keys(bad: str) -> None:
    with pytest.raises(UsageError):
        detach_sequence(bad)


def test_go_bool() -> None:
    assert [go_bool(v) for v in ("true", "1", "T", "false", "0", "F")] == [True] * 3 + [False] * 3
    with pytest.raises(argparse.ArgumentTypeError):
        go_bool("yes")


@pytest.mark.parametrize("seed", range(5))
def test_escape_watch_finds_the_keys_split_anywhere(seed: int) -> None:
    rng = random.Random(seed)
    data = b"ab\x10c\x10\x10\x11 rest"
    cuts = sorted(rng.sample(range(1, len(data)), 3))
    watch = EscapeWatch(b"\x10\x11")
    for start, end in zip([0, *cuts], [*cuts, len(data)]):
        watch.feed(data[start:end])
    assert watch.seen
    missing = EscapeWatch(b"\x10\x11")
    for byte in b"\x10a\x11\x11\x10":
        missing.feed(bytes([byte]))
    assert not missing.seen


# --- against the real engine ------------------------------------------------------------------


def _command(engine: Engine, ours: bool) -> list[str]:
    if ours:
        return [sys.executable, "-m", "wireproto", "-H", engine.host]
    return [engine.cli, "-H", engine.host]


def _env(engine: Engine, backend: str = "python") -> dict[str, str]:
    pythonpath = os.environ.get("PYTHONPATH", "")
    return {**engine.cli_env(), "PYTHONPATH": pythonpath, "WIREPROTO_BACKEND": backend}


def _container(engine: Engine, *args: str) -> str:
    cid = engine.docker("run", "-d", "--network", "none", *args).stdout.decode().strip()
    engine.containers.append(cid)
    return cid


def _running(engine: Engine, cid: str) -> bool:
    state = engine.docker("inspect", "--format", "{{.State.Running}}", cid).stdout
    return state.strip() == b"true"


def _attach_and_signal(
    engine: Engine, ours: bool, signum: int, *flags: str, backend: str = "python"
) -> tuple[int, bytes, bytes, str]:
    """Attaches to a fresh trapping container, checks the attach works (an echo comes
    back), sends ``signum`` to the attaching command; its code, output, the container."""
    cid = _container(engine, "-i", engine.image, "sh", "-c", TRAPS)
    proc = subprocess.Popen(
        [*_command(engine, ours), "attach", *flags, cid],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(engine, backend),
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(b"hello\n")
        proc.stdin.flush()
        first = proc.stdout.readline()
        assert first == b"echo:hello\n"
        proc.send_signal(signum)
        # stdin stays open until the command ends: the engine ends an attach at stdin's EOF
        # (the docker CLI then loses the output after the signal too).
        proc.wait(timeout=30)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    return proc.returncode, first + out, err, cid


@pytest.mark.engine
@pytest.mark.parametrize(
    ("signum", "code", "said"),
    [(signal.SIGINT, 7, b"got INT\n"), (signal.SIGTERM, 9, b"got TERM\n")],
)
def test_signals_go_to_the_container(
    engine: Engine, signum: int, code: int, said: bytes, backend: str
) -> None:
    ours = _attach_and_signal(engine, True, signum, backend=backend)
    theirs = _attach_and_signal(engine, False, signum)
    assert ours[:3] == theirs[:3] == (code, b"echo:hello\n" + said, b"")


@pytest.mark.engine
def test_without_sig_proxy_the_container_runs_on(engine: Engine) -> None:
    ours = _attach_and_signal(engine, True, signal.SIGINT, "--sig-proxy=false")
    theirs = _attach_and_signal(engine, False, signal.SIGINT, "--sig-proxy=false")
    assert _running(engine, ours[3]) and _running(engine, theirs[3])
    assert ours[1] == theirs[1] == b"echo:hello\n"
    # docker dies of the signal; we exit 130, what a shell reports for that death.
    assert (ours[0], theirs[0]) == (130, -signal.SIGINT)


@pytest.mark.engine
def test_keys_are_data_without_a_tty(engine: Engine) -> None:
    data = b"a\x10\x11b\n\x10\x11"
    results = []
    for ours in (True, False):
        cid = engine.docker("create", "-i", "--network", "none", engine.image, "cat")
        container = cid.stdout.decode().strip()
        engine.containers.append(container)
        engine.docker("start", container)
        done = subprocess.run(
            [*_command(engine, ours), "attach", container],
            input=data,
            capture_output=True,
            timeout=60,
            env=_env(engine),
        )
        results.append((done.returncode, done.stdout, done.stderr))
    assert results[0] == results[1] == (0, data, b"")


def _in_a_terminal(argv: list[str], env: dict[str, str], typed: list[bytes]) -> tuple[int, bytes]:
    """Runs ``argv`` on a pseudo-terminal, types ``typed`` (a pause between); code, output."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once
        os.execvpe(argv[0], argv, env)
    output = bytearray()

    def read_for(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    piece = os.read(fd, 4096)
                except OSError:  # the child has gone: its side of the terminal closed
                    return
                if not piece:
                    return
                output.extend(piece)

    try:
        read_for(1.5)
        for keys in typed:
            os.write(fd, keys)
            read_for(0.5)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                read_for(0.2)
                return os.waitstatus_to_exitcode(status), bytes(output)
            read_for(0.1)
        raise AssertionError(f"{argv} did not end: {bytes(output)!r}")
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)


@pytest.mark.engine
@pytest.mark.parametrize(
    ("flags", "typed"),
    [
        ([], [b"echo hi\r", b"\x10\x11"]),
        (["--detach-keys", "ctrl-x"], [b"echo hi\r", b"\x10\x11", b"\x18"]),
    ],
    ids=["default", "ctrl-x"],
)
def test_detach_keys_leave_the_container_running(
    engine: Engine, flags: list[str], typed: list[bytes], backend: str
) -> None:
    results = []
    for ours in (True, False):
        cid = _container(engine, "-it", engine.image, "sh")
        argv = [*_command(engine, ours), "attach", *flags, cid]
        code, output = _in_a_terminal(argv, _env(engine, backend), typed)
        assert _running(engine, cid), output
        assert b"hi\r\n" in output, output
        results.append((code, output[-len(b"read escape sequence\r\n") :]))
    assert results[0] == results[1] == (1, b"read escape sequence\r\n")


@pytest.mark.engine
def test_a_tty_session_ends_with_the_shell(engine: Engine) -> None:
    cid = _container(engine, "-it", engine.image, "sh")
    argv = [*_command(engine, True), "attach", cid]
    code, output = _in_a_terminal(argv, _env(engine), [b"exit 3\r"])
    assert code == 3 and b"read escape sequence" not in output


@pytest.mark.engine
def test_detach_keys_refused_below_1_22(engine: Engine) -> None:
    cid = _container(engine, "-it", engine.image, "sh")
    done = subprocess.run(
        [
            *_command(engine, True),
            "--api-version",
            "1.21",
            "attach",
            "--detach-keys",
            "ctrl-x",
            cid,
        ],
        capture_output=True,
        timeout=60,
        env=_env(engine),
    )
    assert done.returncode == 2 and b"1.22" in done.stderr
