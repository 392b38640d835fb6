"""The new verbs against the real engine, compared with the docker CLI running the same
command: stdout byte for byte (tables taken back to back, retried while other sessions'
containers move under them), exit codes always; wireproto also at API 1.12."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.engine import Engine

pytestmark = pytest.mark.engine

VERSIONS = [None, "1.12"]
Done = subprocess.CompletedProcess[bytes]


def wp(engine: Engine, *args: str, version: str | None = None, input: bytes | None = None) -> Done:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    pinned = ["--api-version", version] if version else []
    return subprocess.run(
        [sys.executable, "-m", "wireproto", "-H", engine.host, *pinned, *args],
        input=input,
        capture_output=True,
        timeout=120,
        env=env,
    )


def same(engine: Engine, args: list[str], version: str | None = None, **kw: bytes) -> Done:
    """Runs both; asserts the same stdout and exit code; wireproto's result."""
    ours, theirs = wp(engine, *args, version=version, **kw), engine.docker(*args, check=False, **kw)
    assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout), (ours, theirs)
    return ours


def twin(
    engine: Engine, args: list[str], ours_name: str, theirs_name: str, version: str | None
) -> None:
    """A verb that changes what it names runs on two twins: ``{}`` in ``args`` is each one's
    name; the outputs must match once the names are swapped back."""
    ours = wp(engine, *[a.replace("{}", ours_name) for a in args], version=version)
    theirs = engine.docker(*[a.replace("{}", theirs_name) for a in args], check=False)
    mine = ours.stdout.replace(ours_name.encode(), theirs_name.encode())
    assert (ours.returncode, mine) == (theirs.returncode, theirs.stdout), (ours, theirs)


_AGO = re.compile(rb"(About an? |Less than a |\d+ )(second|minute|hour|day|week|month|year)s?")


def masked(table: bytes) -> list[list[bytes]]:
    """Cells, their durations masked: "31 minutes ago" ticks to "32" between the two."""
    return [re.split(rb"   +", _AGO.sub(b"T", line)) for line in table.splitlines()]


def settled(engine: Engine, args: list[str], tries: int = 5) -> None:
    """A table of the whole engine (``ps -a``, ``images``) equal to docker's when both are
    taken while nothing moved (other sessions share the engine); with a hundred rows some
    duration crosses a minute between the two, so after ``tries`` the cells are compared
    with durations masked, the header byte for byte."""
    for _ in range(tries):
        ours, theirs = wp(engine, *args), engine.docker(*args, check=False)
        if (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout):
            return
    assert ours.returncode == theirs.returncode == 0
    assert ours.stdout.split(b"\n", 1)[0] == theirs.stdout.split(b"\n", 1)[0]
    assert masked(ours.stdout) == masked(theirs.stdout)


def name() -> str:
    return f"wpv-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def names(engine: Engine) -> Callable[[], str]:
    made: list[str] = []

    def make() -> str:
        made.append(name())
        return made[-1]

    yield make  # type: ignore[misc]
    engine.docker("rm", "-f", *made, check=False)


SCRIPT = "echo out; echo err >&2; printf 'no newline'; exit 3"


@pytest.mark.parametrize("version", VERSIONS)
def test_run_output_and_exit_code(engine: Engine, version: str | None) -> None:
    args = ["run", "--rm", "--network", "none", engine.image, "sh", "-c", SCRIPT]
    ours, theirs = wp(engine, *args, version=version), engine.docker(*args, check=False)
    assert ours.returncode == theirs.returncode == 3
    assert (
        (ours.stdout, ours.stderr)
        == (theirs.stdout, theirs.stderr)
        == (b"out\nno newline", b"err\n")
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_run_interactive_env_name(
    engine: Engine, version: str | None, names: Callable[[], str]
) -> None:
    script = 'echo "$A $B"; cat; exit 5'
    ours_name, theirs_name = names(), names()
    common = ["--network", "none", "-i", "-e", "A=one two", "-e", "B=b"]
    data = b"line one\n\x00\xffbinary" * 1000
    ours = wp(
        engine,
        "run",
        "--name",
        ours_name,
        *common,
        engine.image,
        "sh",
        "-c",
        script,
        version=version,
        input=data,
    )
    theirs = engine.docker(
        "run",
        "--name",
        theirs_name,
        *common,
        engine.image,
        "sh",
        "-c",
        script,
        check=False,
        input=data,
    )
    assert ours.returncode == theirs.returncode == 5
    assert ours.stdout == theirs.stdout == b"one two b\n" + data
    assert wp(engine, "inspect", ours_name).returncode == 0  # named as asked, kept (no --rm)


def test_run_own_error_is_125(engine: Engine, names: Callable[[], str]) -> None:
    taken = names()
    engine.docker("create", "--network", "none", "--name", taken, engine.image, "true")
    args = ["run", "--network", "none", "--name", taken, engine.image, "true"]
    ours, theirs = wp(engine, *args), engine.docker(*args, check=False)
    assert ours.returncode == theirs.returncode == 125 and ours.stdout == theirs.stdout == b""


@pytest.mark.parametrize("version", VERSIONS)
def test_lifecycle_verbs_print_as_docker(
    engine: Engine, version: str | None, names: Callable[[], str]
) -> None:
    ours, theirs = names(), names()
    for box in (ours, theirs):
        engine.docker("run", "-d", "--network", "none", "--name", box, engine.image, "sleep", "600")
    for args in (
        ["stop", "-t", "1", "{}"],
        ["wait", "{}"],
        ["start", "{}"],
        ["stop", "-t", "0", "{}"],
        ["rm", "{}", "wpv-nosuch"],
        ["rm", "{}"],
    ):
        twin(engine, args, ours, theirs, version)
    theirs = names()
    engine.docker("run", "-d", "--network", "none", "--name", theirs, engine.image, "sleep", "600")
    ours = wp(engine, "rm", "-f", theirs, version=version)
    assert (ours.returncode, ours.stdout) == (0, f"{theirs}\n".encode())


@pytest.mark.parametrize("version", VERSIONS)
def test_inspect_top_diff_as_docker(
    engine: Engine, version: str | None, names: Callable[[], str]
) -> None:
    box = names()
    engine.docker(
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        box,
        engine.image,
        "sh",
        "-c",
        "touch /tmp/new; rm /etc/group; echo x >> /etc/passwd; exec sleep 600",
    )
    if version is None:
        same(engine, ["inspect", box, engine.image])
    else:  # an engine answers 1.12 with that version's fields: the same objects, fewer keys
        ours, theirs = (
            wp(engine, "inspect", box, engine.image, version=version),
            engine.docker("inspect", box, engine.image),
        )
        assert [d["Id"] for d in json.loads(ours.stdout)] == [
            d["Id"] for d in json.loads(theirs.stdout)
        ]
        assert ours.stdout.startswith(b'[\n    {\n        "Id": "') and ours.returncode == 0
    same(engine, ["inspect", "wpv-nosuch"], version)
    # The engine's own order of changes differs from one request to the next: as sets.
    ours, theirs = wp(engine, "diff", box, version=version), engine.docker("diff", box)
    assert sorted(ours.stdout.splitlines()) == sorted(theirs.stdout.splitlines())
    assert b"A /tmp/new" in ours.stdout.splitlines() and ours.returncode == 0
    for _ in range(5):  # TIME and C may tick between the two
        ours, theirs = wp(engine, "top", box, version=version), engine.docker("top", box)
        if ours.stdout == theirs.stdout:
            break
    assert ours.stdout == theirs.stdout and ours.returncode == 0


def test_ps_and_images_tables_as_docker(engine: Engine, names: Callable[[], str]) -> None:
    engine.docker(
        "create",
        "--network",
        "none",
        "--name",
        names(),
        engine.image,
        "sh",
        "-c",
        "echo a long command line to cut",
    )
    for args in (["ps"], ["ps", "-a"], ["ps", "-aq"], ["images"], ["images", "-q"]):
        settled(engine, args)


@pytest.mark.parametrize("version", VERSIONS)
def test_tag_rmi_save_load_export(
    engine: Engine, version: str | None, names: Callable[[], str], tmp_path: Path
) -> None:
    ours_ref, theirs_ref = (f"wpv-tag-{uuid.uuid4().hex[:8]}:v1" for _ in "ab")
    for args in (["tag", engine.image, "{}"], ["rmi", "{}"], ["rmi", "{}"]):  # gone: both exit 1
        twin(engine, args, ours_ref, theirs_ref, version)
    ours_tar, theirs_tar = tmp_path / "ours.tar", tmp_path / "theirs.tar"
    same(engine, ["save", "-o", str(ours_tar), engine.image], version)
    engine.docker("save", "-o", str(theirs_tar), engine.image)
    assert ours_tar.read_bytes() == theirs_tar.read_bytes()
    same(engine, ["load", "-i", str(ours_tar)], version)
    box = names()
    engine.docker("create", "--network", "none", "--name", box, engine.image, "true")
    ours_fs, theirs_fs = tmp_path / "ours-fs.tar", tmp_path / "theirs-fs.tar"
    wp(engine, "export", "-o", str(ours_fs), box, version=version)
    engine.docker("export", "-o", str(theirs_fs), box)
    assert ours_fs.stat().st_size == theirs_fs.stat().st_size > 0


@pytest.mark.parametrize("version", VERSIONS)
def test_start_attach_gives_output_and_code(
    engine: Engine, version: str | None, names: Callable[[], str]
) -> None:
    ours, theirs = names(), names()
    for box in (ours, theirs):
        engine.docker(
            "create", "--network", "none", "--name", box, engine.image, "sh", "-c", SCRIPT
        )
    mine = wp(engine, "start", "-a", ours, version=version)
    docker = engine.docker("start", "-a", theirs, check=False)
    assert mine.returncode == docker.returncode == 3
    assert (mine.stdout, mine.stderr) == (docker.stdout, docker.stderr)


def test_run_forwards_signals_to_the_container(engine: Engine) -> None:
    script = 'trap "echo got TERM; exit 7" TERM; echo ready; while :; do sleep 0.1; done'
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    args = ["run", "--rm", "--network", "none", engine.image, "sh", "-c", script]
    with subprocess.Popen(
        [sys.executable, "-m", "wireproto", "-H", engine.host, *args],
        stdout=subprocess.PIPE,
        env=env,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signal.SIGTERM)
        rest = proc.stdout.read()
        assert proc.wait(60) == 7 and rest == b"got TERM\n"
