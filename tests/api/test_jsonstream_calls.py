"""The JSON-stream calls (pull, push, build, events): requests by version, and the streamed body."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import h11
import pytest

from wireproto.api.auth import AuthConfig, decode_auth, parse_reference
from wireproto.api.build import build
from wireproto.api.events import events
from wireproto.api.registry import pull, push
from wireproto.errors import UnsupportedInVersion
from wireproto.exchange import Exchange
from wireproto.http import BodyKind, Request
from wireproto.versions import ApiVersion

V = ApiVersion
PASSWORD = "wp-??????-~~~~~~-Pass"
AUTH = AuthConfig(username="u", password=PASSWORD, serveraddress="127.0.0.1:5001")


def query(req: Request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(req.target).query)


def header(req: Request, name: str) -> str | None:
    return dict(req.headers).get(name)


def test_pull() -> None:
    call = pull(parse_reference("127.0.0.1:5001/a/b:t1"), V(1, 12), auth=AUTH)
    assert call.kind is BodyKind.JSONSTREAM
    assert call.request.method == "POST"
    assert call.request.target.startswith("/v1.12/images/create?")
    assert query(call.request) == {"fromImage": ["127.0.0.1:5001/a/b"], "tag": ["t1"]}
    value = header(call.request, "X-Registry-Auth")
    assert value is not None and "+" not in value and "/" not in value
    assert decode_auth(value)["password"] == PASSWORD
    assert query(pull(parse_reference("busybox")).request)["tag"] == ["latest"]
    by_digest = pull(parse_reference("busybox@sha256:ab")).request
    assert query(by_digest)["tag"] == ["sha256:ab"]
    with pytest.raises(UnsupportedInVersion):
        pull(parse_reference("busybox"), V(1, 4), auth=AUTH)


def test_push_auth_by_version() -> None:
    call = push(parse_reference("127.0.0.1:5001/a:t1"), V(1, 12), auth=AUTH)
    assert call.request.target == "/v1.12/images/127.0.0.1:5001/a/push?tag=t1"
    assert decode_auth(header(call.request, "X-Registry-Auth") or "")["username"] == "u"
    assert call.request.body is None
    # Without credentials the header is still sent (empty config): engines read a
    # push without it as the pre-1.5 form and fail on the empty body.
    bare = push(parse_reference("r.example/a"), V(1, 12))
    assert decode_auth(header(bare.request, "X-Registry-Auth") or "") == {}
    assert "tag" not in query(bare.request)
    old = push(parse_reference("r.example/a:t"), V(1, 4), auth=AUTH)  # before 1.5: the body
    assert header(old.request, "X-Registry-Auth") is None
    assert isinstance(old.request.body, bytes)
    assert json.loads(old.request.body)["password"] == PASSWORD


@pytest.mark.parametrize("version", [V(1, 0), V(1, 1)], ids=str)
def test_push_at_1_0_and_1_1_has_no_body_and_refuses_auth(version: ApiVersion) -> None:
    """The v1.0 and v1.1 references' push has no body (the engine pushed with the login
    POST /auth stored); the body holds the auth config from v1.2's."""
    call = push(parse_reference("r.example/a:t"), version)
    assert call.request.body is None
    assert header(call.request, "X-Registry-Auth") is None
    assert header(call.request, "Content-Type") is None
    with pytest.raises(UnsupportedInVersion, match=r"push\.auth_body.*1\.2"):
        push(parse_reference("r.example/a:t"), version, auth=AUTH)
    two = push(parse_reference("r.example/a:t"), V(1, 2), auth=AUTH)
    assert isinstance(two.request.body, bytes) and json.loads(two.request.body)["username"] == "u"


def test_build_parameters_by_version() -> None:
    call = build(
        b"tar",
        V(1, 12),
        tag="x:y",
        nocache=True,
        forcerm=True,
        networkmode="none",
        registry_config={"127.0.0.1:5001": AUTH},
    )
    assert call.request.target.startswith("/v1.12/build?")
    assert query(call.request) == {
        "t": ["x:y"],
        "nocache": ["1"],
        "rm": ["1"],
        "forcerm": ["1"],
        "networkmode": ["none"],
    }
    assert header(call.request, "Content-Type") == "application/x-tar"
    assert header(call.request, "X-Registry-Config") is not None
    with pytest.raises(UnsupportedInVersion, match="forcerm"):
        build(b"tar", V(1, 11), forcerm=True)
    with pytest.raises(UnsupportedInVersion):
        build(b"tar", V(1, 8), registry_config={"r": AUTH})
    assert "forcerm" not in query(build(b"tar", V(1, 11)).request)


def test_events_parameters_by_version() -> None:
    call = events(V(1, 16), since="1", until="2", filters={"type": ["container"]})
    assert query(call.request) == {
        "since": ["1"],
        "until": ["2"],
        "filters": ['{"type":["container"]}'],
    }
    with pytest.raises(UnsupportedInVersion, match="until"):
        events(V(1, 10), until="2")
    with pytest.raises(UnsupportedInVersion, match="filters"):
        events(V(1, 15), filters={"type": ["container"]})  # filters: the v1.16 reference


def test_streamed_build_body_is_pulled_one_piece_at_a_time() -> None:
    # Backpressure: the exchange asks the body iterator for a piece only when
    # the I/O layer asks for bytes to send, i.e. when the socket took the last.
    pulled: list[int] = []

    def context() -> Iterator[bytes]:
        for i in range(3):
            pulled.append(i)
            yield b"x" * 1000

    exchange = Exchange(build(context(), V(1, 12)))
    head = exchange.data_to_send()
    assert b"Transfer-Encoding: chunked" in head and pulled == []
    first = exchange.data_to_send()
    assert pulled == [0] and first.startswith(b"3e8\r\n")
    exchange.data_to_send()
    assert pulled == [0, 1]
    exchange.data_to_send()
    assert exchange.data_to_send() == b"0\r\n\r\n"
    assert pulled == [0, 1, 2]
    server = h11.Connection(h11.SERVER)
    server.receive_data(head + first)
    assert isinstance(server.next_event(), h11.Request)
