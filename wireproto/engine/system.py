"""The stub engine's system endpoints: ``_ping``, ``version``, ``info``, ``auth`` (sans-IO).

The documents are :mod:`wireproto.engine.sysdocs`'s, with the keys the
engine's own version sent; ``GET /auth`` and the stored login of
``POST /auth`` exist at 1.0 and 1.1 only (eras rows ``auth.get``, ``auth.store``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wireproto.engine import registry, sysdocs
from wireproto.engine.routes import Context, Route

if TYPE_CHECKING:
    from wireproto.engine.messages import Reply


def ping(ctx: Context) -> Reply:
    head = ctx.request.method == "HEAD"
    return ctx.conn.document(200, b"OK", "text/plain; charset=utf-8", head=head)


def version(ctx: Context) -> Reply:
    world = ctx.world
    return ctx.json(
        sysdocs.version_document(world.api_version, world.script.server_version, world.min_version)
    )


def info(ctx: Context) -> Reply:
    world = ctx.world
    containers = list(world.containers.values())
    counts = sysdocs.Counts(
        containers=len(containers),
        running=sum(c.state == "running" for c in containers),
        images=len(world.images),
        paused=sum(c.state == "paused" for c in containers),
    )
    return ctx.json(sysdocs.info_document(world.api_version, counts, world.script.server_version))


def get_auth(ctx: Context) -> Reply:
    """1.0 .. 1.1: the login ``POST /auth`` stored (never its password)."""
    login = registry.state(ctx.world).login
    return ctx.json(
        {"username": login.username, "email": login.email, "serveraddress": login.serveraddress}
    )


def post_auth(ctx: Context) -> Reply:
    """Stores the login at 1.0 .. 1.1; checks it from 1.2 (a username and a password)."""
    body = ctx.body_json()
    if not isinstance(body, dict):
        return ctx.error(400, "the body of POST /auth must be a JSON object (an AuthConfig)")
    if ctx.has("auth.store"):
        registry.state(ctx.world).login = sysdocs.login_from(body)
    elif not (body.get("username") and (body.get("password") or body.get("identitytoken"))):
        return ctx.error(401, "Wrong login/password, please try again")
    document: dict[str, object] = {"Status": "Login Succeeded"}
    if ctx.world.api_version >= sysdocs.MODERN:
        document["IdentityToken"] = ""
    return ctx.json(document)


ROUTES: tuple[Route, ...] = (
    Route("GET", "/_ping", ping, row="_ping"),
    Route("HEAD", "/_ping", ping, row="_ping"),
    Route("GET", "/version", version),
    Route("GET", "/info", info),
    Route("GET", "/auth", get_auth, row="auth.get"),
    Route("POST", "/auth", post_auth),
)
