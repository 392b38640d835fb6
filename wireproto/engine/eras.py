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
    gaps: tuple[tuple[ApiVersion, ApiVersion], ...] = ()  # first..last without it, in between
    what: str = ""

    def holds(self, version: ApiVersion) -> bool:
        if self.since is not None and version < self.since:
            return False
        if any(first <= version <= last for first, last in self.gaps):
            return False
        return self.until is None or version <= self.until


ROWS: tuple[Row, ...] = (
    # --- paths, errors, system -----------------------------------------------------------------
    Row(name="_ping", since=V(1, 11), source="change log 1.11", what="GET /_ping"),
    Row(
        name="paths.float_version",
        until=V(1, 9),
        source="docker v0.3.4 .. v0.8.1 api.go (no reference states it)",
        what="the /vX.Y prefix read as a float: /v1.10 is 1.1, /v1.12 is 1.12",
    ),
    Row(
        name="paths.too_new.silent",
        until=V(1, 8),
        source="docker v0.3.4 .. v0.7.6 api.go",
        what="a prefix newer than the engine: 404 and an empty body",
    ),
    Row(
        name="paths.too_new.same_version",
        since=V(1, 9),
        until=V(1, 12),
        source="docker v0.8.0 .. v1.0 api/server.go",
        what='a newer prefix: 404 "client and server don\'t have same version (...)"',
    ),
    Row(
        name="paths.too_new.bad_request",
        since=V(1, 41),
        source="dockerd 20.10 (the stub's one engine past 1.12)",
        what='a newer prefix: 400 "client version X is too new. Maximum supported ..."',
    ),
    Row(
        name="paths.not_found.mux",
        until=V(1, 12),
        source="docker v0.3.4 .. v1.0: gorilla/mux's default handler (none of its own)",
        what='an unknown path: Go\'s "404 page not found" (dockerd: "page not found")',
    ),
    Row(
        name="errors.json",
        since=V(1, 24),
        source="the v1.24 reference (dockerd 20.10 answers below it as text)",
        what='errors as {"message": ...} (plain text before)',
    ),
    Row(
        name="version.api_version",
        since=V(1, 12),
        source="v1.12 reference",
        what="ApiVersion in GET /version (Version, GitCommit, GoVersion before)",
    ),
    Row(
        name="info.lxc",
        since=V(1, 3),
        until=V(1, 3),
        source="v1.3 reference",
        what="EventsListeners, LXCVersion and KernelVersion in GET /info",
    ),
    Row(
        name="info.ipv4_forwarding",
        since=V(1, 4),
        source="v1.4 reference",
        what="IPv4Forwarding in GET /info",
    ),
    Row(
        name="info.driver",
        since=V(1, 11),
        source="v1.11 reference",
        what="Driver, ExecutionDriver, KernelVersion, NEventsListener, InitPath, IndexServerAddress"
        " in GET /info",
    ),
    Row(name="auth.get", until=V(1, 1), source="change log 1.2", what="GET /auth"),
    Row(
        name="auth.store",
        until=V(1, 1),
        source="change log 1.2",
        what="POST /auth stores the config (only checks it from 1.2)",
    ),
    Row(
        name="headers.engine",
        since=V(1, 24),
        source="docker v1.12.0 (API 1.24) code: its version middleware adds Api-Version and "
        "Server; the engines of 1.0 .. 1.12 set only Content-Type (and Go's Date)",
        what="Api-Version, Server, Ostype, Docker-Experimental response headers",
    ),
    # --- containers, attach, exec, events -------------------------------------------------------
    Row(
        name="attach.multiplexed",
        since=V(1, 6),
        source="change log 1.6",
        what="attach without a TTY frames stdout and stderr (raw, merged, before)",
    ),
    Row(
        name="attach.ws",
        since=V(1, 4),
        source="docker v0.6.0 api.go (API 1.4) adds the route; the references list it from v1.0",
        what="GET /containers/(id)/attach/ws (a WebSocket; x/net/websocket's handshake)",
    ),
    Row(
        name="attach.ws.binary",
        since=V(1, 28),
        source="v1.28 reference / moby PR 28176 (text frames before, whatever the bytes)",
        what="the WebSocket attach sends its output as binary frames",
    ),
    Row(
        name="attach.ws.every_stream",
        since=V(1, 19),
        source="docker v1.7.0 (API 1.19) api/server/server.go: stdin/stdout/stderr no longer "
        "read; docker v1.6.0's read them",
        what="an engine of this version attaches stdin, stdout and stderr on attach/ws whatever "
        "the query says (keyed on the engine's version, not the request's)",
    ),
    Row(
        name="containers.ports.list",
        since=V(1, 5),
        source="change log 1.5",
        what="container rows' Ports as a list of dicts (a string before)",
    ),
    Row(
        name="containers.list.size",
        since=V(1, 3),
        source="change log 1.3 and the v1.3 reference (size first); engines of 1.1 .. 1.8 sent "
        "the sizes in every row all the same (containers.list.sizes_always)",
        what="size=1 asks for SizeRw and SizeRootFs in container rows",
    ),
    Row(
        name="containers.list.filters",
        since=V(1, 12),
        source="v1.12 reference (first documents filters on GET /containers/json)",
        what="filters on the container list (exited, status at 1.12; 20.10's whole set at 1.41)",
    ),
    Row(
        name="containers.top",
        since=V(1, 3),
        source="change log 1.3",
        what="GET /containers/(id)/top",
    ),
    Row(
        name="containers.top.titles",
        since=V(1, 4),
        source="v1.4 reference (v1.3's answers a list of {PID, Tty, Time, Cmd})",
        what="top answers {Titles, Processes} (ps_args from 1.4 too, change log 1.4)",
    ),
    Row(
        name="containers.logs",
        since=V(1, 11),
        source="change log 1.11",
        what="GET /containers/(id)/logs",
    ),
    Row(
        name="attach.upgrade",
        since=V(1, 17),
        source="docker v1.5.0 (API 1.17) code: the first to answer Upgrade: tcp with 101 "
        "UPGRADED; older engines answer the hijack with 200",
        what="101 UPGRADED for an attach or exec start that asks to upgrade",
    ),
    Row(
        name="containers.create.name",
        since=V(1, 6),
        gaps=((V(1, 7), V(1, 7)),),
        source="v1.6 reference (first documents create's name; v1.5's has none, v1.7's "
        "drops it, v1.8's lists it again)",
        what="name on POST /containers/create (ignored without it: a generated name)",
    ),
    Row(
        name="containers.start.no_content",
        since=V(1, 4),
        source="v1.4 reference (v1.0 .. v1.3 answer 200)",
        what="start answers 204",
    ),
    Row(
        name="containers.start.host_config",
        since=V(1, 3),
        until=V(1, 23),
        source="change log 1.3; gone from 1.24 (dockerd refuses a start body there)",
        what="a host config body on POST /containers/(id)/start",
    ),
    Row(
        name="containers.kill.signal",
        since=V(1, 6),
        gaps=((V(1, 7), V(1, 8)),),
        source="v1.6 reference (an integer; v1.5's kill takes no parameter, v1.7's and "
        "v1.8's drop it, v1.9's lists it again)",
        what="signal on kill (SIGKILL without it)",
    ),
    Row(
        name="containers.kill.signal_name",
        since=V(1, 9),
        source="v1.9 reference",
        what='a signal name ("SIGHUP") on kill (a number before)',
    ),
    Row(
        name="containers.pause",
        since=V(1, 12),
        source="v1.12 reference (v1.11's has no pause)",
        what="POST /containers/(id)/pause and /unpause",
    ),
    Row(
        name="containers.copy",
        since=V(1, 4),
        until=V(1, 23),
        source="v1.4 reference (first documents it); gone from the v1.24 reference",
        what="POST /containers/(id)/copy",
    ),
    Row(
        name="containers.delete.force",
        since=V(1, 10),
        source="change log 1.10",
        what="force on container delete (a running container: 409 without it)",
    ),
    Row(
        name="containers.inspect.host_config",
        since=V(1, 8),
        source="change log 1.8",
        what="container inspect has HostConfig",
    ),
    Row(
        name="containers.inspect.id",
        gaps=((V(1, 1), V(1, 11)),),
        source="docker's code, keyed on the engine: v0.3.x (1.0) wrote its struct's Id; "
        "v0.4.1 (the last of 1.1) .. v0.11 renamed the field ID; v1.0.0 (1.12) writes Id "
        "through engine.Env (change log 1.12: keys CamelCase)",
        what='container inspect says "Id" ("ID" in between), whatever the request\'s version',
    ),
    # Container inspect before 1.12 is the engine's Container struct as json.Marshal wrote
    # it: each row below is a field of that struct in the last docker release of a version.
    Row(
        name="containers.inspect.ip_address",
        since=V(1, 1),
        source="docker v0.4.1 container.go (v0.3.x's NetworkSettings said IpAddress, IpPrefixLen)",
        what="NetworkSettings.IPAddress and IPPrefixLen (IpAddress, IpPrefixLen before)",
    ),
    Row(
        name="containers.inspect.sys_init_path",
        until=V(1, 6),
        source="docker v0.3.x .. v0.6.6 container.go (gone in v0.7)",
        what="SysInitPath in container inspect",
    ),
    Row(
        name="containers.inspect.volumes_rw",
        since=V(1, 3),
        source="docker v0.5.2 container.go (the last of 1.3)",
        what="VolumesRW in container inspect",
    ),
    Row(
        name="containers.inspect.hosts_path",
        since=V(1, 4),
        source="docker v0.6.2 container.go (the last of 1.4)",
        what="HostnamePath and HostsPath in container inspect",
    ),
    Row(
        name="containers.inspect.finished_at",
        since=V(1, 5),
        source="docker v0.6.4 state.go (the last of 1.5; v0.6.2's State has no FinishedAt)",
        what="State.FinishedAt in container inspect",
    ),
    Row(
        name="containers.inspect.name",
        since=V(1, 6),
        source="docker v0.6.5 container.go (API 1.6: container names)",
        what="Name in container inspect, NetworkSettings.Ports beside PortMapping",
    ),
    Row(
        name="containers.inspect.driver",
        since=V(1, 7),
        source="docker v0.7.0 container.go (API 1.7: storage drivers)",
        what="Driver in container inspect",
    ),
    Row(
        name="containers.inspect.exec_driver",
        since=V(1, 10),
        until=V(1, 12),
        source="docker v0.9.0 .. v1.0.0 (dockerd 20.10 has none)",
        what="ExecDriver in container inspect",
    ),
    Row(
        name="containers.inspect.labels",
        since=V(1, 11),
        source="docker v0.11.1 container.go (the last of 1.11)",
        what="MountLabel and ProcessLabel in container inspect",
    ),
    Row(
        name="containers.inspect.ghost",
        until=V(1, 10),
        source="docker v0.3.x .. v0.10.0 state.go (gone in v0.11)",
        what="State.Ghost in container inspect",
    ),
    Row(
        name="containers.inspect.paused",
        since=V(1, 12),
        source="docker v0.12.0 state.go (API 1.12: pause)",
        what="State.Paused in container inspect",
    ),
    Row(
        name="containers.inspect.modern",
        since=V(1, 41),
        source="dockerd 20.10 (the stub's one engine past 1.12)",
        what="today's inspect: State.Status, OOMKilled, Dead, Error; Mounts, RestartCount",
    ),
    # --- container rows (GET /containers/json) and create, by the engine's version
    Row(
        name="containers.list.names",
        since=V(1, 6),
        source="docker v0.6.5 api_params.go (APIContainers gains Names; a request below 1.5 "
        "gets APIContainersOld, which has none, until rows are built as engine.Env in v0.8)",
        what="Names in container rows",
    ),
    Row(
        name="containers.list.modern",
        since=V(1, 41),
        source="dockerd 20.10 (the stub's one engine past 1.12)",
        what="today's container rows: State, ImageID, Labels beside docker's own keys",
    ),
    Row(
        name="containers.list.env_rows",
        since=V(1, 9),
        source="docker v0.8.0 server.go: rows built as engine.Env; a request below 1.5 "
        "keeps every key but Ports (v1.0.0 api/server/server.go getContainersJSON)",
        what="SizeRw and SizeRootFs only with size; old requests keep Names",
    ),
    Row(
        name="containers.list.sizes_always",
        since=V(1, 1),
        until=V(1, 8),
        source="docker v0.4.1 .. v0.7.6 api_params.go: SizeRw and SizeRootFs without "
        "omitempty, so in every row (0 unless computed); v0.3.x's rows have neither",
        what="SizeRw and SizeRootFs in every container row",
    ),
    Row(
        name="containers.list.command_quoted",
        since=V(1, 10),
        source="docker v0.10.0 server.go (the last of 1.10): path and args with a space "
        "quoted in single quotes; before, path + ' ' + args joined (a trailing space "
        "without args)",
        what="container rows' Command as dockerd still writes it",
    ),
    Row(
        name="containers.status.exited_ago",
        since=V(1, 10),
        source="docker v0.10.0 state.go: 'Exited (N) X ago', '' never run ('Exit N' before)",
        what="container rows' Status of a stopped container",
    ),
    Row(
        name="containers.status.go_units",
        since=V(1, 41),
        source="dockerd 20.10 (go-units HumanDuration), read over its socket: 'Up 1 second'",
        what="Status durations by go-units: a singular '1 second', hours rounded, "
        "months from 60 days (docker's older pkg/units before)",
    ),
    Row(
        name="containers.status.created",
        since=V(1, 20),
        source="docker v1.8.0 (API 1.20) daemon/state.go",
        what="Status 'Created' for a container never started",
    ),
    Row(
        name="containers.create.warnings_omitted",
        since=V(1, 1),
        until=V(1, 8),
        source="docker v0.4.1 .. v0.7.6 APIRun: Warnings omitempty (v0.3.x's ApiRun and "
        "v0.8's engine.Env write null)",
        what="create's answer has no Warnings when there are none (null otherwise)",
    ),
    Row(
        name="containers.create.warnings_list",
        since=V(1, 41),
        source="dockerd 20.10 (observed: Warnings [])",
        what="create's answer says Warnings [] when there are none",
    ),
    Row(
        name="containers.wait.error",
        since=V(1, 30),
        source="v1.30 reference (dockerd 20.10 writes Error at every prefix: observed)",
        what="wait's answer has Error beside StatusCode",
    ),
    Row(
        name="containers.start.running_ok",
        since=V(1, 10),
        source="docker v0.10.0 container.go: Start of a running container returns nil "
        "(v0.3.4 .. v0.9.1: 'The container ID is already running.', a 500); 304 from 1.13",
        what="starting a running container succeeds",
    ),
    Row(
        name="containers.top.old_client_refused",
        since=V(1, 4),
        source="docker v0.5.3 .. v1.0.0 api.go getContainersTop",
        what="a top request below 1.4: 500 'top was improved a lot since 1.3, ...'",
    ),
    Row(
        name="events",
        since=V(1, 3),
        source="change log 1.3",
        what="GET /events",
    ),
    Row(
        name="events.from",
        since=V(1, 4),
        source="change log 1.4",
        what="events carry the image's name (from)",
    ),
    Row(
        name="events.until",
        since=V(1, 11),
        source="change log 1.11",
        what="until on GET /events",
    ),
    Row(
        name="events.filters",
        since=V(1, 16),
        source="v1.16 reference (first documents filters on events)",
        what="filters on GET /events",
    ),
    Row(name="exec", since=V(1, 15), source="v1.15 reference", what="exec create, start, resize"),
    Row(name="exec.inspect", since=V(1, 16), source="v1.16 reference", what="GET /exec/(id)/json"),
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
    Row(
        name="images.delete.list",
        since=V(1, 2),
        source="change log 1.2 (the v1.2 reference still lists 204: the change log decides)",
        what="image delete answers 200 and a list of {Untagged}/{Deleted} (204, no body, before)",
    ),
    Row(
        name="images.sizes",
        since=V(1, 2),
        source="v1.2 reference",
        what="Size and VirtualSize in image rows, Size in image inspect",
    ),
    Row(
        name="images.list.filters",
        since=V(1, 12),
        source="v1.12 reference",
        what="filters (dangling=true) on GET /images/json",
    ),
    Row(
        name="images.list.filter",
        until=V(1, 40),
        source="docker v0.3.4's getImagesJSON read it; dockerd 20.10 reads it below 1.41 only",
        what="filter (a repository name) on GET /images/json",
    ),
    Row(
        name="images.get",
        since=V(1, 7),
        source="v1.7 reference",
        what="GET /images/(name)/get (a tar of the image)",
    ),
    Row(
        name="images.get.names",
        since=V(1, 16),
        source="v1.16 reference",
        what="GET /images/get?names= (a tar of several images)",
    ),
    Row(
        name="images.tag.conflict",
        until=V(1, 21),
        source="v1.0 .. v1.21 references (force on tag; gone from the v1.22 reference)",
        what="tagging a name another image has: 409 unless force",
    ),
    Row(
        name="images.load",
        since=V(1, 7),
        source="v1.7 reference",
        what="POST /images/load (a tar of images)",
    ),
    Row(
        name="search.registry_keys",
        since=V(1, 7),
        source="v1.7 reference",
        what="search rows as the registry sends them (name, description, star_count, ...)",
    ),
    Row(
        name="images.create.registry",
        until=V(1, 20),
        source="v1.0 .. v1.20 references",
        what="registry on POST /images/create (pull and import)",
    ),
    Row(
        name="push.auth_body",
        since=V(1, 2),
        until=V(1, 4),
        source="change log 1.2 and 1.5",
        what="push takes the auth config as its JSON body (the stored login before)",
    ),
    Row(
        name="push.tag",
        since=V(1, 10),
        source="v1.10 reference",
        what="tag on POST /images/(name)/push",
    ),
    Row(
        name="error_detail",
        since=V(1, 8),
        source="change log 1.8",
        what="errorDetail {code, message} beside error in JSON streams",
    ),
    Row(
        name="build.remote",
        since=V(1, 2),
        source="v1.2 reference",
        what="remote (a context URL) on build",
    ),
    Row(name="build.q", since=V(1, 3), source="v1.3 reference", what="q on build"),
    Row(name="build.nocache", since=V(1, 4), source="v1.4 reference", what="nocache on build"),
    Row(
        name="build.rm",
        since=V(1, 5),
        gaps=((V(1, 6), V(1, 8)),),
        source="v1.5 reference (v1.6 .. v1.8's have no rm, v1.9's lists it again)",
        what="rm on build",
    ),
    Row(
        name="build.rm.default",
        since=V(1, 12),
        source="v1.12 reference",
        what="build removes intermediate containers unless rm=0",
    ),
    Row(name="build.forcerm", since=V(1, 12), source="change log 1.12", what="forcerm on build"),
    Row(
        name="build.registry_auth",
        since=V(1, 8),
        until=V(1, 8),
        source="v1.8 reference (v1.7's has none; change log 1.9 replaces it)",
        what="X-Registry-Auth (one AuthConfig) on build",
    ),
    Row(
        name="build.registry_config.bare",
        since=V(1, 19),
        source="v1.19 reference",
        what="X-Registry-Config as a bare {registry: auth} map",
    ),
    Row(
        name="commit.run",
        since=V(1, 7),
        until=V(1, 8),
        source="v1.7 and v1.8 references (docker's code read the body throughout)",
        what="commit's config as the JSON `run` query parameter (the body otherwise)",
    ),
    Row(
        name="commit.comment",
        since=V(1, 12),
        source="v1.12 reference (m before; docker's code read comment throughout)",
        what="commit's message as comment (m before)",
    ),
)

BY_NAME: dict[str, Row] = {row.name: row for row in ROWS}


def row(name: str) -> Row:
    """The row for ``name``; KeyError for a name the table lacks."""
    return BY_NAME[name]


def has(name: str, version: ApiVersion) -> bool:
    """Whether an engine answering at ``version`` has ``name``."""
    return BY_NAME[name].holds(version)
