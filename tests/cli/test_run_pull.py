"""``run`` pulls an image the engine lacks, as ``docker run`` does, against the stub engine:
the same stdout, stderr and exit code as the docker CLI run on a twin stub (docker 20.10's
words, "docker" read as "wireproto"; docker 28 words its final error otherwise, so with it
everything before that line), at 1.41, pinned to 1.12, and on a stub of 1.12."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

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


def wp(engine: StubEngine, *args: str, version: str | None = None) -> Done:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env["DOCKER_CONFIG"] = os.path.join(os.path.dirname(engine.socket_path or ""), "c")
    pinned = ["--api-version", version] if version else []
    return subprocess.run(
        [sys.executable, "-m", "wireproto", "-H", engine.host, *pinned, *args],
        capture_output=True,
        timeout=60,
        env=env,
    )


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


@pytest.mark.parametrize(
    ("image", "said"),
    [
        ("busybox", "busybox:latest"),
        ("busybox:1.36", "busybox:1.36"),
        ("library/busybox", "busybox:latest"),
        ("docker.io/library/busybox:1", "busybox:1"),
        ("index.docker.io/library/busybox", "busybox:latest"),
        ("docker.io/me/app", "me/app:latest"),
        ("me/library/app", "me/library/app:latest"),
        ("127.0.0.1:5000/library/app", "127.0.0.1:5000/library/app:latest"),
        ("localhost/app:2", "localhost/app:2"),
        ("example.test/a/b", "example.test/a/b:latest"),
        ("busybox@sha256:" + "a" * 64, "busybox@sha256:" + "a" * 64),
        ("busybox:1@sha256:" + "a" * 64, "busybox:1@sha256:" + "a" * 64),
        ("127.0.0.1:5000/app", "127.0.0.1:5000/app:latest"),
        ("Host/app", "Host/app:latest"),
        ("a" * 64, None),  # an image id: docker pulls nothing
        ("sha256:" + "b" * 64, None),
        ("abcdef012345", "abcdef012345:latest"),  # a short id reads as a name
    ],
)
def test_the_name_docker_says_it_could_not_find(image: str, said: str | None) -> None:
    from wireproto.cli.running import familiar_reference

    assert familiar_reference(image) == said
