"""``POST /build``: an image from a tar context; the steps' output.

The body is the context as a tar stream (API 1.3+; no multipart), bytes or
an iterable of pieces sent chunked as they come (see
:func:`wireproto.api.buildcontext.tar_context`), or nothing when ``remote``
names a context the engine fetches itself.  From 1.8 the output is a JSON
stream and a failing step arrives in-band (``{"error", "errorDetail":
{"code"}}``): :func:`wireproto.progress.check` turns it into BuildError.
Before 1.8 the output is plain text, handed out as bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from wireproto.api import gates
from wireproto.api._common import TAR, make, opt
from wireproto.api.auth import AuthConfig, encode_auth, encode_config
from wireproto.http import BodyKind, Call
from wireproto.versions import ApiVersion

CONFIG_HEADER = "X-Registry-Config"
AUTH_HEADER = "X-Registry-Auth"


def build(
    context: bytes | Iterable[bytes] | None,
    version: ApiVersion | None = None,
    *,
    tag: str | None = None,
    quiet: bool = False,
    nocache: bool = False,
    rm: bool | None = None,
    forcerm: bool = False,
    dockerfile: str | None = None,
    networkmode: str | None = None,
    remote: str | None = None,
    buildargs: Mapping[str, str | None] | None = None,
    labels: Mapping[str, str] | None = None,
    target: str | None = None,
    auth: AuthConfig | None = None,
    registry_config: Mapping[str, AuthConfig] | None = None,
) -> Call:
    """``POST /build?t=&remote=&q=&nocache=&rm=&forcerm=`` (1.3+).

    ``rm`` (1.5, 1.9+) removes intermediate containers after a successful
    build; left at None it is sent as the docker CLI sends it, ``rm=1``,
    where the version has the parameter.  ``nocache`` is 1.4+; ``forcerm``
    (1.12+) removes them even after a failure.  ``networkmode`` (e.g.
    ``none``) is the network of RUN steps; engines read it whatever the
    version prefix.  ``remote`` is a git or
    HTTP(S) URL of the context (then ``context`` is None).  Credentials for
    pulling ``FROM`` images: ``auth``, one registry's config, in
    ``X-Registry-Auth`` (1.8 only), or ``registry_config``, a config per
    registry, in ``X-Registry-Config`` (1.9+).
    """
    gates.require("build", version)
    headers = _credential_headers(version, auth, registry_config)
    if context is not None:
        headers.insert(0, ("Content-Type", TAR))
    query = {
        "t": tag,
        "remote": opt("build.remote", remote, version),
        "q": quiet or None,
        "nocache": opt("build.nocache", nocache, version),
        "rm": _rm(rm, version),
        "forcerm": opt("build.forcerm", forcerm, version),
        "dockerfile": dockerfile,
        "networkmode": networkmode,
        "buildargs": opt("build.buildargs", _json_map(buildargs), version),
        "labels": opt("build.labels", _json_map(labels), version),
        "target": opt("build.target", target, version),
    }
    streams_json = gates.has("build.jsonstream", version)
    return make(
        "POST",
        "/build",
        version=version,
        query=query,
        headers=headers,
        body=context,
        kind=BodyKind.JSONSTREAM if streams_json else BodyKind.BYTES,
        statuses=(200,),
    )


def _json_map(values: Mapping[str, str | None] | None) -> str | None:
    """A map parameter as the engine reads it (a JSON object); None (not sent) when empty."""
    return json.dumps(dict(values), separators=(",", ":")) if values else None


def _rm(rm: bool | None, version: ApiVersion | None) -> bool | None:
    """The rm parameter: the caller's, refused where the version lacks it; unset, ``True``
    where it has it (the docker CLI's default) and left out elsewhere."""
    if rm is None:
        return True if gates.has("build.rm", version) else None
    gates.require("build.rm", version)
    return rm


def _credential_headers(
    version: ApiVersion | None,
    auth: AuthConfig | None,
    registry_config: Mapping[str, AuthConfig] | None,
) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    if auth is not None:
        gates.require("build.registry_auth", version)
        headers.append((AUTH_HEADER, encode_auth(auth)))
    if registry_config is not None:
        gates.require("build.registry_config", version)
        bare = gates.has("build.registry_config.bare", version)
        headers.append((CONFIG_HEADER, encode_config(registry_config, wrapped=not bare)))
    return headers
