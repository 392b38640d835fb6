"""Misc endpoints: ping, version, info, auth (and its GET until 1.1), commit.

Each function is pure: it returns a :class:`wireproto.http.Call` and refuses,
with UnsupportedInVersion, what ``version`` lacks (None: the engine's newest).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from wireproto.api import gates, shapes
from wireproto.api._common import make
from wireproto.api.auth import AuthConfig, secret_json
from wireproto.http import BodyKind, Call
from wireproto.versions import ApiVersion


def ping(version: ApiVersion | None = None) -> Call:
    """``GET /_ping`` (1.11+): ``OK``; modern engines add an ``Api-Version`` header."""
    gates.require("_ping", version)
    return make("GET", "/_ping", version=version, kind=BodyKind.BYTES, statuses=(200,))


def engine_version(version: ApiVersion | None = None) -> Call:
    """``GET /version``: ``Version``, ``ApiVersion``, ``GitCommit``, ``GoVersion``, ..."""
    return make("GET", "/version", version=version, kind=BodyKind.DOCUMENT, statuses=(200,))


def info(version: ApiVersion | None = None) -> Call:
    """``GET /info``: system-wide information (``Containers``, ``Images``, ``Driver``, ...);
    normalised by :func:`shapes.info_document` (``NEventsListener``)."""
    return make(
        "GET",
        "/info",
        version=version,
        kind=BodyKind.DOCUMENT,
        statuses=(200,),
        shape=shapes.bind(shapes.info_document, version),
    )


def login(config: AuthConfig | Mapping[str, str], version: ApiVersion | None = None) -> Call:
    """``POST /auth``: checks registry credentials (``username``, ``password``,
    ``email``, ``serveraddress``); 200 (modern engines: ``{"Status", "IdentityToken"}``)
    or 204.  The body holds the password: it prints as ``<hidden N bytes>``."""
    document = config.to_json() if isinstance(config, AuthConfig) else dict(config)
    return make(
        "POST",
        "/auth",
        version=version,
        headers=(("Content-Type", "application/json"),),
        body=secret_json(document),
        kind=BodyKind.DOCUMENT,
        statuses=(200, 204),
    )


def default_auth(version: ApiVersion | None = None) -> Call:
    """``GET /auth`` (until 1.1): the engine's stored ``{"username", "email"}``.

    Deprecated by 1.2, where the client holds the credentials.
    """
    gates.require("auth.get", version)
    return make("GET", "/auth", version=version, kind=BodyKind.DOCUMENT, statuses=(200,))


def commit(
    container: str,
    version: ApiVersion | None = None,
    *,
    repo: str | None = None,
    tag: str | None = None,
    comment: str | None = None,
    author: str | None = None,
    config: Mapping[str, object] | None = None,
) -> Call:
    """``POST /commit?container=``: a new image from a container's changes; 201 ``{"Id"}``.

    ``comment`` is sent twice: as ``m``, its name in the v1.12 reference, and
    as ``comment``, the name today's engines read (20.10 ignores ``m``; old
    engines ignore ``comment``).  ``config`` (``Cmd``, ``Env``, ...) is the
    configuration the image runs with: the JSON body, except at 1.7 and 1.8,
    whose engines read it, JSON-encoded, from the ``run`` query parameter.
    """
    in_query = config is not None and gates.has("commit.run", version)
    query = {
        "container": container,
        "repo": repo,
        "tag": tag,
        "m": comment,
        "comment": comment,
        "author": author,
        "run": json.dumps(config, separators=(",", ":")) if in_query else None,
    }
    return make(
        "POST",
        "/commit",
        version=version,
        query=query,
        json_body=dict(config) if config is not None and not in_query else None,
        kind=BodyKind.DOCUMENT,
        statuses=(201,),
    )
