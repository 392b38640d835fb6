"""pull, push, build and events (docker-py's ``_stream_helper``) through stock
docker-py and through wireproto's client against the same engine: the stub
engine, and the real engine when there is one (marker ``engine``).

Each call runs first through stock docker-py, then through ours, and the two
answers must agree in items, their types, their order and the errors raised.
What differs between two runs by nature is masked, and only that:

- container and layer ids that a run makes anew (a failing RUN step runs in a
  fresh container: ``Running in <id>``; the stub engine names every step anew):
  hexadecimal ids of 12 or 64 digits become ``<id>``;
- nothing else: pushes and pulls are warmed up first so both measured runs
  see "Layer already exists" / "Image is up to date" (no transfer, so no
  progress counts), and the events are a past, bounded window (since/until),
  the same history for both reads.
"""

from __future__ import annotations

import io
import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from tests.integrations.test_docker_py_engines import engine
from wireproto.integrations import docker_py

__all__ = ["engine"]  # the fixture, shared with test_docker_py_engines

STUB_REGISTRY = ("127.0.0.1:5000", "wireproto", "stub-password")
_ID = re.compile(rb"\b(?:[0-9a-f]{64}|[0-9a-f]{12})\b")


@pytest.fixture(autouse=True)
def no_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Our client must read these streams itself: were it to hand one to stock docker-py,
    the comparison would hold trivially, so its fallback fails here (stock docker-py's own
    APIClient keeps its method and is untouched)."""

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("wireproto's client fell back to stock _stream_helper")

    monkeypatch.setitem(docker_py._STOCK, "_stream_helper", refused)


def apis(url: str) -> list[Any]:
    """Stock first, then ours: the order every comparison runs in."""
    return [docker.APIClient(base_url=url, version="1.41"),
            docker_py.APIClient(base_url=url, version="1.41")]


def registry(url: str) -> tuple[str, str, str]:
    """(address, user, password) of the engine's registry with credentials."""
    if real(url):
        return (os.environ["WIREPROTO_AUTH_REGISTRY"], os.environ["WIREPROTO_REGISTRY_USER"],
                os.environ["WIREPROTO_REGISTRY_PASSWORD"])
    return STUB_REGISTRY


def mask(item: Any) -> Any:
    """An item with the ids a run makes anew replaced (see the module doc)."""
    if isinstance(item, bytes):
        return _ID.sub(b"<id>", item)
    if isinstance(item, str):
        return _ID.sub(b"<id>", item.encode()).decode()
    if isinstance(item, dict):
        return {key: mask(value) for key, value in item.items()}
    if isinstance(item, list):
        return [mask(value) for value in item]
    return item


def outcome(call: Any) -> tuple[list[Any], list[type], BaseException | None]:
    """(masked items, their types, the error) of a streaming call."""
    items: list[Any] = []
    try:
        for item in call():
            items.append(item)
    except docker.errors.DockerException as exc:
        return [mask(i) for i in items], [type(i) for i in items], exc
    return [mask(i) for i in items], [type(i) for i in items], None


def assert_alike(stock: Any, ours: Any) -> list[Any]:
    """Both outcomes equal; the stock items (masked) for further checks."""
    want, got = outcome(stock), outcome(ours)
    assert got[:2] == want[:2]
    assert type(got[2]) is type(want[2])
    assert str(got[2]) == str(want[2])
    return want[0]


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def pushed(engine: tuple[str, str]) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(url, reference, auth_config): the test image tagged into the registry and pushed once,
    so the measured pushes and pulls move no layer."""
    url, image = engine
    address, user, password = registry(url)
    stock = docker.APIClient(base_url=url, version="1.41")
    repository = f"{address}/wp-p12/{unique('busybox')}"
    stock.tag(image, repository, "t1")
    auth = {"username": user, "password": password}
    for item in stock.push(repository, "t1", auth_config=auth, stream=True, decode=True):
        assert "error" not in item, item
    try:
        yield url, f"{repository}:t1", auth
    finally:
        stock.remove_image(f"{repository}:t1", force=True)


@pytest.mark.parametrize("decode", [True, False])
def test_push_alike(pushed: tuple[str, str, dict[str, str]], decode: bool) -> None:
    url, reference, auth = pushed
    repository, tag = reference.rsplit(":", 1)
    stock, ours = apis(url)
    items = assert_alike(
        lambda: stock.push(repository, tag, auth_config=auth, stream=True, decode=decode),
        lambda: ours.push(repository, tag, auth_config=auth, stream=True, decode=decode))
    assert items and b"digest" in _bytes(items)


def test_push_without_credentials_alike(pushed: tuple[str, str, dict[str, str]]) -> None:
    """The engine's refusal is an error item inside the stream: the same for both."""
    url, reference, _ = pushed
    repository, tag = reference.rsplit(":", 1)
    stock, ours = apis(url)
    # the stub checks only that a user is named; the real registry checks the password
    nobody = {"username": "nobody", "password": "wrong"} if real(url) else {}
    items = assert_alike(
        lambda: stock.push(repository, tag, auth_config=nobody, stream=True, decode=True),
        lambda: ours.push(repository, tag, auth_config=nobody, stream=True, decode=True))
    assert any("error" in item for item in items)


def real(url: str) -> bool:
    return url == os.environ.get("WIREPROTO_ENGINE_HOST")


@pytest.mark.parametrize("decode", [True, False])
def test_pull_alike(pushed: tuple[str, str, dict[str, str]], decode: bool) -> None:
    url, reference, auth = pushed
    repository, tag = reference.rsplit(":", 1)
    stock, ours = apis(url)
    items = assert_alike(
        lambda: stock.pull(repository, tag, auth_config=auth, stream=True, decode=decode),
        lambda: ours.pull(repository, tag, auth_config=auth, stream=True, decode=decode))
    assert items and b"Status" in _bytes(items)


def test_pull_missing_alike(engine: tuple[str, str]) -> None:
    """An image the registry does not have: the engine refuses before the stream (1.41)."""
    url, _ = engine
    address, user, password = registry(url)
    auth = {"username": user, "password": password}
    stock, ours = apis(url)
    missing = f"{address}/wp-p12/{unique('absent')}"
    assert_alike(lambda: stock.pull(missing, "t1", auth_config=auth, stream=True, decode=True),
                 lambda: ours.pull(missing, "t1", auth_config=auth, stream=True, decode=True))


def context(run: str, image: str) -> io.BytesIO:
    return io.BytesIO(f"FROM {image}\nRUN {run}\n".encode())


@pytest.mark.parametrize("decode", [True, False])
@pytest.mark.parametrize("run", ["true", "echo built && false"])
def test_build_alike(engine: tuple[str, str], run: str, decode: bool) -> None:
    url, image = engine
    stock, ours = apis(url)
    # a first build fills the cache, so a passing RUN is cached in both measured builds
    # (a failing step is never cached: it runs in both, in a new container each time)
    list(stock.build(fileobj=context(run, image), rm=True))
    items = assert_alike(
        lambda: stock.build(fileobj=context(run, image), rm=True, decode=decode),
        lambda: ours.build(fileobj=context(run, image), rm=True, decode=decode))
    failed = b"errorDetail" in _bytes(items)
    assert failed == (run != "true")


@pytest.mark.parametrize("run", ["true", "echo built && false"])
def test_images_build_alike(engine: tuple[str, str], run: str) -> None:
    """The high-level call: the image built, or the same BuildError."""
    url, image = engine
    results = []
    list(docker.APIClient(base_url=url, version="1.41").build(fileobj=context(run, image)))
    for client in (docker.DockerClient(base_url=url, version="1.41"),
                   docker_py.DockerClient(base_url=url, version="1.41")):
        try:
            built, log = client.images.build(fileobj=context(run, image), rm=True)
            results.append(("built", mask(built.id), mask(list(log))))
        except docker.errors.BuildError as exc:
            results.append(("failed", exc.msg, mask(list(exc.build_log))))
    assert results[0][0] == ("built" if run == "true" else "failed")
    assert results[1] == results[0]


@pytest.mark.parametrize("decode", [True, False])
def test_events_alike(engine: tuple[str, str], decode: bool) -> None:
    url, image = engine
    stock, ours = apis(url)
    name = f"wp-p12-events/{unique('tag')}"
    start = int(time.time()) - 1  # the engine runs on this machine: the same clock
    stock.tag(image, name, "t1")
    stock.remove_image(f"{name}:t1")
    until = int(time.time()) + 1
    while time.time() <= until + 0.5:  # a window in the past: the stream ends by itself
        time.sleep(0.2)
    # every image event of the window (another user's too: both reads see the same history)
    window = {"since": start, "until": until, "filters": {"type": "image"}}
    items = assert_alike(lambda: stock.events(decode=decode, **window),
                         lambda: ours.events(decode=decode, **window))
    documents = [json.loads(item) if isinstance(item, bytes) else item for item in items]
    # dockerd names the untagged image by its id, not the tag: look for the action only
    assert [d["Action"] for d in documents if name in json.dumps(d)][:1] == ["tag"]
    assert "untag" in [d["Action"] for d in documents]


def _bytes(items: list[Any]) -> bytes:
    return b"".join(item if isinstance(item, bytes) else json.dumps(item).encode()
                    for item in items)
