"""The three adapters against the real engine: logs, attach with half-close, exec."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.engine_support import Engine
from tests.test_adapters import ADAPTERS, Adapter, collect
from wireproto import calls, mux
from wireproto.versions import ApiVersion

pytestmark = pytest.mark.engine

MIXED = (
    'for i in $(seq 1 300); do echo "out $i"; echo "err $i" >&2; done; '
    "head -c 100000 /dev/zero | tr '\\0' 'z'; printf 'no newline'"
)


@pytest.fixture(params=ADAPTERS)
def adapter(request: pytest.FixtureRequest, backend: str) -> Adapter:
    return Adapter(request.param, backend)


@pytest.fixture(scope="module")
def mixed(engine: Engine) -> str:
    return engine.run_container(["sh", "-c", MIXED])


@pytest.fixture(scope="module")
def sleeper(engine: Engine) -> str:
    cid = engine.docker("run", "-d", "--network", "none", engine.image, "sleep", "3600")
    container = cid.stdout.decode().strip()
    engine.containers.append(container)
    return container


@pytest.mark.parametrize("version", [ApiVersion(1, 12), None])
def test_logs_byte_exact_as_docker_logs(
    adapter: Adapter, engine: Engine, mixed: str, version: ApiVersion | None
) -> None:
    expected = engine.docker("logs", mixed)

    async def scenario() -> dict[int, bytearray]:
        async with (
            adapter.client(engine.host) as client,
            client.stream(calls.logs(mixed, version)) as events,
        ):
            return (await collect(events))[1]

    output = adapter.run(scenario)
    assert output[mux.STDOUT] == expected.stdout
    assert output[mux.STDERR] == expected.stderr


def test_attach_with_half_close(adapter: Adapter, engine: Engine) -> None:
    # create -i sets StdinOnce: stdin EOF closes cat's stdin, and the container exits.
    cid = engine.docker("create", "-i", "--network", "none", engine.image, "cat")
    container = cid.stdout.decode().strip()
    engine.containers.append(container)
    data = b"hello\n" + bytes(range(256)) * 64 + os.urandom(200_000) + b"\nno newline"

    async def scenario() -> dict[int, bytearray]:
        async with adapter.client(engine.host) as client:
            version = await client.negotiate()
            session = await client.hijack(calls.attach(container, version, stdin=True, tty=False))
            engine.docker("start", container)
            for start in range(0, len(data), 65536):
                await session.send(data[start : start + 65536])
            await session.close_stdin()
            output = (await collect(session.events()))[1]
            await session.aclose()
            return output

    output = adapter.run(scenario)
    assert output[mux.STDOUT] == data and output[mux.STDERR] == b""


def test_exec_with_stdin_and_exit_code(adapter: Adapter, engine: Engine, sleeper: str) -> None:
    payload = bytes(range(256)) * 1000

    async def scenario() -> tuple[dict[int, bytearray], Any]:
        async with adapter.client(engine.host) as client:
            await client.negotiate()
            command = ["sh", "-c", "cat; echo done >&2; exit 3"]
            created = (
                await client.request(calls.exec_create(sleeper, command, stdin=True))
            ).document
            exec_id = str(created["Id"])
            session = await client.hijack(calls.exec_start(exec_id))
            await session.send(payload)
            await session.close_stdin()
            output = (await collect(session.events()))[1]
            await session.aclose()
            inspected = (await client.request(calls.exec_inspect(exec_id))).document
            return output, inspected

    output, inspected = adapter.run(scenario)
    assert output[mux.STDOUT] == payload and output[mux.STDERR] == b"done\n"
    assert inspected["ExitCode"] == 3
