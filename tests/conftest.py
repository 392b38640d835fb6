"""Fixtures every test module shares: the backends, and input splitting."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import pytest

from wireproto import mux
from wireproto.codec import backend as _backend

pytest_plugins = ["tests.engine_support"]

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
