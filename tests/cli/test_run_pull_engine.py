"""``run`` of an image the engine lacks, against dockerd, compared with its docker CLI (20.10):
an image pushed to the local registries (the plain one and the one with auth, credentials
from config.json), then removed locally, run by each on its own twin reference.

What is compared: stdout, exit code, and stderr byte for byte once each one's reference is
swapped back and "docker" read as "wireproto". The layers of these images are still on the
engine (the test image's), so the pull prints no per-layer lines; a pull that downloads
layers prints them in the order the downloads happen to end, which is not compared.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engine import Engine, Registry

pytestmark = pytest.mark.engine

Done = subprocess.CompletedProcess[bytes]


def wp(engine: Engine, config: Path, *args: str, version: str | None = None) -> Done:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env["DOCKER_CONFIG"] = str(config)
    pinned = ["--api-version", version] if version else []
    return subprocess.run(
        [sys.executable, "-m", "wireproto", "-H", engine.host, *pinned, *args],
        capture_output=True,
        timeout=120,
        env=env,
    )


def docker(engine: Engine, config: Path, *args: str) -> Done:
    return engine.docker("--config", str(config), *args, check=False)


def as_wireproto(stderr: bytes) -> bytes:
    stderr = re.sub(rb"(?m)^docker: ", b"wireproto: ", stderr)
    return stderr.replace(b"See 'docker run --help'.", b"See 'wireproto run --help'.")


@pytest.fixture
def config(tmp_path: Path, auth_registry: Registry) -> Path:
    """A config.json with the auth registry's credentials, for both CLIs."""
    secret = f"{auth_registry.user}:{auth_registry.password}".encode()
    entry = {"auth": base64.b64encode(secret).decode()}
    (tmp_path / "config.json").write_text(json.dumps({"auths": {auth_registry.address: entry}}))
    return tmp_path


@pytest.fixture
def pushed(engine: Engine, config: Path) -> Iterator[list[str]]:
    """References this test pushes; removed locally at the end (the registry keeps them)."""
    made: list[str] = []
    yield made
    for reference in made:
        engine.docker("rmi", "-f", reference, check=False)


def push_then_forget(engine: Engine, config: Path, reference: str, made: list[str]) -> None:
    made.append(reference)
    engine.docker("tag", engine.image, reference)
    docker(engine, config, "push", reference).check_returncode()
    engine.docker("rmi", reference)


@pytest.mark.parametrize("version", [None, "1.12"])
@pytest.mark.parametrize("which", ["registry", "auth_registry"])
def test_run_pulls_what_the_engine_lacks_as_docker(
    engine: Engine,
    config: Path,
    pushed: list[str],
    request: pytest.FixtureRequest,
    which: str,
    version: str | None,
) -> None:
    address = request.getfixturevalue(which).address
    tag = uuid.uuid4().hex[:8]
    ours, theirs = f"{address}/wpv2-ours:{tag}", f"{address}/wpv2-theirs:{tag}"
    for reference in (ours, theirs):
        push_then_forget(engine, config, reference, pushed)
    args = ["run", "--rm", "--network", "none", "{}", "sh", "-c", "echo out; echo err >&2; exit 4"]
    mine = wp(engine, config, *[a.replace("{}", ours) for a in args], version=version)
    docker_s = docker(engine, config, *[a.replace("{}", theirs) for a in args])
    assert (mine.returncode, mine.stdout) == (docker_s.returncode, docker_s.stdout) == (4, b"out\n")
    swapped = mine.stderr.replace(b"wpv2-ours", b"wpv2-theirs")
    assert swapped == as_wireproto(docker_s.stderr)
    assert swapped.startswith(f"Unable to find image '{theirs}' locally\n".encode())
    assert swapped.endswith(f"Status: Downloaded newer image for {theirs}\nerr\n".encode())


@pytest.mark.parametrize("version", [None, "1.12"])
def test_run_failures_exit_125_with_dockers_message(
    engine: Engine, config: Path, registry: Registry, pushed: list[str], version: str | None
) -> None:
    forgotten = f"{registry.address}/wpv2-gone:{uuid.uuid4().hex[:8]}"
    push_then_forget(engine, config, forgotten, pushed)
    absent = f"{registry.address}/wpv2-nosuch:{uuid.uuid4().hex[:8]}"
    for args in (
        ["run", "--network", "none", absent, "true"],  # not in the registry either
        ["run", "-d", "--network", "none", absent, "true"],
        ["run", "--pull", "never", "--network", "none", forgotten, "true"],
        ["run", "--pull", "always", "--rm", "--network", "none", forgotten, "true"],
        ["run", "--rm", "--network", "none", "a" * 64, "true"],  # an id: no pull
    ):
        engine.docker("rmi", forgotten, check=False)  # each side finds it missing
        mine = wp(engine, config, *args, version=version)
        engine.docker("rmi", forgotten, check=False)
        docker_s = docker(engine, config, *args)
        assert mine.returncode == docker_s.returncode, (args, mine, docker_s)
        assert mine.stdout == docker_s.stdout, args
        assert mine.stderr == as_wireproto(docker_s.stderr), args
        assert mine.returncode == (0 if "always" in args else 125)


def test_without_credentials_the_auth_registry_refuses_as_docker(
    engine: Engine, config: Path, auth_registry: Registry, pushed: list[str], tmp_path: Path
) -> None:
    reference = f"{auth_registry.address}/wpv2-locked:{uuid.uuid4().hex[:8]}"
    push_then_forget(engine, config, reference, pushed)
    empty = tmp_path / "empty"
    empty.mkdir()
    args = ["run", "--rm", "--network", "none", reference, "true"]
    mine, docker_s = wp(engine, empty, *args), docker(engine, empty, *args)
    assert (mine.returncode, mine.stdout) == (docker_s.returncode, docker_s.stdout) == (125, b"")
    assert mine.stderr == as_wireproto(docker_s.stderr)
    assert b"no basic auth credentials" in mine.stderr
