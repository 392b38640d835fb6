"""The real engine closing first: a WebSocket attach to a finished container, a refused build.

Strategy: what the loopback fakes of ``tests/adapters/test_faults.py`` show, checked
against dockerd itself, on the three adapters and both backends, and
repeated where a race decides (dockerd's close frame and hang-up against our
close echo).  The CLI runs as a shell runs it: a subprocess with SIGPIPE at
its default disposition.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.adapters import ADAPTERS, Adapter, collect
from tests.support.engine import Engine
from wireproto import mux
from wireproto.api import build as build_api
from wireproto.api.containers import attach_ws
from wireproto.errors import APIError
from wireproto.exchange import EndOfMessage
from wireproto.versions import ApiVersion

pytestmark = pytest.mark.engine

TEXT = "first line\nsecond line\n\tindented third\nlast line, no newline"
RUNS = 20
BAD_TAG = "Bad Tag!!"
# dockerd 20.10 checks the tag before reading the context, and says so.
ENGINE_MESSAGE = "invalid reference format"


@pytest.fixture(params=ADAPTERS)
def adapter(request: pytest.FixtureRequest, backend: str) -> Adapter:
    return Adapter(request.param, backend)


@pytest.fixture(scope="module")
def printed(engine: Engine) -> str:
    """A container that printed TEXT and exited."""
    return engine.run_container(["printf", "%s", TEXT])


@pytest.mark.parametrize(
    "version", [ApiVersion(1, 12), ApiVersion(1, 27), ApiVersion(1, 28), None], ids=str
)
def test_ws_attach_to_a_finished_container_gives_its_output_every_time(
    adapter: Adapter, engine: Engine, printed: str, version: ApiVersion | None
) -> None:
    call = attach_ws(printed, version, logs=True, stream=False)

    async def scenario() -> tuple[bytes, bool]:
        async with adapter.client(engine.host) as client:
            session = await client.attach_ws(call)
            events, output = await collect(session.events())
            await session.aclose()
            return bytes(output[mux.STDOUT]), isinstance(events[-1], EndOfMessage)

    results = [adapter.run(scenario) for _ in range(RUNS)]
    assert results == [(TEXT.encode(), True)] * RUNS


CONTEXT_CHUNKS = 800  # 800 x 64 KiB: a 50 MiB context


def context() -> Iterator[bytes]:
    for _ in range(CONTEXT_CHUNKS):
        yield b"\0" * 65536


def test_build_with_a_bad_tag_and_a_big_context_gives_the_engine_message(
    adapter: Adapter, engine: Engine
) -> None:
    async def scenario() -> None:
        async with adapter.client(engine.host) as client:
            version = await client.negotiate()
            await client.request(build_api.build(context(), version, tag=BAD_TAG))

    with pytest.raises(APIError, match=ENGINE_MESSAGE) as caught:
        adapter.run(scenario)
    assert caught.value.status in (400, 500)  # 500 before dockerd 23


def test_cli_build_with_a_bad_tag_prints_the_engine_message(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    with (tmp_path / "big.bin").open("wb") as big:
        for _ in range(CONTEXT_CHUNKS):
            big.write(os.urandom(65536))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    command = [sys.executable, "-m", "wireproto", "-H", engine.host]
    # restore_signals (the default) gives the child SIGPIPE's default disposition.
    proc = subprocess.run(
        [*command, "build", "-t", BAD_TAG, str(tmp_path)],
        env=env,
        capture_output=True,
        timeout=120,
        restore_signals=True,
    )
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    assert ENGINE_MESSAGE in proc.stderr.decode()
