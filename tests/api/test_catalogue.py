"""The endpoint catalogue: request bytes at a low and a high version, refusals past the gates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from wireproto import api
from wireproto.api import gates
from wireproto.errors import LocalProtocolError, UnsupportedInVersion
from wireproto.exchange import Exchange
from wireproto.http import BodyKind, Call
from wireproto.versions import ApiVersion

V = ApiVersion
OLD, V12, NEW = V(1, 0), V(1, 12), V(1, 41)
DOC, EMPTY, BYTES, TAR, STDIO, STREAM = (
    BodyKind.DOCUMENT,
    BodyKind.EMPTY,
    BodyKind.BYTES,
    BodyKind.TAR,
    BodyKind.STDIO,
    BodyKind.JSONSTREAM,
)
# {"status":["exited"],"label":["a=b"]} as the query encoder writes it
EXITED_A_B = "%7B%22status%22%3A%5B%22exited%22%5D%2C%22label%22%3A%5B%22a%3Db%22%5D%7D"
DANGLING = "%7B%22dangling%22%3A%5B%22true%22%5D%7D"


def wire(call: Call) -> bytes:
    """Everything the exchange sends for ``call`` (request head and body)."""
    exchange = Exchange(call)
    out = b""
    while chunk := exchange.data_to_send():
        out += chunk
    return out


def request_line(call: Call) -> str:
    return wire(call).split(b"\r\n", 1)[0].decode()


def body_of(call: Call) -> bytes:
    return wire(call).split(b"\r\n\r\n", 1)[1]


Early = tuple[ApiVersion, BodyKind | None, tuple[int, ...] | None]
START_EARLY: tuple[Early, ...] = ((V(1, 3), None, (200,)), (V(1, 11), None, (204,)))
RAW_PROGRESS: tuple[Early, ...] = ((V(1, 0), BYTES, None),)


@dataclass(frozen=True)
class Row:
    """An endpoint: how to build it at a version, and what it must send and expect."""

    name: str
    build: Callable[[ApiVersion | None], Call]
    low: ApiVersion  # the oldest version that has it (as called here)
    line: str  # request line, with {v} for the version prefix
    kind: BodyKind
    statuses: tuple[int, ...]
    body: bytes = b""
    high: ApiVersion | None = NEW  # the newest version that has it
    hijack: bool = False
    # What differs at older versions: (up to this version, kind, statuses), oldest first;
    # None keeps the row's own.  Checked version by version in test_catalogue_versions.
    before: tuple[Early, ...] = ()

    def expected(self, version: ApiVersion | None) -> tuple[BodyKind, tuple[int, ...]]:
        for until, kind, statuses in self.before:
            if version is not None and version <= until:
                return kind or self.kind, statuses or self.statuses
        return self.kind, self.statuses


ROWS = [
    # --- containers ---
    Row("list_containers", lambda v: api.list_containers(v, all=True, limit=3),
        OLD, "GET {v}/containers/json?all=1&limit=3", DOC, (200,)),
    Row("list_containers.size", lambda v: api.list_containers(v, size=True),
        V(1, 3), "GET {v}/containers/json?size=1", DOC, (200,)),
    Row("list_containers.filters",
        lambda v: api.list_containers(v, all=True, filters={"status": ["exited"], "label": "a=b"}),
        V(1, 12), "GET {v}/containers/json?all=1&filters=" + EXITED_A_B, DOC, (200,)),
    Row("create_container", lambda v: api.create_container({"Image": "busybox"}, v),
        OLD, "POST {v}/containers/create", DOC, (201,), b'{"Image":"busybox"}'),
    Row("create_container.name",
        lambda v: api.create_container({"Image": "busybox"}, v, name="n"),
        V(1, 6), "POST {v}/containers/create?name=n", DOC, (201,), b'{"Image":"busybox"}'),
    Row("inspect_container", lambda v: api.inspect_container("c1", v),
        OLD, "GET {v}/containers/c1/json", DOC, (200,)),
    Row("top", lambda v: api.top("c1", v), V(1, 3), "GET {v}/containers/c1/top", DOC, (200,)),
    Row("top.ps_args", lambda v: api.top("c1", v, ps_args="aux"),
        V(1, 4), "GET {v}/containers/c1/top?ps_args=aux", DOC, (200,)),
    Row("logs", lambda v: api.logs("c1", v, follow=True, timestamps=True),
        V(1, 11), "GET {v}/containers/c1/logs?follow=1&stdout=1&stderr=1&timestamps=1",
        STDIO, (200,)),
    Row("logs.tail", lambda v: api.logs("c1", v, tail=10),
        V(1, 13), "GET {v}/containers/c1/logs?stdout=1&stderr=1&tail=10", STDIO, (200,)),
    Row("logs.since", lambda v: api.logs("c1", v, since=1700000000),
        V(1, 19), "GET {v}/containers/c1/logs?stdout=1&stderr=1&since=1700000000", STDIO, (200,)),
    Row("logs.until", lambda v: api.logs("c1", v, until="1700000000.5"),
        V(1, 35), "GET {v}/containers/c1/logs?stdout=1&stderr=1&until=1700000000.5",
        STDIO, (200,)),
    Row("changes", lambda v: api.changes("c1", v), OLD, "GET {v}/containers/c1/changes",
        DOC, (200,)),
    Row("export", lambda v: api.export("c1", v), OLD, "GET {v}/containers/c1/export",
        TAR, (200,)),
    Row("start", lambda v: api.start("c1", v), OLD, "POST {v}/containers/c1/start",
        EMPTY, (204, 304), before=START_EARLY),
    Row("start.host_config", lambda v: api.start("c1", v, host_config={"Privileged": False}),
        V(1, 3), "POST {v}/containers/c1/start", EMPTY, (204, 304), b'{"Privileged":false}',
        high=V(1, 23), before=START_EARLY),
    Row("stop", lambda v: api.stop("c1", v, timeout=5), OLD, "POST {v}/containers/c1/stop?t=5",
        EMPTY, (204, 304), before=((V(1, 11), None, (204,)),)),
    Row("restart", lambda v: api.restart("c1", v, timeout=0),
        OLD, "POST {v}/containers/c1/restart?t=0", EMPTY, (204,)),
    Row("kill", lambda v: api.kill("c1", v), OLD, "POST {v}/containers/c1/kill", EMPTY, (204,)),
    Row("kill.signal", lambda v: api.kill("c1", v, signal=1),
        V(1, 6), "POST {v}/containers/c1/kill?signal=1", EMPTY, (204,)),
    Row("kill.signal_name", lambda v: api.kill("c1", v, signal="SIGHUP"),
        V(1, 9), "POST {v}/containers/c1/kill?signal=SIGHUP", EMPTY, (204,)),
    Row("pause", lambda v: api.pause("c1", v), V(1, 12), "POST {v}/containers/c1/pause",
        EMPTY, (204,)),
    Row("unpause", lambda v: api.unpause("c1", v), V(1, 12), "POST {v}/containers/c1/unpause",
        EMPTY, (204,)),
    Row("attach", lambda v: api.attach("c1", v, stdin=True),
        OLD, "POST {v}/containers/c1/attach?logs=0&stream=1&stdin=1&stdout=1&stderr=1",
        STDIO, (101, 200), hijack=True),
    Row("attach.detach_keys", lambda v: api.attach("c1", v, detach_keys="ctrl-x"), V(1, 22),
        "POST {v}/containers/c1/attach?logs=0&stream=1&stdin=0&stdout=1&stderr=1"
        "&detachKeys=ctrl-x", STDIO, (101, 200), hijack=True),
    Row("attach_ws", lambda v: api.attach_ws("c1", v, logs=True),
        V(1, 4), "GET {v}/containers/c1/attach/ws?logs=1&stream=1&stdin=0&stdout=1&stderr=1",
        STDIO, (101,), hijack=True),
    Row("wait", lambda v: api.wait("c1", v), OLD, "POST {v}/containers/c1/wait", DOC, (200,)),
    Row("wait.condition", lambda v: api.wait("c1", v, condition="next-exit"),
        V(1, 30), "POST {v}/containers/c1/wait?condition=next-exit", DOC, (200,)),
    Row("remove_container", lambda v: api.remove_container("c1", v, volumes=True),
        OLD, "DELETE {v}/containers/c1?v=1", EMPTY, (204,)),
    Row("remove_container.force", lambda v: api.remove_container("c1", v, force=True),
        V(1, 10), "DELETE {v}/containers/c1?force=1", EMPTY, (204,)),
    Row("copy", lambda v: api.copy("c1", "/etc/hostname", v), V(1, 4),
        "POST {v}/containers/c1/copy", TAR, (200,), b'{"Resource":"/etc/hostname"}',
        high=V(1, 23)),
    Row("resize", lambda v: api.resize("c1", 24, 80, v), OLD,
        "POST {v}/containers/c1/resize?h=24&w=80", EMPTY, (200,)),
    # --- exec ---
    Row("exec_create", lambda v: api.exec_create("c1", ["echo", "hi"], v), V(1, 15),
        "POST {v}/containers/c1/exec", DOC, (201,),
        b'{"AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"Tty":false,'
        b'"Cmd":["echo","hi"]}'),
    Row("exec_create.env", lambda v: api.exec_create("c1", ["true"], v, env=["A=1"]), V(1, 25),
        "POST {v}/containers/c1/exec", DOC, (201,),
        b'{"AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"Tty":false,'
        b'"Cmd":["true"],"Env":["A=1"]}'),
    Row("exec_create.user", lambda v: api.exec_create("c1", ["true"], v, user="nobody"),
        V(1, 19), "POST {v}/containers/c1/exec", DOC, (201,),
        b'{"AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"Tty":false,'
        b'"Cmd":["true"],"User":"nobody"}'),
    Row("exec_create.workdir", lambda v: api.exec_create("c1", ["true"], v, workdir="/tmp"),
        V(1, 35), "POST {v}/containers/c1/exec", DOC, (201,),
        b'{"AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"Tty":false,'
        b'"Cmd":["true"],"WorkingDir":"/tmp"}'),
    Row("exec_start", lambda v: api.exec_start("e1", v), V(1, 15), "POST {v}/exec/e1/start",
        STDIO, (101, 200), b'{"Detach":false,"Tty":false}', hijack=True,
        before=((V(1, 20), None, (101, 200, 201)),)),
    Row("exec_start.detach", lambda v: api.exec_start("e1", v, detach=True), V(1, 15),
        "POST {v}/exec/e1/start", EMPTY, (200,), b'{"Detach":true,"Tty":false}',
        before=((V(1, 20), None, (200, 201)),)),
    Row("exec_resize", lambda v: api.exec_resize("e1", 24, 80, v), V(1, 15),
        "POST {v}/exec/e1/resize?h=24&w=80", EMPTY, (200, 201)),
    Row("exec_inspect", lambda v: api.exec_inspect("e1", v), V(1, 16), "GET {v}/exec/e1/json",
        DOC, (200,)),
    # --- images ---
    Row("list_images", lambda v: api.list_images(v, all=True), OLD, "GET {v}/images/json?all=1",
        DOC, (200,)),
    Row("list_images.filters", lambda v: api.list_images(v, filters={"dangling": "true"}),
        V(1, 12), "GET {v}/images/json?filters=" + DANGLING, DOC, (200,)),
    Row("list_images.filter", lambda v: api.list_images(v, filter="busybox"),
        OLD, "GET {v}/images/json?filter=busybox", DOC, (200,), high=V(1, 40)),
    Row("import_image.url", lambda v: api.import_image("http://x/r.tar", v, repo="r", tag="t"),
        OLD, "POST {v}/images/create?fromSrc=http%3A%2F%2Fx%2Fr.tar&repo=r&tag=t",
        STREAM, (200,), before=RAW_PROGRESS),
    Row("import_image.tar", lambda v: api.import_image(b"TAR", v, repo="r"),
        OLD, "POST {v}/images/create?fromSrc=-&repo=r", STREAM, (200,), b"TAR",
        before=RAW_PROGRESS),
    Row("insert", lambda v: api.insert("img", "/x", "http://h/f", v), OLD,
        "POST {v}/images/img/insert?path=%2Fx&url=http%3A%2F%2Fh%2Ff", STREAM, (200,),
        high=V(1, 11), before=RAW_PROGRESS),
    Row("viz", lambda v: api.viz(v), OLD, "GET {v}/images/viz", BYTES, (200,), high=V(1, 6)),
    Row("inspect_image", lambda v: api.inspect_image("busybox:latest", v), OLD,
        "GET {v}/images/busybox:latest/json", DOC, (200,)),
    Row("history", lambda v: api.history("busybox", v), OLD, "GET {v}/images/busybox/history",
        DOC, (200,)),
    Row("tag", lambda v: api.tag("busybox", "me/bb", v, tag="1"), OLD,
        "POST {v}/images/busybox/tag?repo=me%2Fbb&tag=1", EMPTY, (201,)),
    Row("tag.force", lambda v: api.tag("busybox", "me/bb", v, force=True), OLD,
        "POST {v}/images/busybox/tag?repo=me%2Fbb&force=1", EMPTY, (201,), high=V(1, 23)),
    Row("remove_image", lambda v: api.remove_image("me/bb:1", v), OLD,
        "DELETE {v}/images/me%2Fbb:1", DOC, (200,), before=((V(1, 1), EMPTY, (204,)),)),
    Row("remove_image.force_noprune", lambda v: api.remove_image("x", v, force=True,
        noprune=True), V(1, 10), "DELETE {v}/images/x?force=1&noprune=1", DOC, (200,)),
    Row("remove_image.noprune", lambda v: api.remove_image("x", v, noprune=True),
        V(1, 10), "DELETE {v}/images/x?noprune=1", DOC, (200,)),
    Row("search", lambda v: api.search("busy box", v), OLD, "GET {v}/images/search?term=busy%20box",
        DOC, (200,)),
    Row("get_image", lambda v: api.get_image("busybox", v), V(1, 7), "GET {v}/images/busybox/get",
        TAR, (200,)),
    Row("load_image", lambda v: api.load_image(b"TAR", v), V(1, 7), "POST {v}/images/load",
        STREAM, (200,), b"TAR"),
    # --- misc ---
    Row("ping", lambda v: api.ping(v), V(1, 11), "GET {v}/_ping", BYTES, (200,)),
    Row("engine_version", lambda v: api.engine_version(v), OLD, "GET {v}/version", DOC, (200,)),
    Row("info", lambda v: api.info(v), OLD, "GET {v}/info", DOC, (200,)),
    Row("default_auth", lambda v: api.default_auth(v), OLD, "GET {v}/auth", DOC, (200,),
        high=V(1, 1)),
    Row("login", lambda v: api.login({"username": "u", "password": "p"}, v), OLD,
        "POST {v}/auth", DOC, (200, 204), b'{"username":"u","password":"p"}'),
    Row("commit", lambda v: api.commit("c1", v, repo="r", tag="t", comment="why", author="me",
        config={"Cmd": ["sh"]}), OLD,
        "POST {v}/commit?container=c1&repo=r&tag=t&m=why&comment=why&author=me", DOC, (201,),
        b'{"Cmd":["sh"]}'),
]  # fmt: skip


def _line(row: Row, version: ApiVersion | None) -> str:
    prefix = version.prefix if version is not None else ""
    return row.line.format(v=prefix) + " HTTP/1.1"


def _versions(row: Row) -> list[ApiVersion | None]:
    chosen: list[ApiVersion | None] = [row.low]
    if row.high is not None:
        chosen.append(row.high)
        if row.high == NEW:
            chosen.append(None)  # unprefixed: the engine's newest
    return chosen


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_request_at_lowest_and_highest_version(row: Row) -> None:
    for version in _versions(row):
        call = row.build(version)
        assert request_line(call) == _line(row, version)
        assert (call.kind, call.statuses) == row.expected(version)
        assert call.hijack is row.hijack
        if row.body:
            sent = body_of(call)
            assert sent == row.body or row.body in sent  # chunked bodies are framed


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_refused_outside_its_versions(row: Row) -> None:
    if row.low != OLD:
        with pytest.raises(UnsupportedInVersion) as caught:
            row.build(V(row.low.major, row.low.minor - 1))
        assert f"needs API {row.low}" in str(caught.value)
        assert gates.gate(caught.value.feature)
    if row.high != NEW:
        assert row.high is not None
        with pytest.raises(
            UnsupportedInVersion, match=f"this call uses API 1.{row.high.minor + 1}"
        ):
            row.build(V(row.high.major, row.high.minor + 1))
        with pytest.raises(UnsupportedInVersion, match="unprefixed"):
            row.build(None)


def test_every_catalogue_function_has_a_row() -> None:
    covered = {row.name.split(".")[0] for row in ROWS}
    registry = {"pull", "push"}  # tested with the registry code (test_registry*, test_auth*)
    assert set(api.__all__) - registry <= covered


def test_the_catalogue_is_sans_io() -> None:
    """wireproto.api is core too: importing it pulls in no I/O or concurrency module."""
    import json
    import subprocess
    import sys

    probe = (
        "import json, sys; before = set(sys.modules); import wireproto.api, wireproto.ws; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    imported = {name.split(".")[0] for name in json.loads(result.stdout)}
    assert not imported & {"socket", "ssl", "asyncio", "trio", "selectors", "threading"}


def test_every_endpoint_and_parameter_gate_is_used_by_a_row() -> None:
    """Each ENDPOINT/PARAMETER gate is reached by some row of the catalogue (P3's stream
    endpoints, pull/push/build/events, have their gates checked in their own tests)."""
    refused: set[str] = set()
    for row in ROWS:
        if row.low != OLD:
            with pytest.raises(UnsupportedInVersion) as caught:
                row.build(V(row.low.major, row.low.minor - 1))
            refused.add(caught.value.feature)
        if row.high != NEW:
            with pytest.raises(UnsupportedInVersion) as caught:
                row.build(None)
            refused.add(caught.value.feature)
    theirs = {
        "events",
        "events.until",
        "events.filters",
        "images.create.registry",
        "registry_auth",
        "push.auth_body",  # tests/api/test_jsonstream_calls.py
        "build",
        "build.remote",
        "build.registry_auth",
        "build.registry_config",
        "build.forcerm",
        "build.nocache",
        "build.rm",
        "build.buildargs",  # these three: tests/cli/test_build.py
        "build.labels",
        "build.target",
    }  # tests/api/test_catalogue_versions.py checks the build rows
    wanted = {g.name for g in gates.GATES if g.kind is not gates.Kind.BEHAVIOUR} - theirs
    assert wanted <= refused, wanted - refused


def test_unset_parameters_are_not_sent() -> None:
    """An old engine never sees a parameter its version lacks when the caller left it unset."""
    assert request_line(api.remove_image("x", V(1, 9))) == "DELETE /v1.9/images/x HTTP/1.1"
    assert "force" not in request_line(api.remove_container("c", V(1, 9), force=False))


def test_path_parameters_are_quoted_and_checked() -> None:
    assert request_line(api.inspect_container("a/b c", V12)) == (
        "GET /v1.12/containers/a%2Fb%20c/json HTTP/1.1"
    )
    with pytest.raises(LocalProtocolError):
        api.inspect_container("", V12)
    with pytest.raises(LocalProtocolError):
        api.inspect_container("x\r\nHost: evil", V12)


def test_streamed_request_bodies_are_chunked() -> None:
    sent = wire(api.import_image(iter([b"ab", b"cd"]), V12))
    assert b"Transfer-Encoding: chunked" in sent
    assert sent.endswith(b"\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n")


def test_expects() -> None:
    start = api.start("c", V12)
    assert start.expects(204) and start.expects(304) and not start.expects(200)
    assert not api.start("c", V(1, 11)).expects(304)  # before the engines that send it
    assert Call(request=start.request, kind=EMPTY).expects(299)


def test_logs_refuses_tail_before_its_version() -> None:
    with pytest.raises(UnsupportedInVersion):
        api.logs("c", V12, tail="5")


def test_filters_are_sent_as_the_engines_map_of_lists() -> None:
    """``map[string][]string``: a lone string is one value; several values stay a list."""
    sent = api.list_containers(V12, filters={"status": ["exited", "created"], "label": "a"})
    assert request_line(sent) == (
        "GET /v1.12/containers/json?filters="
        "%7B%22status%22%3A%5B%22exited%22%2C%22created%22%5D%2C%22label%22%3A%5B%22a%22%5D%7D"
        " HTTP/1.1"
    )
    # Empty filters are not sent, so an old engine never sees the parameter.
    assert request_line(api.list_images(V(1, 11), filters={})) == "GET /v1.11/images/json HTTP/1.1"
    with pytest.raises(UnsupportedInVersion, match=r"images\.list\.filters"):
        api.list_images(V(1, 11), filters={"dangling": "true"})


def test_a_number_as_text_is_a_signal_number() -> None:
    """Only a name needs 1.9; "15" is the number 15 (1.6+)."""
    assert request_line(api.kill("c", V(1, 6), signal="15")).endswith("kill?signal=15 HTTP/1.1")
    with pytest.raises(UnsupportedInVersion, match="signal_name"):
        api.kill("c", V(1, 8), signal="TERM")


def test_tar_responses_have_their_own_kind() -> None:
    """A caller can tell a tar stream from other bytes by the call alone."""
    tars = [api.export("c", V12), api.copy("c", "/x", V12), api.get_image("i", V12)]
    assert {call.kind for call in tars} == {TAR}
    assert api.ping(V12).kind is BYTES


@pytest.mark.parametrize(
    ("build", "has", "lacks"),
    [
        (lambda v: api.create_container({"Image": "b"}, v, name="n"), (V(1, 6), V(1, 8)), V(1, 7)),
        (lambda v: api.kill("c", v, signal=9), (V(1, 6), V(1, 9)), V(1, 7)),
        (lambda v: api.kill("c", v, signal=9), (V(1, 6), V(1, 9)), V(1, 8)),
    ],
    ids=["create.name at 1.7", "kill.signal at 1.7", "kill.signal at 1.8"],
)
def test_a_parameter_the_references_drop_then_list_again(
    build: Callable[[ApiVersion | None], Call], has: tuple[ApiVersion, ...], lacks: ApiVersion
) -> None:
    """Create's name (1.6, 1.8+) and kill's signal (1.6, 1.9+) are refused in the gap only."""
    for version in has:
        build(version)
    with pytest.raises(UnsupportedInVersion, match=r"1\.6, 1\.[89]\+"):
        build(lacks)


def test_only_logs_that_end_by_themselves_are_bulk() -> None:
    """``Call.bulk`` (reads may be paced) is set by the catalogue, never guessed by an adapter."""
    assert api.logs("c", V12).bulk
    assert not api.logs("c", V12, follow=True).bulk
    assert not api.attach("c", V12, stream=True, stdout=True).bulk
    assert not api.ping(V12).bulk
