"""The ``/vX.Y`` path prefix as an engine of each API version read it (sans-IO).

Strategy: the prefix decides the version a request is served at.  Engines up
to 1.9 (docker 0.3 .. 0.8) read it as a float, so ``/v1.10`` was 1.1 to
them, and so, in effect, was ``/v1.12`` (a float between 1.1 and 1.2).  A
prefix newer than the engine was a bare 404 up to 1.8, a 404 naming both
versions from 1.9 to 1.12, and dockerd 20.10 (1.41) answers 400 and
refuses prefixes below its minimum too.  An unprefixed path is served at the
engine's own version.  Which answer is whose is in :mod:`wireproto.engine.eras`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wireproto.engine import eras
from wireproto.errors import InvalidVersion
from wireproto.versions import JSON_ERRORS, ApiVersion, parse

if TYPE_CHECKING:
    from wireproto.engine.messages import Replies, Reply, Request

_PREFIX = re.compile(r"/v([0-9.]+)(/.*)")


@dataclass(frozen=True)
class Refusal:
    """The engine's answer to a prefix it refuses: ``message`` empty means no body."""

    status: int
    message: str
    # dockerd shapes an error by the version the client asked for (JSON from 1.24)
    asked: ApiVersion | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Served:
    """The version a request is served at and its path without the prefix."""

    version: ApiVersion
    path: str


def serve(path: str, engine: ApiVersion, minimum: ApiVersion) -> Served | Refusal:
    """How an engine of version ``engine`` (oldest accepted: ``minimum``) takes ``path``."""
    found = _PREFIX.fullmatch(path)
    if found is None:
        return Served(engine, path)
    text, rest = found.groups()
    if eras.has("paths.float_version", engine):
        return _as_float(text, rest, engine)
    try:
        version = parse(text)
    except InvalidVersion:
        return Refusal(404, not_found(engine))
    if version > engine:
        refused = _too_new(str(version), str(engine), engine)
        return Refusal(refused.status, refused.message, version)
    if version < minimum:
        return Refusal(
            400,
            f"client version {version} is too old. Minimum supported API version is "
            f"{minimum}, please upgrade your client to a newer version",
            version,
        )
    return Served(version, rest)


def _as_float(text: str, rest: str, engine: ApiVersion) -> Served | Refusal:
    """docker 0.3 .. 0.8: ``strconv.ParseFloat``; unparsable means the engine's own version."""
    try:
        number = float(text)
    except ValueError:
        return Served(engine, rest)
    if number == 0 or number > float(str(engine)):
        refused = _too_new(f"{number:g}", f"{float(str(engine)):g}", engine)
        try:
            return Refusal(refused.status, refused.message, parse(text))
        except InvalidVersion:
            return refused
    # Every version test of these engines is a float comparison against an x.y with one
    # decimal, so 1.12 (between 1.1 and 1.2) behaves as 1.1 throughout.
    tenths = round(number * 100) // 10
    return Served(ApiVersion(tenths // 10, tenths % 10), rest)


def _too_new(client: str, server: str, engine: ApiVersion) -> Refusal:
    if eras.has("paths.too_new.silent", engine):
        return Refusal(404, "")
    if eras.has("paths.too_new.same_version", engine):
        return Refusal(
            404, f"client and server don't have same version (client : {client}, server: {server})"
        )
    return Refusal(
        400, f"client version {client} is too new. Maximum supported API version is {server}"
    )


def not_found(engine: ApiVersion) -> str:
    """The text of an engine's 404 for a path it has no route for."""
    return "404 page not found" if eras.has("paths.not_found.mux", engine) else "page not found"


def versioned(conn: Replies, request: Request) -> Reply | None:
    """Strips a ``/vX.Y`` prefix into ``request.version``; a Reply when the engine refuses it.

    Unprefixed, a request is served at the engine's own version.
    """
    outcome = serve(request.path, conn.max, conn.min)
    if isinstance(outcome, Served):
        request.path, request.version = outcome.path, outcome.version
        return None
    if outcome.asked is not None:
        request.version = outcome.asked  # the journal records what the client asked for
    if not outcome.message:
        return conn.document(outcome.status, b"", "text/plain; charset=utf-8")
    shape = outcome.asked if outcome.asked is not None else conn.max
    if shape > conn.max and conn.max < JSON_ERRORS:
        shape = conn.max  # an engine before JSON errors never wrote one
    return conn.error(outcome.status, outcome.message, shape)
