"""Requests, response heads and error mapping (wireproto.http, versions, framing)."""

from __future__ import annotations

import pytest

from wireproto import framing, http, versions
from wireproto.errors import APIError, Conflict, InvalidVersion, LocalProtocolError, NotFound
from wireproto.versions import ApiVersion


def test_target_with_version_and_query() -> None:
    target = http.target(
        "/containers/{}/logs",
        "my container",
        version=ApiVersion(1, 12),
        query={"stdout": True, "stderr": False, "tail": 10, "since": None, "x": ["a", "b"]},
    )
    assert target == "/v1.12/containers/my%20container/logs?stdout=1&stderr=0&tail=10&x=a&x=b"


def test_filters_are_json_encoded() -> None:
    query = http.encode_query({"filters": {"label": ["a=b", "c"]}})
    assert query == "filters=%7B%22label%22%3A%5B%22a%3Db%22%2C%22c%22%5D%7D"


def test_unversioned_target() -> None:
    assert http.target("/_ping") == "/_ping"


@pytest.mark.parametrize("bad", ["a\r\nX-Evil: 1", "a\nb", "a\x00b"])
def test_path_parameters_refuse_control_characters(bad: str) -> None:
    with pytest.raises(LocalProtocolError, match="control character"):
        http.target("/containers/{}/json", bad)


def test_query_values_cannot_inject() -> None:
    target = http.target("/x", query={"a": "1 HTTP/1.1\r\nHost: evil"})
    assert "\r" not in target and " " not in target


@pytest.mark.parametrize("target", ["/x HTTP/1.1\r\nHost: evil", "/x\n", "/a b", "relative", "/é"])
def test_raw_targets_are_checked(target: str) -> None:
    with pytest.raises(LocalProtocolError):
        http.Request(method="GET", target=target)


@pytest.mark.parametrize(
    ("name", "value"), [("X-A", "v\r\nX-Evil: 1"), ("X-A", "v\x00"), ("X A", "v"), ("X:A", "v")]
)
def test_header_injection_is_refused(name: str, value: str) -> None:
    with pytest.raises(LocalProtocolError):
        http.Request(method="GET", target="/x", headers=((name, value),))


def test_method_must_be_a_token() -> None:
    with pytest.raises(LocalProtocolError):
        http.Request(method="GET /x", target="/x")


def test_empty_path_parameter() -> None:
    with pytest.raises(LocalProtocolError, match="empty"):
        http.target("/containers/{}/json", "")


def test_json_body_request() -> None:
    request = http.request("POST", "/containers/{}/exec", "c1", json_body={"Cmd": ["true"]})
    assert request.body == b'{"Cmd":["true"]}'
    assert ("Content-Type", "application/json") in request.headers


def test_h11_request_headers() -> None:
    request = http.request("POST", "/containers/{}/attach", "c1")
    event = http.h11_request(request, host="docker", hijack=True)
    headers = {bytes(n): bytes(v) for n, v in event.headers}
    assert headers[b"host"] == b"docker"
    assert headers[b"user-agent"] == http.USER_AGENT.encode()
    assert headers[b"content-length"] == b"0"
    assert headers[b"connection"] == b"Upgrade" and headers[b"upgrade"] == b"tcp"


def test_response_properties() -> None:
    response = http.Response(
        status=200,
        reason="OK",
        headers=(
            ("api-version", "1.41"),
            ("content-type", "Application/JSON; charset=utf-8"),
            ("ostype", "linux"),
            ("docker-experimental", "true"),
        ),
    )
    assert response.api_version == "1.41"
    assert response.content_type == "application/json"
    assert response.os_type == "linux"
    assert response.experimental is True
    assert response.header("API-Version") == "1.41"
    assert response.header("missing") is None


@pytest.mark.parametrize(
    ("status", "body", "ctype", "cls", "message"),
    [
        (404, b"No such container: x\n", "text/plain", NotFound, "No such container: x"),
        (
            404,
            b'{"message":"No such container: x"}\n',
            "application/json",
            NotFound,
            "No such container: x",
        ),
        (409, b'{"message":"is not running"}', None, Conflict, "is not running"),
        (500, b"", "text/plain", APIError, "Internal Server Error"),
        (500, b"{not json", "application/json", APIError, "{not json"),
        (400, b'{"other":1}', "application/json", APIError, '{"other":1}'),
    ],
)
def test_api_errors(status: int, body: bytes, ctype: str | None, cls: type, message: str) -> None:
    headers = (("content-type", ctype),) if ctype else ()
    response = http.Response(status=status, reason=_reason(status), headers=headers)
    error = http.api_error(response, body, "/x")
    assert type(error) is cls
    assert error.status == status and error.message == message and error.body == body
    assert "/x" in str(error) and message in str(error)


def _reason(status: int) -> str:
    return {404: "Not Found", 409: "Conflict", 500: "Internal Server Error"}.get(status, "Bad")


# --- versions -------------------------------------------------------------


def test_versions_parse_and_order() -> None:
    assert versions.parse("1.12") == ApiVersion(1, 12)
    assert versions.parse("v1.41") > versions.parse("1.9")
    assert str(ApiVersion(1, 12)) == "1.12"
    assert ApiVersion(1, 12).prefix == "/v1.12"


@pytest.mark.parametrize("bad", ["", "1", "1.x", "one.two", "1.2.3", "1.12a"])
def test_bad_versions(bad: str) -> None:
    with pytest.raises(InvalidVersion):
        versions.parse(bad)


def test_negotiation() -> None:
    assert versions.choose(ApiVersion(1, 41)) == ApiVersion(1, 41)
    assert versions.choose(ApiVersion(1, 99)) == versions.NEWEST
    assert versions.choose(ApiVersion(1, 41), ApiVersion(1, 12)) == ApiVersion(1, 12)
    assert versions.choose(None) is None
    assert versions.from_environment({"DOCKER_API_VERSION": "1.24"}) == ApiVersion(1, 24)
    assert versions.from_environment({"DOCKER_API_VERSION": ""}) is None
    assert versions.from_ping_headers("1.41") == ApiVersion(1, 41)
    assert versions.from_ping_headers(None) is None
    assert versions.from_version_document({"ApiVersion": "1.12"}) == ApiVersion(1, 12)
    assert versions.from_version_document({"Version": "0.6"}) is None


def test_version_of_target() -> None:
    assert versions.of_target("/v1.12/containers/json") == ApiVersion(1, 12)
    assert versions.of_target("/containers/json") is None
    assert versions.of_target("/volumes") is None


# --- framing resolution ----------------------------------------------------

V141, V142 = ApiVersion(1, 41), ApiVersion(1, 42)


@pytest.mark.parametrize(
    ("content_type", "version", "tty", "endpoint", "kind", "why"),
    [
        (framing.MULTIPLEXED_STREAM, V142, None, "logs", "multiplexed", "Content-Type"),
        (framing.MULTIPLEXED_STREAM, V142, True, "logs", "multiplexed", "Content-Type"),
        (framing.RAW_STREAM, V142, None, "attach", "raw", "Content-Type"),
        (framing.RAW_STREAM, V142, False, "attach", "raw", "overrides the caller's tty=False"),
        (framing.RAW_STREAM, V141, False, "attach", "multiplexed", "caller passed tty=False"),
        (framing.RAW_STREAM, V141, True, "attach", "raw", "caller passed tty=True"),
        (None, ApiVersion(1, 5), None, "attach", "raw", "attach at API 1.5"),
    ],
)
def test_resolution(
    content_type: str | None,
    version: ApiVersion,
    tty: bool | None,
    endpoint: str,
    kind: str,
    why: str,
) -> None:
    chosen = framing.resolve(content_type=content_type, version=version, tty=tty, endpoint=endpoint)
    assert chosen is not None
    assert chosen.kind == kind and why in chosen.reason


def test_raw_stream_below_1_42_says_nothing() -> None:
    assert (
        framing.resolve(content_type=framing.RAW_STREAM, version=V141, tty=None, endpoint="attach")
        is None
    )


@pytest.mark.parametrize(
    ("prefix", "at_end", "kind"),
    [
        (b"\x01\x00\x00\x00", False, "multiplexed"),
        (b"\x03\x00\x00\x00rest", False, "multiplexed"),  # systemerr is a stream too
        (b"\x00\x00\x00\x00", False, "multiplexed"),
        (b"\x04\x00\x00\x00", False, "raw"),
        (b"\x01\x00\x01\x00", False, "raw"),
        (b"hello", False, "raw"),
        (b"\x01\x00", False, None),
        (b"\x01\x00", True, "raw"),
        (b"", True, "raw"),
    ],
)
def test_sniff(prefix: bytes, at_end: bool, kind: str | None) -> None:
    chosen = framing.sniff(prefix, at_end=at_end)
    assert (chosen.kind if chosen else None) == kind
