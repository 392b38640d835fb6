"""What every catalogue module shares: building a Call, checking optional parameters."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from wireproto.api import gates
from wireproto.http import BodyKind, Call, QueryValue, request
from wireproto.versions import ApiVersion

T = TypeVar("T")
TAR = "application/x-tar"
Body = bytes | Iterable[bytes]
# What callers pass as ``filters``: {"status": ["exited"]}, or a lone value {"dangling": "true"}.
Filters = Mapping[str, str | Sequence[str]]


def opt(feature: str, value: T | None, version: ApiVersion | None) -> T | None:
    """``value`` when the caller set it (not None or False), once ``version`` is known to have it.

    Unset values are left out of the request, so an old engine never sees a
    parameter it lacks; a set one the version lacks raises UnsupportedInVersion.
    """
    if value is None or value is False:
        return None
    gates.require(feature, version)
    return value


def progress_kind(version: ApiVersion | None) -> BodyKind:
    """How pull, push, import and insert answer: a JSON stream from 1.1; before, the
    progress as raw text (change log 1.1: "json stream instead of HTML hijack")."""
    return BodyKind.JSONSTREAM if gates.has("jsonstream", version) else BodyKind.BYTES


def filters_query(
    feature: str, filters: Filters | None, version: ApiVersion | None
) -> dict[str, list[str]] | None:
    """``filters`` as the engine's ``map[string][]string`` (the query encoder JSON-encodes it),
    once ``version`` is known to have ``feature``; None (not sent) when empty.

    A lone string value is one value, not a sequence of characters.
    """
    if not filters:
        return None
    gates.require(feature, version)
    return {key: [v] if isinstance(v, str) else list(v) for key, v in filters.items()}


def make(
    method: str,
    path: str,
    *params: str,
    version: ApiVersion | None,
    kind: BodyKind,
    statuses: tuple[int, ...],
    query: Mapping[str, QueryValue] | None = None,
    json_body: object = None,
    body: Body | None = None,
    headers: Sequence[tuple[str, str]] = (),
    hijack: bool = False,
    tty: bool | None = None,
    endpoint: str = "",
    shape: Callable[[object], object] | None = None,
    bulk: bool = False,
) -> Call:
    """A Call: the request (version prefix, quoted path parameters, query), its framing
    and, for a reply whose shape depends on the version, its normaliser (``shape``)."""
    req = request(
        method,
        path,
        *params,
        version=version,
        query=query,
        json_body=json_body,
        body=body,
        headers=headers,
    )
    return Call(
        request=req,
        kind=kind,
        statuses=statuses,
        hijack=hijack,
        tty=tty,
        endpoint=endpoint,
        shape=shape,
        bulk=bulk,
    )
