"""The issue's client flows against `wireproto serve` itself (a subprocess), at 1.41: the docker
CLI's run, exec, start -a, rm -f, images and inspect, and docker-py's run, list and pull."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.support.stub import CLIS
from wireproto.engine import StubEngineProcess


@pytest.fixture(scope="module")
def served() -> Iterator[StubEngineProcess]:
    with StubEngineProcess() as engine:
        yield engine


def run(
    cli: str, engine: StubEngineProcess, *args: str, data: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env.update(DOCKER_CONFIG=os.path.join(os.path.dirname(engine.socket_path), "c"))
    argv = [cli, "-H", engine.host, *args]
    return subprocess.run(argv, input=data, capture_output=True, env=env, timeout=60)


@pytest.mark.skipif(not CLIS, reason="no docker CLI binary")
@pytest.mark.parametrize("cli", CLIS)
def test_the_docker_cli_against_wireproto_serve(served: StubEngineProcess, cli: str) -> None:
    data = bytes(range(256)) * 16
    piped = run(cli, served, "run", "--rm", "-i", "busybox", "cat", data=data)
    assert (piped.returncode, piped.stdout, piped.stderr) == (0, data, b"")
    tag = f"{CLIS.index(cli)}-{os.getpid()}"
    name = f"long-{tag}"
    assert run(cli, served, "run", "-d", "--name", name, "busybox", "sleep", "1000").returncode == 0
    assert run(cli, served, "exec", name, "echo", "inside").stdout == b"inside\n"
    status = run(cli, served, "inspect", "--format", "{{.State.Status}}", name)
    assert status.stdout == b"running\n"
    assert run(cli, served, "rm", "-f", name).returncode == 0
    once = f"once-{tag}"
    created = run(cli, served, "create", "--name", once, "busybox", "sh", "-c", "echo ran; exit 4")
    assert created.returncode == 0, created.stderr
    started = run(cli, served, "start", "-a", once)
    assert (started.returncode, started.stdout) == (4, b"ran\n")
    images = run(cli, served, "images", "--format", "{{.Repository}}:{{.Tag}}")
    assert b"busybox:latest" in images.stdout.split()


def test_docker_py_against_wireproto_serve(served: StubEngineProcess) -> None:
    docker_py = pytest.importorskip("docker")
    client = docker_py.DockerClient(base_url=served.host, version="1.41")
    try:
        ran = client.containers.run("busybox", ["echo", "from docker-py"], remove=True)
        assert ran == b"from docker-py\n"
        assert "busybox:latest" in {tag for image in client.images.list() for tag in image.tags}
        assert "busybox:latest" in client.images.pull("busybox", tag="latest").tags
    finally:
        client.close()
