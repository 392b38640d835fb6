"""The three adapters against the real engine and its registries.

logs byte-exact, attach with half-close, exec, WebSocket attach, push and
pull with progress (basic auth), build with progress and an in-band build
error, events (a window equal to ``docker events``, and a live stream the
caller cuts off): each scenario written once, run on blocking, asyncio and
trio, on both demuxer backends.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.adapters import ADAPTERS, Adapter, collect
from tests.support.engine import Engine, Registry
from wireproto import api, mux
from wireproto.api import build as build_api
from wireproto.api import events as events_api
from wireproto.api import registry as registry_api
from wireproto.api.auth import AuthConfig, parse_reference
from wireproto.api.buildcontext import tar_context
from wireproto.api.containers import attach_ws
from wireproto.errors import BuildError, PullError, PushError, StreamMessageError
from wireproto.exchange import Data, EndOfMessage, Output
from wireproto.http import Call, Response
from wireproto.progress import EngineEvent, JSONMessage, MessageDecoder, Progress, check
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


@pytest.mark.parametrize("version", [ApiVersion(1, 12), None])
def test_logs_byte_exact_as_docker_logs(
    adapter: Adapter, engine: Engine, mixed: str, version: ApiVersion | None
) -> None:
    expected = engine.docker("logs", mixed)

    async def scenario() -> dict[int, bytearray]:
        async with (
            adapter.client(engine.host) as client,
            client.stream(api.logs(mixed, version)) as events,
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
            session = await client.hijack(api.attach(container, version, stdin=True, tty=False))
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
            created = (await client.request(api.exec_create(sleeper, command, stdin=True))).document
            exec_id = str(created["Id"])
            session = await client.hijack(api.exec_start(exec_id))
            await session.send(payload)
            await session.close_stdin()
            output = (await collect(session.events()))[1]
            await session.aclose()
            inspected = (await client.request(api.exec_inspect(exec_id))).document
            return output, inspected

    output, inspected = adapter.run(scenario)
    assert output[mux.STDOUT] == payload and output[mux.STDERR] == b"done\n"
    assert inspected["ExitCode"] == 3


# --- WebSocket attach --------------------------------------------------------------------------


def test_ws_attach_echo_through_cat(adapter: Adapter, engine: Engine) -> None:
    cid = engine.docker("create", "-i", "--network", "none", engine.image, "cat")
    container = cid.stdout.decode().strip()
    engine.containers.append(container)
    engine.docker("start", container)
    data = b"over the websocket\n" + bytes(range(256)) * 200

    async def scenario() -> tuple[bytes, int | None]:
        async with adapter.client(engine.host) as client:
            version = await client.negotiate()
            session = await client.attach_ws(attach_ws(container, version, stdin=True))
            assert session.response.status == 101
            await session.send(data)
            got = bytearray()
            async for event in session.events():
                if isinstance(event, Output):
                    got += b"".join(bytes(p) for _, p in event.pieces)
                    if len(got) >= len(data):
                        await session.close_stdin()  # a close frame: the engine answers it
                assert not isinstance(event, EndOfMessage) or len(got) >= len(data)
            await session.aclose()
            return bytes(got), session.ws.close_code

    got, close_code = adapter.run(scenario)
    assert got == data
    assert close_code is not None  # the engine answered our close frame


# --- JSON streams: push, pull, build, events ---------------------------------------------------


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def basic_auth(registry: Registry) -> AuthConfig:
    assert registry.user and registry.password
    return AuthConfig(
        username=registry.user, password=registry.password, serveraddress=registry.address
    )


async def run_messages(client: Any, call: Call, error: type[StreamMessageError]) -> list[Any]:
    """The typed messages of a JSON-stream call; an in-band error raises ``error``."""
    decoder = MessageDecoder()
    messages: list[JSONMessage] = []
    async with client.stream(call) as events:
        async for event in events:
            if isinstance(event, Response):
                assert event.status == 200
            elif isinstance(event, Data):
                messages += decoder.feed(event.data)
    messages += decoder.close()
    return [check(message, error) for message in messages]


def fresh_image(engine: Engine, name: str) -> None:
    """``name``: the test image plus a layer of random bytes no registry has seen."""
    cid = engine.run_container(["sh", "-c", "head -c 300000 /dev/urandom > /blob"])
    engine.docker("commit", cid, name)


def test_push_then_pull_with_progress(
    adapter: Adapter, engine: Engine, auth_registry: Registry
) -> None:
    name = f"{auth_registry.address}/wp-p5/{unique(adapter.name)}:t1"
    fresh_image(engine, name)
    image = parse_reference(name)

    async def scenario() -> tuple[list[Any], list[Any]]:
        async with adapter.client(engine.host) as client:
            version = await client.negotiate()
            auth = basic_auth(auth_registry)
            push = registry_api.push(image, version, auth=auth)
            pushed = await run_messages(client, push, PushError)
            engine.docker("rmi", name)
            pull = registry_api.pull(image, version, auth=auth)
            return pushed, await run_messages(client, pull, PullError)

    try:
        pushed, pulled = adapter.run(scenario)
        engine.docker("image", "inspect", name)  # pulled back
    finally:
        engine.docker("rmi", "--force", name, check=False)
    assert any((m.aux or {}).get("Digest", "").startswith("sha256:") for m in pushed), pushed
    for messages, done in ((pushed, "Pushed"), (pulled, "Pull complete")):
        progress = Progress()
        for message in messages:
            progress.update(message)
        moving = [m for m in messages if m.counts() and m.counts()[1]]
        assert moving, f"no progress counts in {messages}"  # the random layer moved
        assert any(m.status == done for m in messages)
        assert progress.bytes_total > 0
    assert any(note.startswith("Status: Downloaded newer image") for note in progress.notes)


def test_push_with_a_wrong_password_raises_push_error(
    adapter: Adapter, engine: Engine, auth_registry: Registry
) -> None:
    name = f"{auth_registry.address}/wp-p5/{unique('denied')}:t1"
    engine.docker("tag", engine.image, name)
    wrong = AuthConfig(username="nobody", password="wrong", serveraddress=auth_registry.address)

    async def scenario() -> None:
        async with adapter.client(engine.host) as client:
            call = registry_api.push(parse_reference(name), await client.negotiate(), auth=wrong)
            await run_messages(client, call, PushError)

    try:
        with pytest.raises(PushError):
            adapter.run(scenario)
    finally:
        engine.docker("rmi", "--force", name, check=False)


def write_context(root: Path, run: str) -> None:
    (root / "Dockerfile").write_text(f"FROM {IMAGE_TAG}\nCOPY . /ctx/\nRUN {run}\n")
    (root / "data.txt").write_text("payload\n" * 1000)


IMAGE_TAG = "wireproto-busybox:test"


def test_build_with_progress(adapter: Adapter, engine: Engine, tmp_path: Path) -> None:
    assert engine.image == IMAGE_TAG
    write_context(tmp_path, "wc -l /ctx/data.txt > /ctx/count")
    tag = f"wp-p5-build:{unique(adapter.name)}"

    async def scenario() -> list[Any]:
        async with adapter.client(engine.host) as client:
            version = await client.negotiate()
            call = build_api.build(tar_context(tmp_path), version, tag=tag, networkmode="none")
            return await run_messages(client, call, BuildError)

    try:
        messages = adapter.run(scenario)
        cid = engine.run_container(["cat", "/ctx/count"], image=tag)
        assert engine.docker("logs", cid).stdout.split()[0] == b"1000"
    finally:
        engine.docker("rmi", "--force", tag, check=False)
    text = "".join(m.stream or "" for m in messages)
    assert "Step 1/3" in text and "Step 3/3" in text and "Successfully built" in text


def test_build_failure_raises_build_error_with_its_code(
    adapter: Adapter, engine: Engine, tmp_path: Path
) -> None:
    write_context(tmp_path, "exit 7")

    async def scenario() -> None:
        async with adapter.client(engine.host) as client:
            version = await client.negotiate()
            call = build_api.build(tar_context(tmp_path), version, forcerm=True, networkmode="none")
            await run_messages(client, call, BuildError)

    with pytest.raises(BuildError) as raised:
        adapter.run(scenario)
    assert raised.value.code == 7


def test_events_window_as_docker_events(adapter: Adapter, engine: Engine) -> None:
    cid, since, until = engine.container_lifetime()
    filters = {"container": [cid]}

    async def scenario() -> list[Any]:
        async with adapter.client(engine.host) as client:
            version = await client.negotiate()
            call = events_api.events(version, since=since, until=until, filters=filters)
            return await run_messages(client, call, StreamMessageError)

    ours = [m.raw for m in adapter.run(scenario)]
    window = ["--since", since, "--until", until, "--filter", f"container={cid}"]
    theirs = engine.docker("events", *window, "--format", "{{json .}}").stdout.decode()
    assert ours == [json.loads(line) for line in theirs.splitlines()]
    actions = [EngineEvent.from_value(raw).action for raw in ours]
    assert actions[:2] == ["create", "start"] and "die" in actions and actions[-1] == "destroy"


def test_live_events_cut_off_by_the_caller(adapter: Adapter, engine: Engine) -> None:
    label = unique("wp-p5-events")

    async def scenario() -> EngineEvent:
        async with adapter.client(engine.host) as client:
            call = events_api.events(await client.negotiate(), filters={"label": [label]})
            decoder = MessageDecoder()
            async with client.stream(call) as events:
                async for event in events:
                    if isinstance(event, Response):  # the engine listens now: make an event
                        engine.run_container(["true"], extra_args=["--label", label])
                    elif isinstance(event, Data) and (values := decoder.feed(event.data)):
                        return EngineEvent.from_value(values[0].raw)  # leaves the stream open
        raise AssertionError("the events stream ended")

    first = adapter.run(scenario)
    assert first.action == "create" and first.type == "container"
    assert engine.docker("version").returncode == 0
