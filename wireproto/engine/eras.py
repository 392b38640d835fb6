"""What an engine of each API version did: the stub engine's one table of behaviours.

Strategy: the stub engine answers as an engine of its ``api_version`` would
have, from 1.0 to 1.12 and at today's 1.41.  Every behaviour that depends on
that version is one :class:`Row` here: the version it appeared in (``since``),
the last version that had it (``until``), and where that fact comes from
(``source``: the change log's version entry, or the reference of the version
that first or last documents it).  Where the change log and a reference
disagree, the change log decides what it states and the row says so.

This table is the engine's own, written from the references independently of
the client's gate table (:mod:`wireproto.api.gates`): the conformance tests
hold the two against each other, so neither can quietly agree with a mistake
in the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from wireproto.versions import ApiVersion

V = ApiVersion


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """``name`` holds from ``since`` through ``until`` (None: no bound), per ``source``."""

    name: str
    source: str
    since: ApiVersion | None = None
    until: ApiVersion | None = None
    what: str = ""

    def holds(self, version: ApiVersion) -> bool:
        if self.since is not None and version < self.since:
            return False
        return self.until is None or version <= self.until


ROWS: tuple[Row, ...] = (
    # --- paths, errors, system -----------------------------------------------------------------
    Row(name="_ping", since=V(1, 11), source="change log 1.11", what="GET /_ping"),
    # --- containers, attach, exec, events -------------------------------------------------------
    Row(
        name="attach.multiplexed",
        since=V(1, 6),
        source="change log 1.6",
        what="attach without a TTY frames stdout and stderr (raw, merged, before)",
    ),
    Row(
        name="containers.ports.list",
        since=V(1, 5),
        source="change log 1.5",
        what="container rows' Ports as a list of dicts (a string before)",
    ),
    # --- images, build, registry -----------------------------------------------------------------
    Row(
        name="jsonstream",
        since=V(1, 1),
        source="change log 1.1",
        what="pull, push and insert answer a JSON stream (raw progress text before)",
    ),
    Row(
        name="build.jsonstream",
        since=V(1, 8),
        source="change log 1.8",
        what="build answers a JSON stream, errorDetail with the exit status (plain text before)",
    ),
    Row(
        name="progress.detail",
        since=V(1, 8),
        source="change log 1.8",
        what="progressDetail {current, total} in pull, push and insert messages",
    ),
    Row(
        name="images.list.grouped",
        since=V(1, 7),
        source="change log 1.7",
        what="one image row with RepoTags (a row per repository:tag before)",
    ),
    Row(
        name="inspect.camelcase",
        since=V(1, 12),
        source="change log 1.12",
        what="CamelCase keys in container and image inspect",
    ),
    Row(
        name="search.is_automated",
        since=V(1, 12),
        source="change log 1.12",
        what="search rows say is_automated (is_trusted before)",
    ),
    Row(
        name="images.insert",
        until=V(1, 11),
        source="change log 1.12 (the v1.11 reference already omits it: the change log decides)",
        what="POST /images/(name)/insert",
    ),
    Row(name="images.viz", until=V(1, 6), source="change log 1.7", what="GET /images/viz"),
    Row(name="auth.get", until=V(1, 1), source="change log 1.2", what="GET /auth"),
    Row(name="build", since=V(1, 3), source="change log 1.3", what="POST /build with a tar body"),
    Row(
        name="registry_auth",
        since=V(1, 5),
        source="change log 1.5",
        what="X-Registry-Auth on pull and push (push's auth in its body before)",
    ),
    Row(
        name="build.registry_config",
        since=V(1, 9),
        source="change log 1.9",
        what='X-Registry-Config on build, {"configs": {registry: auth}} through 1.18',
    ),
    Row(
        name="images.delete.force",
        since=V(1, 10),
        source="change log 1.10",
        what="force and noprune on image delete",
    ),
)

BY_NAME: dict[str, Row] = {row.name: row for row in ROWS}


def row(name: str) -> Row:
    """The row for ``name``; KeyError for a name the table lacks."""
    return BY_NAME[name]


def has(name: str, version: ApiVersion) -> bool:
    """Whether an engine answering at ``version`` has ``name``."""
    return BY_NAME[name].holds(version)
