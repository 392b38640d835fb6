"""The stub engine's route table: method and path pattern to handler (sans-IO).

Strategy: a route is data (``Route``): its method, a path pattern, the
handler, and the :mod:`~wireproto.engine.eras` row that must hold at the
request's version for the route to exist (an engine of a version without it
answers 404, as for any unknown path).  A pattern's ``{name}`` matches one
segment, ``{name+}`` one or more (image names carry slashes:
``127.0.0.1:5000/a/b``).  When several routes match, the most specific wins,
segment by segment: a literal beats ``{name}``, which beats ``{name+}``; so
``/images/json`` is never read as an image called ``json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wireproto.engine import eras
from wireproto.versions import ApiVersion

if TYPE_CHECKING:
    from wireproto.engine.messages import Replies, Reply, Request
    from wireproto.engine.world import World


@dataclass
class Context:
    """One request being answered: the connection (reply builders), the request, the path's
    placeholders, the engine's world, and the version the request is served at."""

    conn: Replies
    request: Request
    params: dict[str, str]
    world: World
    version: ApiVersion

    def has(self, row: str) -> bool:
        """Whether the served version has the ``eras`` row ``row``."""
        return eras.has(row, self.version)

    def query(self, name: str, default: str = "") -> str:
        """The first value of query parameter ``name``."""
        return self.request.query.get(name, [default])[0]

    def flag(self, name: str) -> bool:
        return flag(self.request.query, name)

    def body_json(self) -> object:
        """The request body as JSON (None when empty); QueryError 400 when it is not JSON."""
        from wireproto.engine.query import QueryError

        if not self.request.body.strip():
            return None
        try:
            return json.loads(self.request.body)
        except ValueError as exc:
            raise QueryError(400, f"invalid JSON body: {exc}") from None

    def json(self, value: object, status: int = 200) -> Reply:
        return self.conn.json(value, status)

    def error(self, status: int, message: str) -> Reply:
        return self.conn.error(status, message, self.version)

    def empty(self, status: int = 204) -> Reply:
        """A reply without a body (204 No Content, 304, or an empty 200/201)."""
        if status in (204, 304):
            return self.conn.document(status, b"", None)
        return self.conn.document(status, b"", "text/plain; charset=utf-8")


Handler = Callable[[Context], "Reply"]


@dataclass(frozen=True)
class Route:
    """``method pattern`` answered by ``handler``, where the ``eras`` row ``row`` holds."""

    method: str
    pattern: str
    handler: Handler
    row: str | None = None

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.pattern.strip("/").split("/"))

    @property
    def specificity(self) -> tuple[int, ...]:
        """Per segment: 0 literal, 1 ``{name}``, 2 ``{name+}``; lower is more specific."""
        return tuple(_kind(segment) for segment in self.segments)


def _kind(segment: str) -> int:
    if not (segment.startswith("{") and segment.endswith("}")):
        return 0
    return 2 if segment.endswith("+}") else 1


def match(pattern: Sequence[str], parts: Sequence[str]) -> dict[str, str] | None:
    """The placeholders of ``pattern`` bound to ``parts``, None when it does not match."""
    if not pattern:
        return {} if not parts else None
    head, rest = pattern[0], pattern[1:]
    kind = _kind(head)
    if kind == 0:
        if not parts or parts[0] != head:
            return None
        return match(rest, parts[1:])
    if kind == 1:
        if not parts or not parts[0]:
            return None
        found = match(rest, parts[1:])
        return None if found is None else {head[1:-1]: parts[0], **found}
    # {name+}: the longest run of segments that lets the rest match (a tag may not hold "/",
    # so "/images/a/b/json" is the image "a/b"; "/images/json/json" is the image "json")
    for stop in range(len(parts) - len(rest), 0, -1):
        found = match(rest, parts[stop:])
        if found is not None:
            return {head[1:-2]: "/".join(parts[:stop]), **found}
    return None


def find(routes: Sequence[Route], method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The most specific route for ``method path`` and its placeholders, None when none."""
    parts = path.strip("/").split("/")
    best: tuple[Route, dict[str, str]] | None = None
    for route in routes:
        if route.method != method:
            continue
        params = match(route.segments, parts)
        if params is None:
            continue
        if best is None or route.specificity < best[0].specificity:
            best = (route, params)
    return best


def flag(query: dict[str, list[str]], name: str) -> bool:
    """A boolean query parameter as the engine's ``httputils.BoolValue`` reads it."""
    value = query.get(name, [""])[0].strip().lower()
    return value not in ("", "0", "no", "false", "none")
