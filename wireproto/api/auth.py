"""Registry auth on the wire: ``X-Registry-Auth`` and ``X-Registry-Config``, image references.

``X-Registry-Auth`` (pull and push, API 1.5+) is the *URL-safe* base64 of the
JSON auth config; the engine decodes it with Go's ``base64.URLEncoding`` and
silently ignores a value it cannot decode, so standard base64 (``+`` and
``/``) makes a correct password look like no password at all.  Before 1.5,
push took the auth config as its JSON body.  ``X-Registry-Config`` (build,
API 1.9+) is the URL-safe base64 of a JSON map from registry to auth config
(at 1.9 .. 1.18 wrapped as ``{"configs": map}``).

Secrets (password, identity token, registry token) never appear in a repr, a
``str`` or an error message.  What holds them is a :class:`SecretText` (the
header values, AuthConfig's secret fields) or :class:`SecretBytes` (a JSON
body holding a config: push before 1.5, login): a ``str``/``bytes`` on the
wire and in comparisons, ``<hidden>`` when printed, formatted or logged.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wireproto.errors import LocalProtocolError

DOCKER_HUB = "docker.io"
HIDDEN = "<hidden>"

# The key the docker CLI stores Docker Hub credentials under, in config.json.
DOCKER_HUB_KEY = "https://index.docker.io/v1/"


class SecretText(str):
    """A ``str`` that holds a secret: its repr, str and format say ``<hidden>``.

    Sent as is (h11 encodes the characters, not ``str()``); compares as its
    text.  :meth:`reveal` gives the plain ``str`` where one is truly needed.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"'{HIDDEN}'"

    def __str__(self) -> str:
        return HIDDEN

    def __format__(self, spec: str) -> str:
        return HIDDEN

    def reveal(self) -> str:
        return str.__str__(self)


class SecretBytes(bytes):
    """A ``bytes`` body that holds a secret: its repr and str give only its length."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"<hidden: {len(self)} bytes>"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)


def secret_json(document: Any) -> SecretBytes:
    """A JSON body that holds credentials (compact, as the engine reads it)."""
    return SecretBytes(json.dumps(document, separators=(",", ":")).encode())


_SECRET_FIELDS = ("password", "identitytoken", "registrytoken")


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthConfig:
    """Credentials for one registry: username + password, or an identity token."""

    username: str = ""
    password: str = field(default="", repr=False)
    email: str = ""
    serveraddress: str = ""
    identitytoken: str = field(default="", repr=False)
    registrytoken: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        # The fields themselves hide: an attribute printed or logged alone shows nothing.
        for name in _SECRET_FIELDS:
            value = getattr(self, name)
            if value and not isinstance(value, SecretText):
                object.__setattr__(self, name, SecretText(value))

    def __repr__(self) -> str:
        secrets = [name for name in _SECRET_FIELDS if getattr(self, name)]
        hidden = "".join(f", {name}=<hidden>" for name in secrets)
        return (
            f"AuthConfig(username={self.username!r}, serveraddress={self.serveraddress!r}{hidden})"
        )

    __str__ = __repr__

    def to_json(self) -> dict[str, str]:
        """The JSON object the engine reads (Go's ``AuthConfig``, empty fields left out)."""
        fields = {
            "username": self.username,
            "password": self.password,
            "email": self.email,
            "serveraddress": self.serveraddress,
            "identitytoken": self.identitytoken,
            "registrytoken": self.registrytoken,
        }
        return {key: value for key, value in fields.items() if value}


def _urlsafe(document: Any) -> SecretText:
    data = json.dumps(document, separators=(",", ":")).encode()
    return SecretText(base64.urlsafe_b64encode(data).decode("ascii"))


def encode_auth(config: AuthConfig) -> SecretText:
    """The ``X-Registry-Auth`` value: URL-safe base64 (padded) of the JSON config."""
    return _urlsafe(config.to_json())


def encode_config(configs: Mapping[str, AuthConfig], *, wrapped: bool = False) -> SecretText:
    """The ``X-Registry-Config`` value: URL-safe base64 of ``{registry: config}``.

    ``wrapped`` gives the form engines at API 1.9 .. 1.18 decode, the docker
    CLI's config file ``{"configs": {registry: config}}``; they read a bare
    map as a file with no credentials in it.
    """
    document = {registry: config.to_json() for registry, config in configs.items()}
    return _urlsafe({"configs": document} if wrapped else document)


def decode_auth(value: str) -> dict[str, Any]:
    """The JSON config of an ``X-Registry-Auth`` value, as the engine decodes it."""
    padded = value + "=" * (-len(value) % 4)
    try:
        document = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, RecursionError):  # the text is never shown: it holds the secret
        raise LocalProtocolError("X-Registry-Auth is not base64 of a JSON object") from None
    if not isinstance(document, dict):
        raise LocalProtocolError("X-Registry-Auth does not hold a JSON object")
    return document


# --- image references -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reference:
    """``[registry/]path[:tag][@digest]`` split up; ``registry`` defaults to docker.io."""

    repository: str  # as given, registry included (what the engine's query takes)
    tag: str | None = None
    digest: str | None = None

    @property
    def registry(self) -> str:
        first, sep, _ = self.repository.partition("/")
        if sep and ("." in first or ":" in first or first == "localhost"):
            return first
        return DOCKER_HUB

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str) -> Reference:
    """``127.0.0.1:5000/busybox:1.36`` -> Reference(repository, tag, digest)."""
    if not text or any(c.isspace() for c in text):
        raise LocalProtocolError(f"invalid image reference {text!r}")
    name, _, digest = text.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > slash:  # a colon after the last slash is a tag, not a port
        name, tag = name[:colon], name[colon + 1 :]
        if not tag:
            raise LocalProtocolError(f"invalid image reference {text!r}: empty tag")
    if not name:
        raise LocalProtocolError(f"invalid image reference {text!r}: no repository")
    if any(part in ("", ".", "..") for part in name.split("/")) or any(c in name for c in "?#%"):
        # The name goes into the request path with its slashes: no path tricks.
        raise LocalProtocolError(f"invalid image reference {text!r}")
    return Reference(name, tag, digest or None)
