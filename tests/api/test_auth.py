"""X-Registry-Auth / X-Registry-Config encoding and image references."""

from __future__ import annotations

import base64
import json

import pytest

from wireproto.api.auth import (
    AuthConfig,
    decode_auth,
    encode_auth,
    encode_config,
    parse_reference,
)
from wireproto.errors import LocalProtocolError

# The test registry's password (scripts/engine.sh): its standard base64 holds '+' and '/'.
PASSWORD = "wp-??????-~~~~~~-Pass"


def test_auth_header_is_urlsafe_base64_of_the_json() -> None:
    config = AuthConfig(username="wireproto", password=PASSWORD, serveraddress="127.0.0.1:5001")
    value = encode_auth(config)
    document = json.dumps(config.to_json(), separators=(",", ":")).encode()
    standard = base64.b64encode(document).decode()
    assert "+" in standard and "/" in standard  # the trap the test credentials set
    assert "+" not in value and "/" not in value
    assert value == base64.urlsafe_b64encode(document).decode()
    assert decode_auth(value) == {
        "username": "wireproto",
        "password": PASSWORD,
        "serveraddress": "127.0.0.1:5001",
    }


def test_identity_token_and_empty_fields() -> None:
    config = AuthConfig(identitytoken="tok", serveraddress="r.example")
    assert decode_auth(encode_auth(config)) == {
        "identitytoken": "tok",
        "serveraddress": "r.example",
    }
    assert decode_auth(encode_auth(AuthConfig())) == {}


def test_registry_config_maps_registries() -> None:
    value = encode_config(
        {
            "127.0.0.1:5001": AuthConfig(username="u", password=PASSWORD),
            "https://index.docker.io/v1/": AuthConfig(identitytoken="t"),
        }
    )
    assert "+" not in value and "/" not in value
    document = json.loads(base64.urlsafe_b64decode(value))
    assert document == {
        "127.0.0.1:5001": {"username": "u", "password": PASSWORD},
        "https://index.docker.io/v1/": {"identitytoken": "t"},
    }


def test_secrets_never_in_repr() -> None:
    config = AuthConfig(username="me", password=PASSWORD, identitytoken="tok-secret")
    for text in (repr(config), str(config), f"{config}", repr([config])):
        assert PASSWORD not in text and "tok-secret" not in text
        assert "me" in text and "<hidden>" in text


@pytest.mark.parametrize(
    ("text", "repository", "tag", "digest", "registry"),
    [
        ("busybox", "busybox", None, None, "docker.io"),
        ("busybox:1.36", "busybox", "1.36", None, "docker.io"),
        ("library/busybox", "library/busybox", None, None, "docker.io"),
        ("127.0.0.1:5000/busybox", "127.0.0.1:5000/busybox", None, None, "127.0.0.1:5000"),
        ("127.0.0.1:5000/a/b:t", "127.0.0.1:5000/a/b", "t", None, "127.0.0.1:5000"),
        ("localhost/x@sha256:ab", "localhost/x", None, "sha256:ab", "localhost"),
        ("ghcr.io/o/r:v1@sha256:ab", "ghcr.io/o/r", "v1", "sha256:ab", "ghcr.io"),
    ],
)
def test_references(
    text: str, repository: str, tag: str | None, digest: str | None, registry: str
) -> None:
    ref = parse_reference(text)
    assert (ref.repository, ref.tag, ref.digest, ref.registry) == (
        repository,
        tag,
        digest,
        registry,
    )
    assert str(ref) == text


@pytest.mark.parametrize(
    "text", ["", "a b", "busybox:", ":tag", "../containers/x", "a//b", "a/./b", "a?x=1", "a%2Fb"]
)
def test_bad_references(text: str) -> None:
    with pytest.raises(LocalProtocolError):
        parse_reference(text)


@pytest.mark.parametrize(
    "value",
    [
        "not base64!",
        "é",
        base64.urlsafe_b64encode(b'{"password": "hunter2').decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        base64.urlsafe_b64encode(b"[" * 50_000 + b"]" * 50_000).decode(),
    ],
    ids=["bad-alphabet", "not-ascii", "cut-json", "not-utf8", "deep"],
)
def test_decode_auth_garbage_is_typed_and_secret_free(value: str) -> None:
    with pytest.raises(LocalProtocolError, match="X-Registry-Auth") as caught:
        decode_auth(value)
    assert "hunter2" not in str(caught.value) and caught.value.__cause__ is None
