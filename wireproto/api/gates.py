"""Which API version has what: the version-gate table, as data.

Strategy: every endpoint, parameter and wire behaviour whose presence
depends on the API version is one row of ``GATES``: the version it appeared
in (``since``) and, for what was removed, the last version that had it
(``until``).  Endpoint functions call :func:`require` for what the caller
asked for; decoders and shape helpers call :func:`has` for behaviours.  A
feature with no row exists in every version.

The rows come from the API's change log ("What's new" in each version's
reference, v1.0 to v1.12), each version's full reference and, for later
versions, from the changes that matter on the wire to clients of today's
engines.  Where the change log and a reference disagree, the change log
decides what it states and the row says so.  Every row is read by the call
or the shape helper it describes; what no call decides (the framing of a
response by its Content-Type, error bodies, WebSocket frame types) lives
where it is decided (:mod:`wireproto.framing`, :mod:`wireproto.versions`).

``version=None`` means "unprefixed path": the engine answers at its own
newest version, so nothing added is refused, and anything removed is
(an engine new enough to lack the version prefix rule has dropped it).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from wireproto.errors import UnsupportedInVersion
from wireproto.versions import MULTIPLEXED, ApiVersion

V = ApiVersion


class Kind(enum.Enum):
    ENDPOINT = "endpoint"  # a path (with its method)
    PARAMETER = "parameter"  # a query parameter, header or body field the caller sets
    BEHAVIOUR = "behaviour"  # what the engine sends: formats, framing, shapes


@dataclass(frozen=True, slots=True, kw_only=True)
class Gate:
    """One row: ``name`` exists from ``since`` through ``until`` (None: no bound)."""

    name: str
    kind: Kind
    since: ApiVersion | None = None
    until: ApiVersion | None = None
    gaps: tuple[tuple[ApiVersion, ApiVersion], ...] = ()
    what: str = ""

    def allows(self, version: ApiVersion | None) -> bool:
        """Whether ``version`` (None: the engine's newest) has this feature."""
        if version is None:
            return self.until is None
        if self.since is not None and version < self.since:
            return False
        if any(first <= version <= last for first, last in self.gaps):
            return False
        return self.until is None or version <= self.until

    @property
    def needs(self) -> str:
        """The versions that have it, for error messages: ``1.10+``, ``<= 1.11``,
        ``1.6, 1.8+`` (a parameter the references drop for a while, then list again)."""
        low = f"{self.since}+" if self.since else ""
        high = f"<= {self.until}" if self.until else ""
        if self.gaps:
            return self._with_gaps()
        if low and high:
            return f"{self.since} .. {self.until}"
        return low or high or "any"

    def _with_gaps(self) -> str:
        spans: list[str] = []
        start = self.since
        for first, last in self.gaps:
            end = ApiVersion(first.major, first.minor - 1)
            spans.append(str(start) if start == end else f"{start} .. {end}")
            start = ApiVersion(last.major, last.minor + 1)
        spans.append(f"{start} .. {self.until}" if self.until else f"{start}+")
        return ", ".join(spans)


E, P, B = Kind.ENDPOINT, Kind.PARAMETER, Kind.BEHAVIOUR

GATES: tuple[Gate, ...] = (
    # --- endpoints ----------------------------------------------------------------------------
    Gate(name="_ping", kind=E, since=V(1, 11), what="GET /_ping"),
    Gate(name="containers.logs", kind=E, since=V(1, 11), what="GET /containers/(id)/logs"),
    Gate(name="containers.top", kind=E, since=V(1, 3), what="GET /containers/(id)/top"),
    Gate(name="events", kind=E, since=V(1, 3), what="GET /events"),
    Gate(name="images.get", kind=E, since=V(1, 7), what="GET /images/(name)/get"),
    Gate(name="images.load", kind=E, since=V(1, 7), what="POST /images/load"),
    # insert: the v1.11 reference no longer lists it, but the change log removes it at 1.12
    # ("Removed Insert Endpoint"): the change log decides, insert is there through 1.11.
    Gate(
        name="images.insert",
        kind=E,
        until=V(1, 11),
        what="POST /images/(name)/insert (removed in 1.12)",
    ),
    # copy: first in the v1.4 reference (v1.3's has none).
    Gate(
        name="containers.copy",
        kind=E,
        since=V(1, 4),
        until=V(1, 23),
        what="POST /containers/(id)/copy (deprecated in 1.20, gone from 1.24: use archive)",
    ),
    # attach/ws: the route came with docker v0.6.0, whose API was 1.4; the references gained
    # it in 2015, back to v1.0's, for engines that never had it: the code decides.
    Gate(
        name="containers.attach_ws",
        kind=E,
        since=V(1, 4),
        what="GET /containers/(id)/attach/ws (a WebSocket)",
    ),
    # pause/unpause: in the v1.12 reference, not in v1.11's.
    Gate(
        name="containers.pause",
        kind=E,
        since=V(1, 12),
        what="POST /containers/(id)/pause and /unpause",
    ),
    # images/viz: in the references up to v1.6; the change log at 1.7: "no longer exists".
    Gate(name="images.viz", kind=E, until=V(1, 6), what="GET /images/viz (a Graphviz digraph)"),
    # GET /auth: in the v1.0 and v1.1 references; the change log at 1.2 deprecates it and
    # v1.2's reference has only POST /auth.
    Gate(name="auth.get", kind=E, until=V(1, 1), what="GET /auth (the stored username, email)"),
    Gate(name="exec", kind=E, since=V(1, 15), what="POST /containers/(id)/exec, /exec/(id)/start"),
    # exec start's 201: the v1.15 .. v1.20 references list "201 - no error" (a 200 hijack in
    # practice, which they also accept); later references list 200 only.
    Gate(
        name="exec.start.created",
        kind=B,
        since=V(1, 15),
        until=V(1, 20),
        what="exec start may answer 201",
    ),
    Gate(name="exec.resize", kind=E, since=V(1, 15), what="POST /exec/(id)/resize"),
    Gate(name="exec.inspect", kind=E, since=V(1, 16), what="GET /exec/(id)/json"),
    # exec create's User: in the v1.19 reference; Env: the v1.25 change log; WorkingDir: the
    # v1.35 change log. An older engine ignores a field it lacks: the command would run
    # as another user, elsewhere, without the variables.
    Gate(name="exec.user", kind=P, since=V(1, 19), what="User on exec create"),
    Gate(name="exec.env", kind=P, since=V(1, 25), what="Env on exec create"),
    Gate(name="exec.workdir", kind=P, since=V(1, 35), what="WorkingDir on exec create"),
    # --- parameters ---------------------------------------------------------------------------
    Gate(name="containers.list.size", kind=P, since=V(1, 3), what="size=1 on GET /containers/json"),
    # filters: the v1.12 reference lists them on both lists (images: dangling=true); v1.11's
    # lists neither.
    Gate(
        name="containers.list.filters",
        kind=P,
        since=V(1, 12),
        what="filters on GET /containers/json",
    ),
    Gate(name="images.list.filters", kind=P, since=V(1, 12), what="filters on GET /images/json"),
    # filter: no reference before v1.21 documents it, but the engine read it from the first
    # release on (docker v0.3.4's getImagesJSON) and the docker CLI of 1.0 sent it for
    # `docker images NAME`: every version has it, until the 1.41 change log drops it.
    Gate(
        name="images.list.filter",
        kind=P,
        until=V(1, 40),
        what="filter (a repository name) on GET /images/json (1.41+: filters reference=)",
    ),
    Gate(name="containers.top.ps_args", kind=P, since=V(1, 4), what="ps_args on top"),
    # detachKeys: docker 1.10 (API 1.22) added configurable detach keys to attach, start, exec.
    Gate(
        name="containers.attach.detach_keys",
        kind=P,
        since=V(1, 22),
        what="detachKeys on attach",
    ),
    # kill's signal: not in the v1.5 reference; v1.6's has it as an integer, v1.7's and v1.8's
    # omit the parameter, v1.9's has it again; names ("SIGINT") are documented from v1.9.
    Gate(
        name="containers.kill.signal",
        kind=P,
        since=V(1, 6),
        gaps=((V(1, 7), V(1, 8)),),
        what="signal on kill",
    ),
    # create's name: in the v1.6 reference, not in v1.7's, again from v1.8's.
    Gate(
        name="containers.create.name",
        kind=P,
        since=V(1, 6),
        gaps=((V(1, 7), V(1, 7)),),
        what="name on POST /containers/create",
    ),
    # build's nocache: from the v1.4 reference; rm: in v1.5's, not in v1.6's .. v1.8's, again
    # from v1.9's (q came with the tar body at 1.3: build itself).
    Gate(name="build.nocache", kind=P, since=V(1, 4), what="nocache on build"),
    Gate(
        name="build.rm",
        kind=P,
        since=V(1, 5),
        gaps=((V(1, 6), V(1, 8)),),
        what="rm on build",
    ),
    Gate(
        name="containers.kill.signal_name",
        kind=P,
        since=V(1, 9),
        what='a signal name ("SIGHUP") on kill (an integer before)',
    ),
    # tag's force: in the v1.0 reference; the v1.24 change log: "no longer has a force".
    Gate(
        name="images.tag.force",
        kind=P,
        until=V(1, 23),
        what="force on image tag (removed in 1.24)",
    ),
    Gate(
        name="containers.start.host_config",
        kind=P,
        since=V(1, 3),
        until=V(1, 23),
        what="a HostConfig body on POST /containers/(id)/start (1.24+: set it at create)",
    ),
    Gate(name="containers.delete.force", kind=P, since=V(1, 10), what="force on container delete"),
    Gate(name="images.delete.force", kind=P, since=V(1, 10), what="force on image delete"),
    Gate(name="images.delete.noprune", kind=P, since=V(1, 10), what="noprune on image delete"),
    Gate(name="registry_auth", kind=P, since=V(1, 5), what="X-Registry-Auth on pull and push"),
    # push's auth config as its JSON body: the v1.2 reference shows "{{ authConfig }}" as the
    # body (v1.0's and v1.1's push has none: the engine pushed with the login POST /auth had
    # stored); the change log at 1.5 moves it to X-Registry-Auth.
    Gate(
        name="push.auth_body",
        kind=P,
        since=V(1, 2),
        until=V(1, 4),
        what="push's auth config as its JSON body (1.0, 1.1: the login POST /auth stored)",
    ),
    # build's tar body: the v1.0 .. v1.2 references already show "{{ TAR STREAM }}", but the
    # change log at 1.3 says the tar stream replaced a multipart upload and older clients
    # break on it: the change log decides, build is refused below 1.3.
    Gate(name="build", kind=E, since=V(1, 3), what="POST /build with a tar context"),
    # remote: in the v1.2 reference ("resource to fetch, as URI"), not in v1.1's.
    Gate(name="build.remote", kind=P, since=V(1, 2), what="remote (a context URL) on build"),
    # X-Registry-Auth on build: only the v1.8 reference documents it (v1.7's does not); the
    # v1.9 change log replaces it with X-Registry-Config ("must be updated").
    Gate(
        name="build.registry_auth",
        kind=P,
        since=V(1, 8),
        until=V(1, 8),
        what="X-Registry-Auth (one registry's auth) on build (1.9+: X-Registry-Config)",
    ),
    Gate(name="build.registry_config", kind=P, since=V(1, 9), what="X-Registry-Config on build"),
    # commit's run: the v1.7 and v1.8 references take the config as a `run` query parameter
    # ("config automatically applied when the image is run"); v1.6's and v1.9's as the body.
    Gate(
        name="commit.run",
        kind=B,
        since=V(1, 7),
        until=V(1, 8),
        what="commit's config as the JSON `run` query parameter (the body otherwise)",
    ),
    Gate(name="build.forcerm", kind=P, since=V(1, 12), what="forcerm on build"),
    Gate(name="build.buildargs", kind=P, since=V(1, 21), what="buildargs (--build-arg) on build"),
    Gate(name="build.labels", kind=P, since=V(1, 23), what="labels on build"),
    Gate(name="build.target", kind=P, since=V(1, 38), what="target (a stage) on build"),
    Gate(name="events.until", kind=P, since=V(1, 11), what="until on GET /events"),
    # events' filters: first in the v1.16 reference (v1.15's has since and until only).
    Gate(name="events.filters", kind=P, since=V(1, 16), what="filters on GET /events"),
    # registry on images/create: in every reference from v1.0 to v1.20, gone from v1.21's.
    Gate(
        name="images.create.registry",
        kind=P,
        until=V(1, 20),
        what="registry on POST /images/create (pull and import)",
    ),
    Gate(name="logs.tail", kind=P, since=V(1, 13), what="tail on logs"),
    Gate(name="logs.since", kind=P, since=V(1, 19), what="since on logs"),
    Gate(name="logs.until", kind=P, since=V(1, 35), what="until on logs"),
    Gate(name="wait.condition", kind=P, since=V(1, 30), what="condition on wait"),
    # --- behaviours (what the engine sends) ---------------------------------------------------
    Gate(
        name="jsonstream",
        kind=B,
        since=V(1, 1),
        what="JSON streams from images/create (pull, import), insert and push (raw text before)",
    ),
    # image delete's list: the change log at 1.2 says it "now returns a JSON structure"; the
    # v1.2 reference shows it with "HTTP/1.1 200 OK" yet lists 204 under its status codes,
    # as v1.0's and v1.1's do: the change log decides, 200 with the list from 1.2 (a 204
    # has no body), 204 and nothing before.
    Gate(
        name="images.delete.list",
        kind=B,
        since=V(1, 2),
        what="image delete answers 200 and lists results (204, no body, before)",
    ),
    # start: 200 in the v1.0 .. v1.3 references' status lists, 204 from v1.4's (v1.3's example
    # already shows a 204: its status list decides).
    Gate(
        name="containers.start.no_content",
        kind=B,
        since=V(1, 4),
        what="start answers 204 (200 before)",
    ),
    # 304 "already started" / "already stopped": first in the v1.13 reference, accepted from
    # 1.12 all the same: the engines that still serve /v1.12 (whose oldest API is 1.12, as
    # dockerd 20.10's) answer 304 there too, and a 304 carries no body to misread.
    Gate(
        name="containers.not_modified",
        kind=B,
        since=V(1, 12),
        what="start and stop answer 304 when there is nothing to do",
    ),
    Gate(name="ports.list", kind=B, since=V(1, 5), what="container Ports as a list of dicts"),
    # The same version framing.resolve weighs for a response (versions.MULTIPLEXED).
    Gate(name="multiplexed", kind=B, since=MULTIPLEXED, what="multiplexed attach stream"),
    Gate(name="images.list.grouped", kind=B, since=V(1, 7), what="RepoTags grouped per image"),
    # build's JSON stream: the v1.7 reference already shows Content-Type application/json,
    # but the change log at 1.8 says build "now returns build status as json stream": the
    # change log decides, build output below 1.8 is plain text.
    Gate(name="build.jsonstream", kind=B, since=V(1, 8), what="build output as a JSON stream"),
    Gate(
        name="build.registry_config.bare",
        kind=B,
        since=V(1, 19),
        what='X-Registry-Config as a bare {registry: auth} map ({"configs": map} before)',
    ),
    Gate(name="inspect.camelcase", kind=B, since=V(1, 12), what="CamelCase keys in inspect"),
    Gate(name="search.is_automated", kind=B, since=V(1, 12), what="is_automated (was is_trusted)"),
    # search's keys: the v1.0 .. v1.6 references answer {"Name", "Description"}; v1.7's
    # answers the registry's keys (name, description, is_official, is_trusted, star_count)
    # and notes "The response keys have changed from API v1.6".
    Gate(
        name="search.registry_keys",
        kind=B,
        since=V(1, 7),
        what="search results with the registry's keys (Name, Description before)",
    ),
    # top: the v1.3 reference answers one object per process ({"PID", "Tty", "Time",
    # "Cmd"}); v1.4's answers {"Titles": [...], "Processes": [[...], ...]}.
    Gate(
        name="containers.top.titles",
        kind=B,
        since=V(1, 4),
        what="top answers Titles and Processes (a list of row objects before)",
    ),
)

BY_NAME: dict[str, Gate] = {gate.name: gate for gate in GATES}


def gate(name: str) -> Gate:
    """The row for ``name``; KeyError for a name the table does not have."""
    return BY_NAME[name]


def has(name: str, version: ApiVersion | None) -> bool:
    """Whether ``version`` (None: the engine's newest) has ``name``."""
    return BY_NAME[name].allows(version)


def require(name: str, version: ApiVersion | None) -> None:
    """UnsupportedInVersion unless ``version`` has ``name``."""
    row = BY_NAME[name]
    if not row.allows(version):
        raise UnsupportedInVersion(name, row.needs, version, what=row.what)
