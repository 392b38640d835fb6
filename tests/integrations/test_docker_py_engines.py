"""docker-py on wireproto against stock docker-py on engines: the stateful stub
engine, and the real engine when there is one (marker ``engine``)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from wireproto.engine import StubEngine
from wireproto.integrations import docker_py

SCRIPT = "for i in 1 2 3 4 5; do echo out $i; echo err $i >&2; done; printf 'é\\n' >&2"


@pytest.fixture(params=["stub", pytest.param("real", marks=pytest.mark.engine)])
def engine(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """(base_url, image) of an engine."""
    if request.param == "stub":
        with StubEngine() as stub:
            yield stub.host, "busybox"
        return
    host = os.environ.get("WIREPROTO_ENGINE_HOST")
    if not host:
        if os.environ.get("WIREPROTO_REQUIRE_ENGINE"):
            pytest.fail("WIREPROTO_REQUIRE_ENGINE=1 and no WIREPROTO_ENGINE_HOST")
        pytest.skip("no real engine (WIREPROTO_ENGINE_HOST)")
    yield host, os.environ.get("WIREPROTO_IMAGE", "busybox")


def clients(url: str) -> list[Any]:
    return [docker.DockerClient(base_url=url, version="1.41"),
            docker_py.DockerClient(base_url=url, version="1.41")]


def run(client: Any, image: str, tty: bool, command: list[str]) -> Any:
    return client.containers.run(image, command, detach=True, tty=tty, network_mode="none")


@pytest.mark.parametrize("tty", [False, True])
def test_logs_alike(engine: tuple[str, str], tty: bool) -> None:
    url, image = engine
    stock, ours = clients(url)
    container = run(stock, image, tty, ["sh", "-c", SCRIPT])
    try:
        container.wait()
        for kwargs in ({}, {"stdout": False}, {"timestamps": False, "tail": 3}):
            assert ours.api.logs(container.id, **kwargs) == stock.api.logs(container.id, **kwargs)
        # with a TTY, streamed logs stay docker-py's own reader (one byte per item):
        # the same items all the same, and the same bytes as the whole logs
        streamed = list(ours.api.logs(container.id, stream=True))
        assert streamed == list(stock.api.logs(container.id, stream=True))
        assert streamed and all(type(item) is bytes for item in streamed)
        assert b"".join(streamed) == stock.api.logs(container.id)
    finally:
        container.remove(force=True)


@pytest.mark.parametrize("tty", [False, True])
@pytest.mark.parametrize("demux", [False, True])
def test_exec_run_alike(engine: tuple[str, str], tty: bool, demux: bool) -> None:
    url, image = engine
    stock, ours = clients(url)
    container = run(stock, image, False, ["sleep", "100"])
    try:
        for command in (["sh", "-c", SCRIPT], ["sh", "-c", "echo only out"], ["true"]):
            got = ours.containers.get(container.id).exec_run(command, tty=tty, demux=demux)
            want = stock.containers.get(container.id).exec_run(command, tty=tty, demux=demux)
            assert got.exit_code == want.exit_code
            if demux and not tty:
                assert got.output == want.output  # Nones where a stream was empty
            else:  # the engine interleaves two streams as they come: compare the lines
                # (every write is a whole line, so lines never merge)
                assert sorted(_lines(got.output)) == sorted(_lines(want.output))
    finally:
        container.remove(force=True)


def _lines(output: Any) -> list[bytes]:
    if isinstance(output, tuple):
        return [line for part in output if part for line in part.splitlines()]
    return output.splitlines() if output else []


def test_run_and_attach_alike(engine: tuple[str, str]) -> None:
    url, image = engine
    outputs = []
    for client in clients(url):
        outputs.append(client.containers.run(image, ["sh", "-c", "echo hi; echo there"],
                                              network_mode="none", remove=True))
        container = run(client, image, False, ["sh", "-c", "sleep 1; echo attached"])
        try:
            outputs.append(client.api.attach(container.id, stream=False, logs=True))
        finally:
            container.remove(force=True)
    assert outputs[:2] == outputs[2:]


def test_stdin_half_close_through_attach_socket(engine: tuple[str, str]) -> None:
    """A regression on stock docker-py: its attach socket has no shutdown, so
    stdin cannot be ended while the output is still read."""
    url, image = engine
    api = (docker.APIClient if os.environ.get("WIREPROTO_DOCKERPY_STOCK")
           else docker_py.APIClient)(base_url=url, version="1.41")
    made = api.create_container(image, ["cat"], stdin_open=True,
                                host_config=api.create_host_config(network_mode="none"))
    try:
        sock = api.attach_socket(made["Id"], params={"stdin": 1, "stdout": 1, "stream": 1})
        api.start(made["Id"])
        data = b"to cat and back\n" * 100
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)  # cat sees the end of its input and exits
        received = b""
        while chunk := sock.read(65536):
            received += chunk
        assert _payload(received) == data
    finally:
        api.remove_container(made["Id"], force=True)


def _payload(stream: bytes) -> bytes:
    from wireproto import mux

    return b"".join(bytes(p) for _, p in mux.Demuxer().feed(stream))
