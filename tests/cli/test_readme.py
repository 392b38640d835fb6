"""Every snippet in README.md runs as written: its ```python blocks, and the ```sh commands
that are ``wireproto ...`` (the rest install things or run the suite).

Each runs in a fresh interpreter with ``DOCKER_HOST`` pointing at a fresh stub engine (no
containers, the stub's stock images, busybox among them) and, marked ``engine``, at the real
engine, where ``busybox`` is the test image under that name (tagged for the run if missing).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from wireproto.engine import Script, StubEngine

if TYPE_CHECKING:
    from tests.support.engine import Engine

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# A snippet that hangs is a failure, not a stuck suite; the bench takes about half of this.
SNIPPET_TIMEOUT = 180
SLOW_COMMANDS = ("wireproto bench",)


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(README.read_text()) if lang == language]


def wireproto_commands() -> list[str]:
    """The ``wireproto ...`` commands of the sh blocks (a line may chain them with ``&&``)."""
    commands = []
    for body in blocks("sh"):
        for line in body.splitlines():
            for command in line.split("&&"):
                if command.strip().startswith("wireproto "):
                    commands.append(command.strip())
    return commands


def python_params() -> list[object]:
    return [pytest.param(body, id=f"python{index}") for index, body in enumerate(blocks("python"))]


def command_params() -> list[object]:
    params = []
    for command in wireproto_commands():
        slow = command.startswith(SLOW_COMMANDS)
        params.append(pytest.param(command, id=command, marks=[pytest.mark.slow] if slow else []))
    return params


def run_snippet(argv: list[str], host: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env["DOCKER_HOST"] = host
    env["PYTHONPATH"] = str(ROOT)
    bin_dir = cwd / "bin"
    bin_dir.mkdir(exist_ok=True)
    # `wireproto` as a user has it on PATH, from this tree.
    launcher = bin_dir / "wireproto"
    launcher.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m wireproto "$@"\n')
    launcher.chmod(0o755)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=SNIPPET_TIMEOUT
    )


def check(proc: subprocess.CompletedProcess[str], what: str) -> None:
    assert proc.returncode == 0, (
        f"{what} exited {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\n"
        f"stderr:\n{proc.stderr[-3000:]}"
    )


@pytest.fixture
def fresh_stub() -> Iterator[StubEngine]:
    """A stub engine as a fresh one is: no containers yet."""
    with StubEngine(Script(containers=())) as engine:
        yield engine


@pytest.mark.parametrize("snippet", python_params())
def test_python_snippet_runs_on_a_fresh_stub_engine(
    snippet: str, fresh_stub: StubEngine, tmp_path: Path
) -> None:
    proc = run_snippet([sys.executable, "-c", snippet], fresh_stub.host, tmp_path)
    check(proc, f"the README snippet\n{snippet}")
    assert proc.stdout, "each Python snippet shows what it got"


@pytest.mark.parametrize("command", command_params())
def test_wireproto_command_runs_on_a_fresh_stub_engine(
    command: str, fresh_stub: StubEngine, tmp_path: Path
) -> None:
    proc = run_snippet(shlex.split(command), fresh_stub.host, tmp_path)
    check(proc, command)


def test_the_readme_has_snippets_to_run() -> None:
    """The extraction itself: a README rewrite that renames the fences must not empty the test."""
    assert len(blocks("python")) >= 2
    assert "wireproto bench" in wireproto_commands()


@pytest.fixture(scope="module")
def busybox_on(engine: Engine) -> Iterator[Engine]:
    """``busybox`` on the real engine (no internet here): the test image under that name."""
    present = engine.docker("image", "inspect", "busybox", check=False).returncode == 0
    if not present:
        engine.docker("tag", engine.image, "busybox:latest")
    yield engine
    if not present:
        engine.docker("rmi", "busybox:latest", check=False)


@pytest.mark.engine
@pytest.mark.parametrize("snippet", python_params())
def test_python_snippet_runs_on_the_real_engine(
    snippet: str, busybox_on: Engine, tmp_path: Path
) -> None:
    proc = run_snippet([sys.executable, "-c", snippet], busybox_on.host, tmp_path)
    check(proc, f"the README snippet\n{snippet}")
    assert proc.stdout, "each Python snippet shows what it got"
