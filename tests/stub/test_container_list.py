"""GET /containers/json: since, before, limit, size and filters, as each engine read them."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from tests.support.stub import raw
from wireproto.engine import StubEngine
from wireproto.versions import ApiVersion

V = ApiVersion


def call(engine: StubEngine, method: str, path: str, body: str = "") -> tuple[int, bytes]:
    request = (
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    )
    status, _, reply = raw(engine, request)
    return status, reply


def run(engine: StubEngine, name: str, cmd: list[str], **config: object) -> None:
    body = json.dumps({"Image": "busybox", "Cmd": cmd, **config})
    status, reply = call(engine, "POST", f"/containers/create?name={name}", body)
    assert status == 201, reply
    ident = json.loads(reply)["Id"]  # (before 1.6 the name is not read)
    assert call(engine, "POST", f"/containers/{ident}/start")[0] in (200, 204)


def names(engine: StubEngine, query: str, prefix: str = "") -> list[str]:
    status, reply = call(engine, "GET", f"{prefix}/containers/json?{query}")
    assert status == 200, reply
    return [row["Names"][0].lstrip("/") for row in json.loads(reply)]


def filters(value: dict[str, list[str]]) -> str:
    return "filters=" + quote(json.dumps(value))


@contextlib.contextmanager
def three_at(version: ApiVersion) -> Iterator[StubEngine]:
    """a (exited 0), b (exited 3, labelled), c (running); oldest first."""
    with StubEngine(api_version=version) as engine:
        engine.world.containers.clear()  # the script's own containers
        run(engine, "a", ["true"])
        run(engine, "b", ["sh", "-c", "exit 3"], Labels={"tier": "db"})
        run(engine, "c", ["sleep", "1000"])
        yield engine


@pytest.fixture(params=[V(1, 41), V(1, 12)], ids=["1.41", "1.12"])
def three(request: pytest.FixtureRequest) -> Iterator[StubEngine]:
    with three_at(request.param) as engine:
        yield engine


def test_default_all_and_limit(three: StubEngine) -> None:
    assert names(three, "") == ["c"]
    assert names(three, "all=1") == ["c", "b", "a"]
    assert names(three, "limit=2") == ["c", "b"]  # a limit shows stopped ones too
    assert call(three, "GET", "/containers/json?limit=x")[0] == 500


def test_query_since_and_before_up_to_1_12() -> None:
    with StubEngine(api_version=V(1, 12)) as engine:
        engine.world.containers.clear()
        for name in "abc":
            run(engine, name, ["true"])
        assert names(engine, "since=a") == ["c", "b"]  # stopped ones shown: since implies all
        assert names(engine, "before=c") == ["b", "a"]
        assert names(engine, "since=a&before=c") == ["b"]
        status, reply = call(engine, "GET", "/containers/json?since=nope")
        assert (status, reply) == (500, b"Could not find container with name or id nope\n")


def test_1_41_reads_since_and_before_from_filters_only() -> None:
    with StubEngine() as engine:
        engine.world.containers.clear()
        for name in "abc":
            run(engine, name, ["true"])
        assert names(engine, "all=1&since=a&before=c") == ["c", "b", "a"]  # ignored
        assert names(engine, "all=1&" + filters({"since": ["a"]})) == ["c", "b"]
        assert names(engine, "all=1&" + filters({"before": ["c"]})) == ["b", "a"]
        status, reply = call(engine, "GET", "/containers/json?" + filters({"since": ["nope"]}))
        assert (status, json.loads(reply)) == (404, {"message": "No such container: nope"})


def test_1_41_filters() -> None:
    with three_at(V(1, 41)) as three:
        _check_1_41_filters(three)


def _check_1_41_filters(three: StubEngine) -> None:
    assert names(three, filters({"status": ["exited"]})) == ["b", "a"]  # status implies all
    assert names(three, "all=1&" + filters({"exited": ["3"]})) == ["b"]
    assert names(three, filters({"exited": ["3"]})) == []  # exited alone does not show stopped
    assert names(three, "all=1&" + filters({"name": ["^/?b$"]})) == ["b"]
    assert names(three, "all=1&" + filters({"label": ["tier=db"]})) == ["b"]
    assert names(three, "all=1&" + filters({"label": ["tier=web"]})) == []
    ident = three.world.container("c")
    assert ident is not None
    assert names(three, "all=1&" + filters({"id": [ident.id[:10]]})) == ["c"]
    assert names(three, "all=1&" + filters({"ancestor": ["busybox"]})) == ["c", "b", "a"]
    assert names(three, "all=1&" + filters({"ancestor": ["nothing:here"]})) == []
    bad_key = call(three, "GET", "/containers/json?" + filters({"colour": ["red"]}))
    assert bad_key == (400, b'{"message":"Invalid filter \'colour\'"}\n')
    bad_state = call(three, "GET", "/containers/json?" + filters({"status": ["happy"]}))
    assert bad_state == (400, b'{"message":"Invalid filter \'status=happy\'"}\n')


@pytest.mark.row("containers.list.filters")
def test_1_12_filters_exited_and_status_and_none_before() -> None:
    with three_at(V(1, 12)) as three:
        _check_1_12_filters(three)


def _check_1_12_filters(three: StubEngine) -> None:
    assert names(three, "all=1&" + filters({"exited": ["3"]})) == ["b"]
    assert names(three, "all=1&" + filters({"status": ["running"]})) == ["c"]
    # 1.11 has no filters: the parameter is not read
    assert names(three, "all=1&" + filters({"exited": ["3"]}), "/v1.11") == ["c", "b", "a"]


def test_sizes_with_size_only_at_1_12_and_1_41(three: StubEngine) -> None:
    # engine.Env rows from docker v0.8 (1.9): a request's version does not bring them back
    old_prefix = "/v1.2" if three.api_version == V(1, 12) else "/v1.12"
    assert sizes(three, old_prefix, "") == {False}
    assert sizes(three, "", "") == {False}
    assert sizes(three, "", "&size=1") == {True}


@pytest.mark.row("containers.list.sizes_always", "containers.list.size")
@pytest.mark.parametrize(
    ("version", "always"),
    [(V(1, 0), False), (V(1, 1), True), (V(1, 8), True), (V(1, 9), False)],
    ids=["1.0", "1.1", "1.8", "1.9"],
)
def test_sizes_in_every_row_from_engines_of_1_1_to_1_8(version: ApiVersion, always: bool) -> None:
    """docker v0.4.1 .. v0.7.6 wrote SizeRw/SizeRootFs without omitempty; v0.3 had none."""
    with three_at(version) as engine:
        assert sizes(engine, "", "") == {always}
        assert sizes(engine, "", "&size=1") == {always or version >= V(1, 9)}


def sizes(engine: StubEngine, prefix: str, query: str) -> set[bool]:
    reply = call(engine, "GET", f"{prefix}/containers/json?all=1{query}")[1]
    return {"SizeRw" in row and "SizeRootFs" in row for row in json.loads(reply)}
