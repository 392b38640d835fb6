"""``GET /events``: the engine's event stream (API 1.3+), a JSON stream of events.

Without ``until`` the stream stays open until the caller closes it; with it
(1.11+) the engine ends it after the events up to that time.  Type the
values with :class:`wireproto.progress.EngineEvent`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from wireproto.api import gates
from wireproto.api._common import filters_query, make, opt
from wireproto.http import BodyKind, Call
from wireproto.versions import ApiVersion


def events(
    version: ApiVersion | None = None,
    *,
    since: str | None = None,
    until: str | None = None,
    filters: Mapping[str, Sequence[str]] | None = None,
) -> Call:
    """``GET /events?since=&until=&filters=`` (times as Unix seconds; filters, 1.16+, as JSON)."""
    gates.require("events", version)
    query = {
        "since": since,
        "until": opt("events.until", until, version),
        "filters": filters_query("events.filters", filters, version),
    }
    return make(
        "GET", "/events", version=version, query=query, kind=BodyKind.JSONSTREAM, statuses=(200,)
    )
