"""``POST /build`` by API version over real sockets: the tar body from 1.3, text output before
1.8 and a JSON stream with errorDetail after, q, rm/forcerm, remote and registry credentials."""

from __future__ import annotations

import pytest

from tests.stub.imagesupport import auth_header, context, engine_at, messages, send
from wireproto.engine import Image, Script, StubEngine
from wireproto.versions import ApiVersion

SIMPLE = context("FROM busybox\nRUN echo hi\n")


def build(engine: StubEngine, query: str = "", body: bytes = SIMPLE, **headers: str) -> bytes:
    status, _, reply = send(engine, "POST", "/build" + query, body, headers)
    assert status == 200, reply
    return reply


@pytest.mark.row("build")
def test_build_from_a_tar_only_from_1_3() -> None:
    with engine_at("1.2") as engine:
        status, _, body = send(engine, "POST", "/build", SIMPLE)
        assert (status, body) == (500, b"request Content-Type isn't multipart/form-data\n")
    with engine_at("1.3") as engine:
        reply = build(engine, "?t=made")
        assert reply.startswith(b"Step 0 : FROM busybox\n") and b"Successfully built " in reply
        assert engine.world.image("made") is not None


@pytest.mark.row("build.jsonstream")
def test_build_output_is_text_before_1_8_and_json_after() -> None:
    failing = context("FROM busybox\nRUN exit 3\n")
    with engine_at("1.7") as engine:
        reply = build(engine, body=failing)
        assert reply.endswith(
            b"Error build: The command [/bin/sh -c exit 3] returned a non-zero code: 3\n"
        )
    with engine_at("1.8") as engine:
        last = messages(build(engine, body=failing))[-1]
        assert last["errorDetail"] == {
            "code": 3,
            "message": "The command [/bin/sh -c exit 3] returned a non-zero code: 3",
        }
        assert messages(build(engine))[0] == {"stream": "Step 0 : FROM busybox\n"}


@pytest.mark.row("build.q")
def test_q_hides_the_run_output() -> None:
    with engine_at("1.3") as engine:
        assert b"\nhi\n" in build(engine)
    with engine_at("1.3") as engine:  # a fresh engine: no cached layer to hide the output
        assert b"\nhi\n" not in build(engine, "?q=1")
    with StubEngine() as engine:
        streams = [m["stream"] for m in messages(build(engine, "?q=1")) if "stream" in m]
        assert str(streams[0]).startswith("sha256:")


@pytest.mark.row("build.remote")
def test_remote_is_read() -> None:
    with engine_at("1.3") as engine:
        assert b"does not fetch http://127.0.0.1/ctx.tar" in build(
            engine, "?remote=http://127.0.0.1/ctx.tar"
        )


def _removes(engine: StubEngine, query: str) -> bool:
    return b"Removing intermediate container" in build(engine, query)


@pytest.mark.row("build.rm", "build.rm.default")
def test_rm_per_version() -> None:
    expected = {"1.4": False, "1.5": True, "1.6": False, "1.8": False, "1.9": True}
    for version, removed in expected.items():
        with engine_at(version) as engine:
            assert _removes(engine, "?rm=1") is removed, version
    with engine_at("1.11") as engine:
        assert not _removes(engine, "")
    with engine_at("1.12") as engine:  # rm by default from 1.12
        assert _removes(engine, "") and not _removes(engine, "?rm=0")


@pytest.mark.row("build.forcerm")
def test_forcerm_from_1_12() -> None:
    with engine_at("1.11") as engine:
        assert not _removes(engine, "?rm=0&forcerm=1")
    with engine_at("1.12") as engine:
        assert _removes(engine, "?rm=0&forcerm=1")


PRIVATE = "127.0.0.1:5000/base"
FROM_PRIVATE = context(f"FROM {PRIVATE}\n")
AUTH = {"username": "ann", "password": "pw"}


def private_engine(version: str) -> StubEngine:
    major, minor = version.split(".")
    script = Script(images=(Image("busybox"), Image(PRIVATE)))
    engine = StubEngine(script, api_version=ApiVersion(int(major), int(minor)))
    return engine


def _pulls(engine: StubEngine, **headers: str) -> bool:
    send(engine, "DELETE", f"/images/{PRIVATE}")
    return b"Successfully built" in build(engine, body=FROM_PRIVATE, **headers)


@pytest.mark.row("build.registry_auth", "build.registry_config", "build.registry_config.bare")
def test_build_credentials_per_version() -> None:
    one = auth_header(AUTH)
    wrapped = auth_header({"configs": {"127.0.0.1:5000": AUTH}})
    bare = auth_header({"127.0.0.1:5000": AUTH})
    cases = {
        "1.7": {"X-Registry-Auth": False},
        "1.8": {"X-Registry-Auth": True, "X-Registry-Config": False},
        "1.9": {"X-Registry-Auth": False, "X-Registry-Config": True, "bare": False},
        "1.41": {"X-Registry-Config": False, "bare": True},
    }
    values = {"X-Registry-Auth": one, "X-Registry-Config": wrapped, "bare": bare}
    for version, expected in cases.items():
        for name, pulls in expected.items():
            with private_engine(version) as engine:
                header = "X-Registry-Config" if name == "bare" else name
                assert _pulls(engine, **{header: values[name]}) is pulls, (version, name)
    with private_engine("1.12") as engine:
        assert not _pulls(engine)


@pytest.mark.row("build.nocache")
def test_a_second_build_uses_the_cache_unless_nocache_from_1_4() -> None:
    """The engines that build from a tar (1.3 on) reuse a step's layer; nocache (1.4+) says
    not to, and an engine of 1.3 ignores it."""
    for version, honoured in (("1.3", False), ("1.4", True), ("1.41", True)):
        with engine_at(version) as engine:
            first = build(engine)
            assert b"Using cache" not in first and b"Running in" in first
            again = build(engine)
            assert b"Using cache" in again and b"Running in" not in again
            fresh = build(engine, "?nocache=1")
            assert (b"Using cache" not in fresh) is honoured, (version, fresh)
