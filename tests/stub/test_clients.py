"""The real clients against the stateful stub engine at 1.41: the docker CLI and docker-py."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.support.stub import CLIS, docker
from wireproto.engine import StubEngine

needs_cli = pytest.mark.skipif(not CLIS, reason="no docker CLI binary")


@pytest.fixture
def stub() -> Iterator[StubEngine]:
    with StubEngine() as engine:
        yield engine


def piped(
    cli: str, engine: StubEngine, data: bytes, *args: str
) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env.update(DOCKER_CONFIG=os.path.join(os.path.dirname(engine.socket_path or ""), "c"))
    argv = [cli, "-H", engine.host, *args]
    return subprocess.run(argv, input=data, capture_output=True, env=env, timeout=60)


@needs_cli
@pytest.mark.parametrize("cli", CLIS)
def test_docker_run_pipes_stdin_through_cat(stub: StubEngine, cli: str) -> None:
    data = b"hello\n" + bytes(range(256)) * 64
    result = piped(cli, stub, data, "run", "--rm", "-i", "busybox", "cat")
    assert (result.returncode, result.stdout, result.stderr) == (0, data, b"")
    assert not [c for c in stub.world.containers.values() if c.scripted is None]  # --rm


@needs_cli
@pytest.mark.parametrize("cli", CLIS)
def test_docker_run_echo_and_exit_codes(stub: StubEngine, cli: str) -> None:
    result = docker(cli, stub, "run", "--rm", "busybox", "echo", "hi")
    assert (result.returncode, result.stdout) == (0, b"hi\n")
    result = docker(cli, stub, "run", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert result.returncode == 3 and result.stdout.startswith(b"out")
    result = docker(cli, stub, "run", "--rm", "busybox", "nosuchthing")
    assert result.returncode == 127 and b"nosuchthing: not found" in result.stderr


@needs_cli
@pytest.mark.parametrize("cli", CLIS)
def test_docker_exec_start_attach_and_rm(stub: StubEngine, cli: str) -> None:
    made = docker(cli, stub, "run", "-d", "--name", "long", "busybox", "sleep", "1000")
    assert made.returncode == 0, made.stderr
    assert docker(cli, stub, "exec", "long", "echo", "inside").stdout == b"inside\n"
    result = piped(cli, stub, b"to exec", "exec", "-i", "long", "cat")
    assert (result.returncode, result.stdout) == (0, b"to exec")
    assert docker(cli, stub, "exec", "long", "false").returncode == 1
    assert b"long" in docker(cli, stub, "ps").stdout
    inspected = docker(cli, stub, "inspect", "--format", "{{.State.Status}}", "long")
    assert inspected.stdout == b"running\n"
    refused = docker(cli, stub, "rm", "long")
    assert refused.returncode == 1 and b"cannot remove a running container" in refused.stderr
    assert docker(cli, stub, "rm", "-f", "long").returncode == 0
    assert docker(cli, stub, "inspect", "long").returncode == 1
    created = docker(
        cli, stub, "create", "--name", "once", "busybox", "sh", "-c", "echo ran; exit 4"
    )
    assert created.returncode == 0, created.stderr
    started = docker(cli, stub, "start", "-a", "once")
    assert (started.returncode, started.stdout) == (4, b"ran\n")


@needs_cli
@pytest.mark.parametrize("cli", CLIS)
def test_docker_images_lists_the_world(stub: StubEngine, cli: str) -> None:
    result = docker(cli, stub, "images", "--format", "{{.Repository}}:{{.Tag}}")
    assert result.returncode == 0 and set(result.stdout.split()) == {
        b"busybox:latest",
        b"alpine:3.19",
    }


def test_docker_py_runs_lists_and_pulls(stub: StubEngine) -> None:
    docker_py = pytest.importorskip("docker")
    client = docker_py.DockerClient(base_url=stub.host, version="1.41")
    try:
        assert client.containers.run("busybox", ["echo", "from docker-py"], remove=True) == (
            b"from docker-py\n"
        )
        detached = client.containers.run("busybox", ["sleep", "1000"], detach=True)
        assert (
            detached.status == "created" or client.containers.get(detached.id).status == "running"
        )
        assert detached.exec_run(["echo", "x"]).output == b"x\n"
        detached.remove(force=True)
    finally:
        client.close()


# images.list and images.pull read GET /images/(name)/json (wireproto.engine.images).
def test_docker_py_lists_images(stub: StubEngine) -> None:
    docker_py = pytest.importorskip("docker")
    client = docker_py.DockerClient(base_url=stub.host, version="1.41")
    try:
        tags = {tag for image in client.images.list() for tag in image.tags}
        assert {"busybox:latest", "alpine:3.19"} <= tags
    finally:
        client.close()


def test_docker_py_pulls(stub: StubEngine) -> None:
    docker_py = pytest.importorskip("docker")
    client = docker_py.DockerClient(base_url=stub.host, version="1.41")
    try:
        pulled = client.images.pull("busybox", tag="latest")
        assert "busybox:latest" in pulled.tags
    finally:
        client.close()
