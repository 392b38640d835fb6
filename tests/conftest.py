"""Fixtures every test module shares: the backends, input splitting, fake engines, adapters.

Helpers that are not fixtures live in ``tests/support``; test modules import from there,
never from one another.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.adapters import ADAPTERS, Adapter
from tests.support.jsonparsers import installed
from tests.support.sockets import FakeEngine, Handler
from wireproto import jsonstream, mux
from wireproto.adapters import _common, blocking
from wireproto.codec import backend as _backend

if TYPE_CHECKING:  # imported for real, the plugin module would escape pytest's assert rewriting
    from tests.support.engine import Engine

pytest_plugins = ["tests.support.engine"]

BACKENDS = ["python", "native"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each behavioural test runs once per backend; native skips only when not built."""
    name: str = request.param
    if name == "native" and _backend.load_native() is None:
        pytest.skip("the native module is not built")
    return name


@pytest.fixture
def demuxer_class(backend: str) -> type:
    return mux.demuxer_class(backend)


def whole(data: bytes) -> list[bytes]:
    return [data]


def byte_by_byte(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def random_splits(data: bytes, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, 1 + len(data) // 50)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=False)] if data else []


SPLITTERS: dict[str, Callable[[bytes], list[bytes]]] = {
    "whole": whole,
    "byte_by_byte": byte_by_byte,
    "random_splits": random_splits,
}


@pytest.fixture(params=list(SPLITTERS))
def split(request: pytest.FixtureRequest) -> Callable[[bytes], list[bytes]]:
    """Every decoder test feeds input three ways: whole, byte by byte, random splits."""
    return SPLITTERS[request.param]


def chunks_of(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


# --- fake engines on loopback and the three adapters ----------------------------------------


@pytest.fixture(params=["whole", "byte_by_byte"])
def delivery(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "byte_by_byte":
        monkeypatch.setattr(blocking, "RECV_SIZE", 1)
        monkeypatch.setattr(_common, "INITIAL_READ_SIZE", 1)
        monkeypatch.setattr(_common, "READ_LIMIT", 1)
    name: str = request.param
    return name


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[Callable[..., FakeEngine]]:
    engines: list[FakeEngine] = []

    def make(handler: Handler, trickle: bool = False) -> FakeEngine:
        engine = FakeEngine(tmp_path / f"engine{len(engines)}.sock", handler, trickle)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()


@pytest.fixture(params=ADAPTERS)
def adapter(request: pytest.FixtureRequest, backend: str) -> Adapter:
    return Adapter(request.param, backend)


@pytest.fixture(params=[name for name in ADAPTERS if name != "blocking"])
def async_adapter(request: pytest.FixtureRequest, backend: str) -> Adapter:
    """The async adapters alone: their streams can be asked again after an error."""
    return Adapter(request.param, backend)


@pytest.fixture(params=list(jsonstream.PARSERS))
def parser(request: pytest.FixtureRequest) -> str:
    """Each JSON-stream test runs once per parser; one that is not installed skips."""
    name: str = request.param
    if not installed(name):
        pytest.skip(f"{name} is not installed")
    return name


@pytest.fixture(scope="module")
def sleeper(engine: Engine) -> str:
    """A container running ``sleep 3600`` (one per module), removed at the end of the session."""
    cid = engine.docker("run", "-d", "--network", "none", engine.image, "sleep", "3600")
    container = cid.stdout.decode().strip()
    engine.containers.append(container)
    return container
