"""The stub engine's path rules: the ``/vX.Y`` prefix and the versions it accepts (sans-IO)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wireproto.errors import InvalidVersion
from wireproto.versions import parse

if TYPE_CHECKING:
    from wireproto.engine.protocol import Reply, Request, ServerConnection


def versioned(conn: ServerConnection, request: Request) -> Reply | None:
    """Strips a ``/vX.Y`` prefix into ``request.version``; a Reply when the engine refuses it.

    Unprefixed, a request is served at the engine's own version.
    """
    head, _, rest = request.path[1:].partition("/")
    if not head.startswith("v") or not rest:
        return None
    try:
        version = parse(head[1:])
    except InvalidVersion:
        return conn.error(404, "page not found", conn.max)
    request.path = "/" + rest
    request.version = version
    if version < conn.min:
        message = (
            f"client version {version} is too old. Minimum supported API version is "
            f"{conn.min}, please upgrade your client to a newer version"
        )
        return conn.error(400, message, version)
    if version > conn.max:
        message = (
            f"client version {version} is too new. Maximum supported API version is {conn.max}"
        )
        return conn.error(400, message, version)
    return None
