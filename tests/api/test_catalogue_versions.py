"""The catalogue against each version's reference: what changed, at the version it changed.

Each test names the version (and the reference or change-log entry) it checks.
"""

from __future__ import annotations

import base64
import json

import pytest

from wireproto import exchange as ex
from wireproto.api import build as build_api
from wireproto.api.auth import AuthConfig
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


def received(call: Call, wire: bytes) -> tuple[bytes, list[object]]:
    """The bytes handed out for ``wire`` as the response to ``call``, and the events."""
    exchange = ex.Exchange(call)
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
def test_build_output_before_1_8_is_plain_text(version: ApiVersion) -> None:
    """Change log 1.8: build "now returns build status as json stream"; before, text."""
    call = build_api.build(b"tar", version)
    assert call.kind is BodyKind.BYTES
    text = b"Step 1 : FROM base\n ---> 27cf78414709\nSuccessfully built 27cf78414709\n"
    wire = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (
        len(text),
        text,
    )
    data, _ = received(call, wire)
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
