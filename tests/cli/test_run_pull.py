"""``run`` pulls an image the engine lacks, as ``docker run`` does, against the stub engine:
the same stdout, stderr and exit code as the docker CLI run on a twin stub (docker 20.10's
words, "docker" read as "wireproto"; docker 28 words its final error otherwise, so with it
everything before that line), at 1.41, pinned to 1.12, and on a stub of 1.12; then on
dockerd (tests marked ``engine``) against its own CLI."""

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
from tests.support.stub import CLIS, docker
from wireproto.engine import StubEngine
from wireproto.versions import ApiVersion

Done = subprocess.CompletedProcess[bytes]

# Each step on a fresh stub, in order: alpine:3.19 is in the stub's registry and, once
# removed, no longer local.
STEPS = [
    ["rmi", "alpine:3.19"],
    ["run", "--rm", "alpine:3.19", "echo", "hi"],  # missing: said, pulled, created again
    ["run", "--rm", "alpine:3.19", "echo", "again"],  # present now: no pull
    ["run", "--pull", "never", "nosuch", "true"],  # never: the 404 itself
    ["run", "nosuch/x:2", "true"],  # the registry refuses: 125, nothing on stdout
    ["run", "--pull", "always", "busybox", "echo", "x"],  # present, pulled all the same
    ["run", "--pull", "never", "busybox", "echo", "y"],
    ["run", "index.docker.io/library/nosuch:1", "true"],  # said and asked for as "nosuch:1"
    ["run", "--rm", "docker.io/library/busybox", "echo", "z"],  # the same image as busybox
    ["run", "a" * 64, "true"],  # an id: not found, nothing to pull
    ["run", "sha256:" + "b" * 64, "true"],
]


def wireproto(host: str, config: str, *args: str, version: str | None = None) -> Done:
    """``wireproto -H host [--api-version V] ARGS`` with ``config`` as DOCKER_CONFIG."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env["DOCKER_CONFIG"] = config
    pinned = ["--api-version", version] if version else []
    return subprocess.run(
        [sys.executable, "-m", "wireproto", "-H", host, *pinned, *args],
        capture_output=True,
        timeout=120,
        env=env,
    )


def wp(engine: StubEngine, *args: str, version: str | None = None) -> Done:
    config = os.path.join(os.path.dirname(engine.socket_path or ""), "c")  # as stub.docker's
    return wireproto(engine.host, config, *args, version=version)


def as_wireproto(stderr: bytes) -> bytes:
    """docker 20.10's reportError with our name in it."""
    stderr = re.sub(rb"(?m)^docker: ", b"wireproto: ", stderr)
    return stderr.replace(b"See 'docker run --help'.", b"See 'wireproto run --help'.")


def before_error(stderr: bytes) -> bytes:
    return stderr.split(b"docker: ")[0].split(b"wireproto: ")[0]


@pytest.mark.parametrize("cli", CLIS)
def test_run_pulls_as_the_docker_cli(cli: str) -> None:
    with StubEngine() as ours, StubEngine() as theirs:
        for step in STEPS:
            mine, docker_s = wp(ours, *step), docker(cli, theirs, *step)
            assert (mine.returncode, mine.stdout) == (docker_s.returncode, docker_s.stdout), step
            if cli == "/usr/bin/docker":  # 20.10, the engine's own CLI
                assert mine.stderr == as_wireproto(docker_s.stderr), step
            else:
                assert before_error(mine.stderr) == before_error(docker_s.stderr), step
        listed = wp(ours, "images").stdout.splitlines()
        assert any(line.split()[:2] == [b"alpine", b"3.19"] for line in listed)


@pytest.mark.parametrize("version", [None, "1.41", "1.12"])
def test_missing_image_pulled_then_created(version: str | None) -> None:
    with StubEngine() as engine:
        assert wp(engine, "rmi", "alpine:3.19").returncode == 0
        done = wp(engine, "run", "--rm", "alpine:3.19", "echo", "hi", version=version)
        assert (done.returncode, done.stdout) == (0, b"hi\n"), done.stderr
        assert done.stderr.startswith(b"Unable to find image 'alpine:3.19' locally\n")
        assert done.stderr.endswith(b"Status: Downloaded newer image for alpine:3.19\n")
        creates = [r for r in engine.received if r.path.endswith("/containers/create")]
        pulls = [r for r in engine.received if r.path.endswith("/images/create")]
        assert len(creates) == 2 and len(pulls) == 1  # the 404, then again after the pull
        assert pulls[0].query.get("fromImage") == ["alpine"]
        assert pulls[0].query.get("tag") == ["3.19"]
        detached = wp(engine, "run", "-d", "--pull", "always", "alpine:3.19", "true")
        assert detached.returncode == 0 and len(detached.stdout.strip()) == 64  # only the id
        assert b"Pulling from library/alpine" in detached.stderr


def test_on_a_stub_of_1_12_the_in_band_error_fails_run() -> None:
    """Engines up to 1.12 refused a pull inside the stream, after "Pulling repository"."""
    with StubEngine(api_version=ApiVersion(1, 12)) as engine:
        assert wp(engine, "rmi", "alpine:3.19").returncode == 0
        done = wp(engine, "run", "--rm", "alpine:3.19", "echo", "hi")
        assert (done.returncode, done.stdout) == (0, b"hi\n"), done.stderr
        assert done.stderr.splitlines()[:2] == [
            b"Unable to find image 'alpine:3.19' locally",
            b"Pulling repository alpine",
        ]
        refused = wp(engine, "run", "nosuch/x:2", "true")
        assert (refused.returncode, refused.stdout) == (125, b"")
        assert refused.stderr == (
            b"Unable to find image 'nosuch/x:2' locally\n"
            b"Pulling repository nosuch/x\n"
            b"wireproto: Error: image nosuch/x:2 not found.\n"
            b"See 'wireproto run --help'.\n"
        )


def test_an_unknown_pull_policy_is_refused_before_any_request() -> None:
    with StubEngine() as engine:
        done = wp(engine, "run", "--pull", "sometimes", "busybox", "true")
        assert (done.returncode, done.stdout) == (125, b"")
        assert done.stderr == (
            b"wireproto: invalid pull option: 'sometimes': must be one of "
            b'"always", "missing" or "never".\n'
            b"See 'wireproto run --help'.\n"
        )
        assert not [r for r in engine.received if r.method == "POST"]


DIGEST = "@sha256:" + "a" * 64
# The name docker's run says it could not find (None: an image id, nothing is pulled).
SAID: dict[str, str | None] = {
    "busybox": "busybox:latest",
    "busybox:1.36": "busybox:1.36",
    "library/busybox": "busybox:latest",
    "docker.io/library/busybox:1": "busybox:1",
    "index.docker.io/library/busybox": "busybox:latest",
    "docker.io/me/app": "me/app:latest",
    "me/library/app": "me/library/app:latest",
    "127.0.0.1:5000/library/app": "127.0.0.1:5000/library/app:latest",
    "127.0.0.1:5000/app": "127.0.0.1:5000/app:latest",
    "localhost/app:2": "localhost/app:2",
    "example.test/a/b": "example.test/a/b:latest",
    "Host/app": "Host/app:latest",
    "busybox" + DIGEST: "busybox" + DIGEST,
    "busybox:1" + DIGEST: "busybox:1" + DIGEST,
    "a" * 64: None,
    "sha256:" + "b" * 64: None,
    "abcdef012345": "abcdef012345:latest",  # a short id reads as a name
}


@pytest.mark.parametrize(("image", "said"), SAID.items())
def test_the_name_docker_says_it_could_not_find(image: str, said: str | None) -> None:
    from wireproto.cli.running import familiar_reference

    assert familiar_reference(image) == said


# --- against dockerd, with its docker CLI (20.10) -------------------------------------------------
#
# An image pushed to the local registries (the plain one and the one with auth, credentials
# from config.json), then removed locally, run by each CLI on its own twin reference: stdout,
# exit code and stderr compared byte for byte once the references are swapped back. Their
# layers are still on the engine (the test image's), so the pull prints no per-layer lines; a
# pull that downloads layers prints them in the order the downloads end, not compared.


def wp_on(engine: Engine, config: Path, *args: str, version: str | None = None) -> Done:
    return wireproto(engine.host, str(config), *args, version=version)


def docker_on(engine: Engine, config: Path, *args: str) -> Done:
    return engine.docker("--config", str(config), *args, check=False)


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
    docker_on(engine, config, "push", reference).check_returncode()
    engine.docker("rmi", reference)


@pytest.mark.engine
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
    mine = wp_on(engine, config, *[a.replace("{}", ours) for a in args], version=version)
    docker_s = docker_on(engine, config, *[a.replace("{}", theirs) for a in args])
    assert (mine.returncode, mine.stdout) == (docker_s.returncode, docker_s.stdout) == (4, b"out\n")
    swapped = mine.stderr.replace(b"wpv2-ours", b"wpv2-theirs")
    assert swapped == as_wireproto(docker_s.stderr)
    assert swapped.startswith(f"Unable to find image '{theirs}' locally\n".encode())
    assert swapped.endswith(f"Status: Downloaded newer image for {theirs}\nerr\n".encode())


@pytest.mark.engine
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
        mine = wp_on(engine, config, *args, version=version)
        engine.docker("rmi", forgotten, check=False)
        docker_s = docker_on(engine, config, *args)
        assert mine.returncode == docker_s.returncode, (args, mine, docker_s)
        assert mine.stdout == docker_s.stdout, args
        assert mine.stderr == as_wireproto(docker_s.stderr), args
        assert mine.returncode == (0 if "always" in args else 125)


@pytest.mark.engine
def test_without_credentials_the_auth_registry_refuses_as_docker(
    engine: Engine, config: Path, auth_registry: Registry, pushed: list[str], tmp_path: Path
) -> None:
    reference = f"{auth_registry.address}/wpv2-locked:{uuid.uuid4().hex[:8]}"
    push_then_forget(engine, config, reference, pushed)
    empty = tmp_path / "empty"
    empty.mkdir()
    args = ["run", "--rm", "--network", "none", reference, "true"]
    mine, docker_s = wp_on(engine, empty, *args), docker_on(engine, empty, *args)
    assert (mine.returncode, mine.stdout) == (docker_s.returncode, docker_s.stdout) == (125, b"")
    assert mine.stderr == as_wireproto(docker_s.stderr)
    assert b"no basic auth credentials" in mine.stderr
