"""The ways in: APIClient, DockerClient.from_env, adopt, install/uninstall; and
close() of a stream from another thread."""

from __future__ import annotations

import threading
import time

import docker
import pytest

from tests.integrations.scripted import CONTAINER, frames, inspect, scripted
from wireproto.integrations import docker_py
from wireproto.integrations._socket import HeadSocket

ATTACH = f"/containers/{CONTAINER}/attach"
HEAD = (
    b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
    b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
)


def attach_socket_type(client: docker.APIClient) -> type:
    script = {ATTACH: HEAD + frames((1, b"x")), f"/containers/{CONTAINER}/json": inspect(False)}
    with scripted(script) as url:
        client.base_url = url.replace("tcp://", "http://")
        return type(client.attach_socket(CONTAINER, params={"stdout": 1, "stream": 1}))


def test_from_env_adopt_install_uninstall(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    client = docker_py.DockerClient.from_env(version="1.41")
    assert isinstance(client.api, docker_py.APIClient)
    plain = docker.APIClient(base_url="tcp://127.0.0.1:9", version="1.41")
    assert attach_socket_type(plain) is not HeadSocket
    assert docker_py.adopt(plain) is plain
    assert attach_socket_type(plain) is HeadSocket
    other = docker.APIClient(base_url="tcp://127.0.0.1:9", version="1.41")
    docker_py.install()
    try:
        assert docker_py.installed()
        assert attach_socket_type(other) is HeadSocket
    finally:
        docker_py.uninstall()
    assert not docker_py.installed()
    assert attach_socket_type(other) is not HeadSocket


def test_adopt_refuses_what_is_not_a_client() -> None:
    with pytest.raises(TypeError):
        docker_py.adopt(object())


def test_close_from_another_thread_ends_a_logs_stream() -> None:
    first = frames((1, b"first\n"))
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
    head += b"Transfer-Encoding: chunked\r\n\r\n"
    # One chunk, and then nothing: the stream stays open (follow=True).
    answer = head + b"%x\r\n%s\r\n" % (len(first), first)
    script = {
        f"/containers/{CONTAINER}/logs": answer,
        f"/containers/{CONTAINER}/json": inspect(False),
    }
    with scripted(script) as url:
        client = docker_py.APIClient(base_url=url, version="1.41")
        stream = client.logs(CONTAINER, stream=True, follow=True)
        got: list[bytes] = []
        reader = threading.Thread(target=lambda: got.extend(stream))
        reader.start()
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
        stream.close()
        reader.join(10)
        assert not reader.is_alive()
        assert got == [b"first\n"]


