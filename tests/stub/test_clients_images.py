"""The docker CLI and docker-py against the stub engine at 1.41: the images flows."""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
from collections.abc import Iterator

import pytest

from tests.support.stub import CLIS, docker
from wireproto.engine import StubEngine

needs_cli = pytest.mark.skipif(not CLIS, reason="no docker CLI binary")


@pytest.fixture
def stub() -> Iterator[StubEngine]:
    with StubEngine() as engine:
        yield engine


@needs_cli
@pytest.mark.parametrize("cli", CLIS)
def test_docker_images_inspect_pull_tag_rmi(stub: StubEngine, cli: str) -> None:
    listed = docker(cli, stub, "images", "--format", "{{.Repository}}:{{.Tag}}")
    assert listed.returncode == 0, listed.stderr
    assert set(listed.stdout.decode().split()) == {"busybox:latest", "alpine:3.19"}
    inspected = docker(cli, stub, "inspect", "busybox")
    assert inspected.returncode == 0, inspected.stderr
    assert json.loads(inspected.stdout)[0]["RepoTags"] == ["busybox:latest"]
    pulled = docker(cli, stub, "pull", "busybox")
    assert pulled.returncode == 0, pulled.stderr
    assert b"Downloaded newer image for busybox:latest" in pulled.stdout
    tagged = docker(cli, stub, "tag", "busybox", "mine:1")
    assert tagged.returncode == 0, tagged.stderr
    assert stub.world.image("mine:1") is stub.world.image("busybox")
    removed = docker(cli, stub, "rmi", "mine:1")
    assert (removed.returncode, removed.stdout) == (0, b"Untagged: mine:1\n")
    missing = docker(cli, stub, "rmi", "nosuch")
    assert missing.returncode == 1 and b"No such image: nosuch" in missing.stderr


@needs_cli
@pytest.mark.parametrize("cli", CLIS)
def test_docker_build(stub: StubEngine, cli: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        with open(os.path.join(directory, "Dockerfile"), "w") as handle:
            handle.write("FROM busybox\nRUN true\n")
        built = docker(cli, stub, "build", "-t", "tiny", directory)
    assert built.returncode == 0, built.stderr
    assert b"Successfully tagged tiny:latest" in built.stdout
    image = stub.world.image("tiny")
    assert image is not None and image.parent == stub.world.image("busybox").id  # type: ignore[union-attr]


def test_docker_py_images(stub: StubEngine) -> None:
    docker_py = pytest.importorskip("docker")
    client = docker_py.DockerClient(base_url=stub.host, version="1.41")
    try:
        tags = {tag for image in client.images.list() for tag in image.tags}
        assert tags == {"busybox:latest", "alpine:3.19"}
        assert "busybox:latest" in client.images.pull("busybox").tags
        data = b"".join(client.images.get("busybox").save())
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            handle = archive.extractfile("manifest.json")
            assert handle is not None
            assert json.loads(handle.read())[0]["RepoTags"] == ["busybox:latest"]
        client.images.remove("busybox")
        assert [image.tags for image in client.images.load(data)] == [["busybox:latest"]]
    finally:
        client.close()
