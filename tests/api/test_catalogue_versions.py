"""The catalogue against each version's reference: what changed, at the version it changed.

Each test names the version (and the reference or change-log entry) it checks.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest

from wireproto import api
from wireproto import exchange as ex
from wireproto.api import build as build_api
from wireproto.api import events as events_api
from wireproto.api import shapes
from wireproto.api.auth import AuthConfig, parse_reference
from wireproto.errors import UnsupportedInVersion
from wireproto.http import BodyKind, Call
from wireproto.versions import ApiVersion

V = ApiVersion
AUTH = AuthConfig(username="u", password="p", serveraddress="registry.test:5000")


def header(call: Call, name: str) -> str | None:
    found = [value for key, value in call.request.headers if key.lower() == name.lower()]
    return found[0] if found else None


def decoded(value: str | None) -> object:
    assert value is not None
    text = str.__str__(value)  # a SecretText prints hidden; the wire has its characters
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def received(call: Call, wire: bytes, backend: str) -> tuple[bytes, list[object]]:
    """The bytes handed out for ``wire`` as the response to ``call``, and the events."""
    exchange = ex.Exchange(call, backend=backend)
    exchange.data_to_send()
    exchange.receive_data(wire)
    exchange.receive_data(b"")
    data, events = bytearray(), []
    while (event := exchange.next_event()) not in (ex.NEED_DATA, ex.PAUSED):
        events.append(event)
        if isinstance(event, ex.Data):
            data += event.data
        if isinstance(event, ex.EndOfMessage):
            break
    return bytes(data), events


# --- build ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [V(1, 9), V(1, 12), V(1, 18)], ids=str)
def test_build_registry_config_is_wrapped_in_configs_from_1_9_to_1_18(version: ApiVersion) -> None:
    call = build_api.build(b"tar", version, registry_config={"registry.test:5000": AUTH})
    assert decoded(header(call, "X-Registry-Config")) == {
        "configs": {"registry.test:5000": AUTH.to_json()}
    }


@pytest.mark.parametrize("version", [V(1, 19), V(1, 41), None], ids=str)
def test_build_registry_config_is_a_bare_map_from_1_19(version: ApiVersion | None) -> None:
    call = build_api.build(b"tar", version, registry_config={"registry.test:5000": AUTH})
    assert decoded(header(call, "X-Registry-Config")) == {"registry.test:5000": AUTH.to_json()}


def test_build_auth_is_x_registry_auth_at_1_8_only() -> None:
    """The v1.8 reference documents X-Registry-Auth on build; v1.9 replaced it."""
    call = build_api.build(b"tar", V(1, 8), auth=AUTH)
    assert decoded(header(call, "X-Registry-Auth")) == AUTH.to_json()
    assert header(call, "X-Registry-Config") is None
    for version in (V(1, 7), V(1, 9), None):
        with pytest.raises(UnsupportedInVersion):
            build_api.build(b"tar", version, auth=AUTH)
    with pytest.raises(UnsupportedInVersion):
        build_api.build(b"tar", V(1, 8), registry_config={"r": AUTH})


@pytest.mark.parametrize("version", [V(1, 3), V(1, 5), V(1, 7)], ids=str)
def test_build_output_before_1_8_is_plain_text(version: ApiVersion, backend: str) -> None:
    """Change log 1.8: build "now returns build status as json stream"; before, text."""
    call = build_api.build(b"tar", version)
    assert call.kind is BodyKind.BYTES
    text = b"Step 1 : FROM base\n ---> 27cf78414709\nSuccessfully built 27cf78414709\n"
    wire = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (
        len(text),
        text,
    )
    data, _ = received(call, wire, backend)
    assert data == text


@pytest.mark.parametrize("version", [V(1, 8), V(1, 12), None], ids=str)
def test_build_output_from_1_8_is_a_json_stream(version: ApiVersion | None) -> None:
    assert build_api.build(b"tar", version).kind is BodyKind.JSONSTREAM


@pytest.mark.parametrize("version", [V(1, 0), V(1, 1), V(1, 2)], ids=str)
def test_build_is_refused_before_1_3(version: ApiVersion) -> None:
    """Change log 1.3: the tar context replaced the multipart upload, not reverse-compatible."""
    with pytest.raises(UnsupportedInVersion, match=r"needs API 1\.3"):
        build_api.build(b"tar", version)


def test_build_remote_sends_no_body() -> None:
    """remote (v1.3+ references): the engine fetches the context; no tar is sent."""
    call = build_api.build(None, V(1, 12), remote="https://git.test/repo.git", tag="t")
    line = bytes(call.request.target, "ascii") if isinstance(call.request.target, str) else b""
    assert b"remote=https%3A%2F%2Fgit.test%2Frepo.git" in line
    assert call.request.body is None
    assert header(call, "Content-Type") is None


def build_query(call: Call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.target).query)


@pytest.mark.parametrize(
    ("version", "sent"),
    [
        (V(1, 3), False),
        (V(1, 4), False),
        (V(1, 5), True),
        (V(1, 6), False),
        (V(1, 8), False),
        (V(1, 9), True),
        (V(1, 12), True),
        (None, True),
    ],
)
def test_build_rm_is_sent_only_where_the_reference_lists_it(
    version: ApiVersion | None, sent: bool
) -> None:
    """rm: in the v1.5 reference, not in v1.6's .. v1.8's, again from v1.9's.  Unset, it goes
    as the docker CLI sends it (rm=1) where the version has it; set, it is refused elsewhere."""
    assert build_query(build_api.build(b"tar", version)).get("rm") == (["1"] if sent else None)
    if sent:
        assert build_query(build_api.build(b"tar", version, rm=False))["rm"] == ["0"]
    else:
        with pytest.raises(UnsupportedInVersion, match=r"build\.rm"):
            build_api.build(b"tar", version, rm=True)


def test_build_nocache_from_1_4() -> None:
    """nocache: first in the v1.4 reference; q came with the tar body at 1.3."""
    assert build_query(build_api.build(b"tar", V(1, 4), nocache=True))["nocache"] == ["1"]
    assert build_query(build_api.build(b"tar", V(1, 3), quiet=True))["q"] == ["1"]
    with pytest.raises(UnsupportedInVersion, match=r"build\.nocache"):
        build_api.build(b"tar", V(1, 3), nocache=True)


# --- progress streams before 1.1 ----------------------------------------------------------------

REF = parse_reference("registry.test:5000/team/app:1")
PROGRESS_CALLS: dict[str, Callable[[ApiVersion | None], Call]] = {
    "pull": lambda v: api.pull(REF, v),
    "push": lambda v: api.push(REF, v),
    "import": lambda v: api.import_image(b"rootfs-tar", v, repo="r"),
    "insert": lambda v: api.insert("base", "/x", "https://files.test/x", v),
}


@pytest.mark.parametrize("name", sorted(PROGRESS_CALLS))
def test_progress_before_1_1_is_raw_text_and_a_json_stream_after(name: str, backend: str) -> None:
    """Change log 1.1: images/create, insert and push use a JSON stream "instead of HTML
    hijack" (the v1.0 reference answers application/vnd.docker.raw-stream)."""
    make_call = PROGRESS_CALLS[name]
    old = make_call(V(1, 0))
    assert old.kind is BodyKind.BYTES
    text = b"Downloading 3/12 MB\rDownloading 12/12 MB\nDone\n"
    wire = b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n" + text
    data, _ = received(old, wire, backend)
    assert data == text
    for version in (V(1, 1), V(1, 11)):
        assert make_call(version).kind is BodyKind.JSONSTREAM


def test_events_filters_from_1_16() -> None:
    """The v1.16 reference adds filters to GET /events; v1.15's has since and until only."""
    call = events_api.events(V(1, 16), filters={"event": ["die"]})
    assert "filters=%7B%22event%22%3A%5B%22die%22%5D%7D" in call.request.target
    for version in (V(1, 12), V(1, 15)):
        with pytest.raises(UnsupportedInVersion, match=r"needs API 1\.16"):
            events_api.events(version, filters={"event": ["die"]})
    assert "filters" not in events_api.events(V(1, 12)).request.target


@pytest.mark.parametrize("version", [V(1, 0), V(1, 12), V(1, 20)], ids=str)
def test_images_create_registry_until_1_20(version: ApiVersion) -> None:
    """Every reference from v1.0 to v1.20 lists registry on images/create; v1.21's does not."""
    pulled = api.pull(REF, version, registry="registry.test:5000")
    imported = api.import_image("https://files.test/rootfs.tar", version, registry="r.test")
    assert "registry=registry.test%3A5000" in pulled.request.target
    assert "registry=r.test" in imported.request.target
    for later in (V(1, 21), None):
        with pytest.raises(UnsupportedInVersion):
            api.pull(REF, later, registry="registry.test:5000")
        with pytest.raises(UnsupportedInVersion):
            api.import_image(b"tar", later, registry="r.test")


# --- success statuses, as each version's reference lists them ------------------------------------

# (call, {version: the statuses below 400 that version's reference lists}).
DOCUMENTED: dict[
    str, tuple[Callable[[ApiVersion | None], Call], dict[ApiVersion, tuple[int, ...]]]
] = {
    # start: 200 in v1.0 .. v1.3, 204 from v1.4, 304 "already started" documented from v1.13
    # and accepted from 1.12 (the oldest prefix today's engines serve answer it too).
    "start": (
        lambda v: api.start("c1", v),
        {V(1, 0): (200,), V(1, 3): (200,), V(1, 4): (204,), V(1, 11): (204,), V(1, 12): (204, 304)},
    ),
    # stop: 204, and 304 "already stopped" (documented from v1.13, accepted from 1.12).
    "stop": (
        lambda v: api.stop("c1", v),
        {V(1, 0): (204,), V(1, 11): (204,), V(1, 12): (204, 304)},
    ),
    # image delete: 204 in v1.0 and v1.1; the list (200) from the change log's 1.2.
    "remove_image": (
        lambda v: api.remove_image("x", v),
        {V(1, 0): (204,), V(1, 1): (204,), V(1, 2): (200,), V(1, 3): (200,), V(1, 12): (200,)},
    ),
    "create_container": (
        lambda v: api.create_container({}, v),
        {V(1, 0): (201,), V(1, 12): (201,)},
    ),
    "restart": (lambda v: api.restart("c1", v), {V(1, 0): (204,), V(1, 12): (204,)}),
    "kill": (lambda v: api.kill("c1", v), {V(1, 0): (204,), V(1, 12): (204,)}),
    "remove_container": (
        lambda v: api.remove_container("c1", v),
        {V(1, 0): (204,), V(1, 12): (204,)},
    ),
    "wait": (lambda v: api.wait("c1", v), {V(1, 0): (200,), V(1, 12): (200,)}),
    "tag": (lambda v: api.tag("x", "r", v), {V(1, 0): (201,), V(1, 12): (201,)}),
    "commit": (lambda v: api.commit("c1", v), {V(1, 0): (201,), V(1, 12): (201,)}),
    "login": (lambda v: api.login({}, v), {V(1, 0): (200, 204), V(1, 12): (200, 204)}),
    "copy": (lambda v: api.copy("c1", "/x", v), {V(1, 4): (200,), V(1, 12): (200,)}),
    "export": (lambda v: api.export("c1", v), {V(1, 0): (200,), V(1, 12): (200,)}),
    # exec start: the v1.15 .. v1.20 references list 201 (engines hijack with 200, or 101).
    "exec_start": (
        lambda v: api.exec_start("e1", v, detach=True),
        {V(1, 15): (200, 201), V(1, 20): (200, 201), V(1, 21): (200,), V(1, 41): (200,)},
    ),
    "get_image": (lambda v: api.get_image("x", v), {V(1, 8): (200,), V(1, 12): (200,)}),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_success_statuses_follow_the_reference_of_each_version(name: str) -> None:
    make_call, documented = DOCUMENTED[name]
    for version, statuses in documented.items():
        assert make_call(version).statuses == statuses, f"{name} at {version}"


@pytest.mark.parametrize("version", [V(1, 1), V(1, 2), V(1, 3)], ids=str)
def test_copy_is_refused_before_1_4(version: ApiVersion) -> None:
    """The v1.4 reference is the first with POST /containers/(id)/copy."""
    with pytest.raises(UnsupportedInVersion, match=r"needs API 1\.4"):
        api.copy("c1", "/x", version)


def test_image_delete_before_1_2_has_no_body() -> None:
    assert api.remove_image("x", V(1, 1)).kind is BodyKind.EMPTY
    assert api.remove_image("x", V(1, 2)).kind is BodyKind.DOCUMENT


# --- endpoints and parameters of the first versions -----------------------------------------------


@pytest.mark.parametrize("version", [V(1, 7), V(1, 8)], ids=str)
def test_commit_config_is_the_run_query_parameter_at_1_7_and_1_8(version: ApiVersion) -> None:
    """The v1.7 and v1.8 references: ``run``: the config applied when the image is run."""
    call = api.commit("c1", version, config={"Cmd": ["cat", "/world"]})
    assert "run=%7B%22Cmd%22%3A%5B%22cat%22%2C%22%2Fworld%22%5D%7D" in call.request.target
    assert call.request.body is None


@pytest.mark.parametrize("version", [V(1, 6), V(1, 9), V(1, 12), None], ids=str)
def test_commit_config_is_the_body_elsewhere(version: ApiVersion | None) -> None:
    call = api.commit("c1", version, config={"Cmd": ["sh"]})
    assert "run=" not in call.request.target
    assert call.request.body == b'{"Cmd":["sh"]}'


def test_images_viz_until_1_6_and_get_auth_until_1_1() -> None:
    """Change log 1.7: images/viz "no longer exists"; 1.2: GET /auth deprecated."""
    assert api.viz(V(1, 6)).request.target == "/v1.6/images/viz"
    assert api.viz(V(1, 6)).kind is BodyKind.BYTES  # text/plain, a Graphviz digraph
    assert api.default_auth(V(1, 1)).request.method == "GET"
    with pytest.raises(UnsupportedInVersion):
        api.viz(V(1, 7))
    with pytest.raises(UnsupportedInVersion):
        api.default_auth(V(1, 2))


# --- behaviour rows, read by the call they describe ---------------------------------------------


@pytest.mark.parametrize("tty", [False, None, True])
def test_attach_before_1_6_is_a_raw_stream_call(tty: bool | None) -> None:
    """Change log 1.6: the frame headers are new; before, stdout and stderr are merged."""
    assert api.attach("c1", V(1, 5), tty=tty).tty is True
    assert api.attach("c1", V(1, 6), tty=tty).tty is tty


def test_attach_at_1_5_hands_out_the_raw_bytes(backend: str) -> None:
    call = api.attach("c1", V(1, 5), tty=False)
    text = b"\x01\x00\x00\x00not a frame, raw output\n"
    wire = b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\n" + text
    exchange = ex.Exchange(call, backend=backend)
    exchange.data_to_send()
    exchange.receive_data(wire)
    out = bytearray()
    while (event := exchange.next_event()) not in (ex.NEED_DATA, ex.PAUSED):
        if isinstance(event, ex.Output):
            for _, piece in event.pieces:
                out += piece
    assert bytes(out) == text


def test_is_trusted_is_renamed_only_before_1_12() -> None:
    """Change log 1.12: is_trusted is now is_automated."""
    assert shapes.search_results([{"name": "a", "is_trusted": True}], V(1, 11)) == [
        {"name": "a", "is_automated": True}
    ]
    assert shapes.search_results([{"name": "a", "is_trusted": True}], V(1, 12)) == [
        {"name": "a", "is_trusted": True}
    ]
