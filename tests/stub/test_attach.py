"""Attach against the stub engine: the docker CLI, docker-py, and the asyncio and trio adapters.

Output is compared byte for byte with ``Container.expected()``; stdin sent
comes back as stdout (the stub's container echoes it) until the half-close.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from collections.abc import Iterator

import pytest

from tests.support.stub import CLIS, docker
from wireproto import api
from wireproto.engine import Container, LogSpec, Script, StubEngine
from wireproto.engine.script import KIB

# attach_delay: the output follows the 101 as a running container's would (docker-py
# reads the head through a buffered reader and loses output that came with it)
LIVE = Container(
    "7" * 64,
    "live",
    running=True,
    exit_code=3,
    attach_delay=0.1,
    output=LogSpec(size=50 * KIB, mix="log", stderr_ratio=0.4, seed=9),
)
LIVE_TTY = Container(
    "8" * 64,
    "live-tty",
    tty=True,
    running=True,
    attach_delay=0.1,
    output=LogSpec(size=20 * KIB, mix="log", seed=4),
)
STDIN = b"hello from stdin\n" + bytes(range(256)) * 40


@pytest.fixture(scope="module")
def stub() -> Iterator[StubEngine]:
    with StubEngine(Script(containers=(LIVE, LIVE_TTY))) as server:
        yield server


@pytest.mark.skipif(not CLIS, reason="no docker CLI")
@pytest.mark.parametrize("cli", CLIS)
def test_docker_cli_attach(stub: StubEngine, cli: str) -> None:
    out, err = LIVE.expected()
    with_stdin = docker_input(cli, stub, STDIN, "attach", "live")
    assert (with_stdin.stdout, with_stdin.stderr) == (out + STDIN, err)
    assert with_stdin.returncode == 3  # the container's exit code, from wait
    no_stdin = docker(cli, stub, "attach", "--no-stdin", "live")
    assert (no_stdin.stdout, no_stdin.stderr, no_stdin.returncode) == (out, err, 3)
    tty = docker(cli, stub, "attach", "--no-stdin", "live-tty")
    assert (tty.stdout, tty.returncode) == (LIVE_TTY.expected()[0], 0)


def docker_input(
    cli: str, stub: StubEngine, data: bytes, *args: str
) -> subprocess.CompletedProcess[bytes]:
    """``docker -H stub ARGS`` with ``data`` on its stdin (the environment as ``docker()``'s)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env.update(DOCKER_CONFIG=os.path.join(os.path.dirname(stub.socket_path or ""), "c"))
    argv = [cli, "-H", stub.host, *args]
    return subprocess.run(argv, input=data, capture_output=True, env=env, timeout=60)


def test_docker_py_attach(stub: StubEngine) -> None:
    docker_py = pytest.importorskip("docker")
    client = docker_py.APIClient(base_url=stub.host, version="1.41")
    out, err = LIVE.expected()
    try:
        assert client.attach("live", stdout=True, stderr=True, demux=True) == (out, err)
        assert client.attach("live", stdout=True, stderr=False) == out
        assert b"".join(client.attach("live-tty", stream=True)) == LIVE_TTY.expected()[0]
        params = {"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
        stream = client.attach_socket("live", params=params)
        raw: socket.socket = stream._sock
        raw.sendall(STDIN)
        raw.shutdown(socket.SHUT_WR)
        got = bytearray()
        while piece := raw.recv(64 * KIB):
            got += piece
        stream.close()
        assert demux(bytes(got)) == (out + STDIN, err)
        assert client.wait("live")["StatusCode"] == 3
    finally:
        client.close()


def demux(data: bytes) -> tuple[bytes, bytes]:
    parts: dict[int, bytearray] = {1: bytearray(), 2: bytearray()}
    pos = 0
    while pos < len(data):
        size = int.from_bytes(data[pos + 4 : pos + 8], "big")
        parts[data[pos]] += data[pos + 8 : pos + 8 + size]
        pos += 8 + size
    return bytes(parts[1]), bytes(parts[2])


# --- the async adapters ----------------------------------------------------------------------


def test_attach_asyncio(stub: StubEngine, backend: str) -> None:
    from wireproto.adapters.asyncio import Client

    async def main() -> dict[int, bytes]:
        got: dict[int, bytes] = {1: b"", 2: b""}
        async with Client(stub.host, backend=backend) as client:
            session = await client.hijack(api.attach("live", stdin=True, tty=False))
            async with session:
                await session.send(STDIN)
                await session.close_stdin()
                async for stream, data in session:
                    got[stream] += bytes(data)
        return got

    got = asyncio.run(main())
    assert (got[1], got[2]) == (LIVE.expected()[0] + STDIN, LIVE.expected()[1])


def test_attach_trio(stub: StubEngine, backend: str) -> None:
    trio = pytest.importorskip("trio")
    from wireproto.adapters.trio import Client

    async def main() -> bytes:
        got = b""
        async with Client(stub.host, backend=backend) as client:
            session = await client.hijack(api.attach("live-tty", stdin=True, tty=True))
            async with session:
                await session.send(STDIN)
                await session.close_stdin()
                async for _, data in session:
                    got += bytes(data)
        return got

    assert trio.run(main) == LIVE_TTY.expected()[0] + STDIN
