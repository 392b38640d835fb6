"""The stub engine's containers, attach, exec and events endpoints (sans-IO).

Strategy: each handler reads the request through its
:class:`~wireproto.engine.routes.Context`, changes or reads the
:class:`~wireproto.engine.world.World`, and answers through the connection's
reply builders.  Scripted containers serve their output from the script's
pre-encoded blocks (the fast path ``wireproto bench`` measures).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from wireproto import jsonstream, mux
from wireproto.engine import eras, programs, query, rootfs, wsattach
from wireproto.engine.routes import Context, Route
from wireproto.engine.script import (
    ATTACH_PIECE,
    LOG_PIECE,
    Container,
    Encoded,
    ScriptedEvent,
    Stamper,
    chunk,
)
from wireproto.engine.world import NANOS, ContainerRecord, ExecRecord, Feed, Pipe
from wireproto.units import human_duration
from wireproto.versions import ApiVersion

if TYPE_CHECKING:
    from wireproto.engine.messages import Reply

# dockerd from 1.13 answers 304 to starting a running (stopping a stopped) container, at
# every prefix it serves (the v1.13 reference); older engines answered an error.
NOT_MODIFIED_ENGINE = ApiVersion(1, 13)
# From 1.24 dockerd refuses a start request with a body (HostConfig belongs in create).
START_WITHOUT_BODY = ApiVersion(1, 24)
START_BODY_REFUSED = (
    "starting container with non-empty request body was deprecated since API v1.22 and "
    "removed in v1.24"
)
# Engines from 1.4 refuse top to a client below 1.4 (docker v0.5.3 .. v1.0.0 api.go).
TOP_OLD_CLIENT = "top was improved a lot since 1.3, Please upgrade your docker client."
# Engines from 1.22 send events with Type, Action and Actor (dockerd 20.10 among them).
MODERN_EVENTS = ApiVersion(1, 22)
# The version from which dockerd sends the wait's head before the container stops.
WAIT_HEAD_FIRST = ApiVersion(1, 30)

# Seconds between an exec stream's head and its first output.  A real process starts after
# the stream is set up, so its output never shares a read with the head; clients that read
# the head through a buffered reader (docker-py) lose whatever came in the same read.
HIJACK_SETTLE = 0.05

# Bytes per write of a streamed body (the socket loop writes piece by piece).
PIECE = 64 * 1024


def paced_piece(rate: float | None) -> int:
    """Bytes per write: 64 KiB, or a twentieth of a second's worth when paced.

    The pace allows each write once the bytes before it are due, so a write is a
    burst: at a low rate a 64 KiB one would arrive seconds ahead of its time.
    """
    return PIECE if not rate else max(1, min(PIECE, int(rate / 20)))


def _engine_has(ctx: Context, row: str) -> bool:
    """Whether the engine itself (not the request's version) has the ``eras`` row ``row``:
    what an engine wrote from its own structs did not change with the client's prefix."""
    return eras.has(row, ctx.world.api_version)


def _found(ctx: Context) -> ContainerRecord | Reply:
    ref = ctx.params["id"]
    found = ctx.world.container(ref)
    if found is None:
        return ctx.error(404, f"No such container: {ref}")
    return found


# --- list, create, inspect ----------------------------------------------------------------


def list_containers(ctx: Context) -> Reply:
    """Newest first; which rows is read as the engine of its version reads the query.

    Engines up to 1.12 take ``since``/``before`` (an id or a name) as query parameters;
    dockerd 20.10 ignores those and reads them from ``filters`` only, with name, id,
    status, label, exited and ancestor (``daemon/list.go``).
    """
    # (ties, e.g. a script's containers, all made at its base time: in the script's order)
    newest_first = sorted(ctx.world.containers.values(), key=lambda c: -c.created_ns)
    limit_text = ctx.query("limit")
    limit = _limit(ctx, limit_text)
    chosen: Callable[[ContainerRecord], bool] = lambda c: True  # noqa: E731
    if ctx.world.api_version >= MODERN_EVENTS:
        found = query.filters(ctx.query("filters"))
        since, before, chosen, every = _modern_filters(ctx, found)
    else:
        since, before = _named(ctx, ctx.query("since")), _named(ctx, ctx.query("before"))
        every = bool(ctx.query("since") or ctx.query("before"))
        if ctx.has("containers.list.filters"):
            chosen = _status_filters(query.filters(ctx.query("filters")))
    show_all = ctx.flag("all") or limit > 0 or every
    rows: list[ContainerRecord] = []
    for container in newest_first:
        if before is not None:  # skip down to (and past) the ``before`` container
            if container is before:
                before = None
            continue
        if container is since or (limit > 0 and len(rows) == limit):
            break
        if (container.running or show_all) and chosen(container):
            rows.append(container)
    return ctx.json([summary(ctx, c) for c in rows])


def _limit(ctx: Context, text: str) -> int:
    if not text:
        return 0
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        # Go's strconv.Atoi error, answered 500 by the engine's router
        raise query.QueryError(500, f'strconv.Atoi: parsing "{text}": invalid syntax')
    return int(text)


def _named(ctx: Context, ref: str) -> ContainerRecord | None:
    if not ref:
        return None
    found = ctx.world.container(ref)
    if found is None:
        raise query.QueryError(500, f"Could not find container with name or id {ref}")
    return found


# The list filters dockerd 20.10 accepts (acceptedPsFilterTags) and the states status takes.
PS_FILTERS = frozenset(
    [
        "ancestor",
        "before",
        "exited",
        "health",
        "id",
        "isolation",
        "is-task",
        "label",
        "name",
        "network",
        "publish",
        "since",
        "status",
        "volume",
        "expose",
    ]
)
STATES = frozenset(["created", "restarting", "running", "removing", "paused", "exited", "dead"])


def _modern_filters(
    ctx: Context, found: dict[str, list[str]]
) -> tuple[ContainerRecord | None, ContainerRecord | None, Callable[[ContainerRecord], bool], bool]:
    """(since, before, the row test, whether stopped containers show) from 20.10's filters."""
    for key in found:
        if key not in PS_FILTERS:
            raise query.QueryError(400, f"Invalid filter '{key}'")
    for state in found.get("status", []):
        if state not in STATES:
            raise query.QueryError(400, f"Invalid filter 'status={state}'")
    codes = [_exit_code(text) for text in found.get("exited", [])]
    since = before = None
    for ref in found.get("since", []):
        since = _by_id_or_name(ctx, ref)
    for ref in found.get("before", []):
        before = _by_id_or_name(ctx, ref)
    ancestors = {i.id for ref in found.get("ancestor", []) if (i := ctx.world.image(ref))}

    def chosen(c: ContainerRecord) -> bool:
        return (
            (_matches(found.get("name"), c.name) or _matches(found.get("name"), "/" + c.name))
            and _matches(found.get("id"), c.id)
            and _labels_match(found.get("label", []), c.config.get("Labels"))
            and (not codes or (not c.running and bool(c.started_ns) and c.exit_code in codes))
            and _matches(found.get("status"), c.state)
            and ("ancestor" not in found or c.image_id in ancestors)
        )

    return since, before, chosen, "status" in found


def _exit_code(text: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise query.QueryError(500, f'strconv.Atoi: parsing "{text}": invalid syntax')
    return int(text)


def _by_id_or_name(ctx: Context, ref: str) -> ContainerRecord:
    found = ctx.world.container(ref)
    if found is None:
        raise query.QueryError(404, f"No such container: {ref}")
    return found


def _matches(patterns: list[str] | None, value: str) -> bool:
    """filters.Match: no values, an exact value, or a regular expression found in ``value``."""
    if not patterns or value in patterns:
        return True
    for pattern in patterns:
        try:
            if re.search(pattern, value):
                return True
        except re.error:
            continue  # Go skips a value that is no regular expression
    return False


def _labels_match(wanted: list[str], labels: object) -> bool:
    """filters.MatchKVList: every ``key`` present, every ``key=value`` equal."""
    have = labels if isinstance(labels, dict) else {}
    for item in wanted:
        key, sep, value = item.partition("=")
        if key not in have or (sep and str(have[key]) != value):
            return False
    return True


def _status_filters(found: dict[str, list[str]]) -> Callable[[ContainerRecord], bool]:
    """1.12's filters: exited (an exit code of a stopped container) and status."""
    codes = [_exit_code(text) for text in found.get("exited", [])]
    return lambda c: (
        (not codes or (not c.running and c.exit_code in codes))
        and _matches(found.get("status"), c.state)
    )


def summary(ctx: Context, container: ContainerRecord) -> dict[str, object]:
    """A container row as the engine of its version wrote it (see the eras rows)."""
    if not _engine_has(ctx, "containers.list.modern"):  # up to 1.12: docker's own rows
        return _old_summary(ctx, container)
    return {
        "Id": container.id,
        "Names": ["/" + container.name],
        "Image": container.image,
        "ImageID": container.image_id,
        "Command": _command(ctx, container.argv),
        "Created": container.created_ns // NANOS,
        "State": container.state,
        "Status": _status(ctx, container),
        "Ports": _ports(container),
        "Labels": container.config.get("Labels") or {},
        **({"SizeRw": 0, "SizeRootFs": 0} if ctx.flag("size") else {}),
    }


def _old_summary(ctx: Context, container: ContainerRecord) -> dict[str, object]:
    row: dict[str, object] = {
        "Id": container.id,
        "Image": container.image,
        "Command": _command(ctx, container.argv),
        "Created": container.created_ns // NANOS,
        "Status": _status(ctx, container),
        # Before 1.5 a port mapping was one string ("" with none), per the change log.
        "Ports": _ports(container) if ctx.has("containers.ports.list") else "",
    }
    if _engine_has(ctx, "containers.list.env_rows"):
        if ctx.flag("size"):
            row.update(SizeRw=0, SizeRootFs=0)
    elif _engine_has(ctx, "containers.list.sizes_always"):
        row.update(SizeRw=0, SizeRootFs=0)
    # Engines of 1.6 .. 1.8 answer a request below 1.5 with the old struct, which has no Names.
    env_rows = _engine_has(ctx, "containers.list.env_rows")
    legacy = not ctx.has("containers.ports.list") and not env_rows
    if _engine_has(ctx, "containers.list.names") and not legacy:
        row["Names"] = ["/" + container.name]
    return row


def _ports(container: ContainerRecord) -> list[dict[str, object]]:
    """A scripted container's port rows; IP and PublicPort left out when empty (omitempty)."""
    rows = container.scripted.ports if container.scripted else ()
    return [
        {
            **({"IP": ip} if ip else {}),
            "PrivatePort": private,
            **({"PublicPort": public} if public else {}),
            "Type": kind,
        }
        for ip, private, public, kind in rows
    ]


def _command(ctx: Context, argv: list[str]) -> str:
    path, args = (argv[0], argv[1:]) if argv else ("sh", [])
    if not _engine_has(ctx, "containers.list.command_quoted"):
        return f"{path} {' '.join(args)}"  # a trailing space without args, as they wrote it
    quoted = [f"'{arg}'" if " " in arg else arg for arg in args]
    return " ".join([path, *quoted])


def _status(ctx: Context, container: ContainerRecord) -> str:
    """State.String() of the engine's version, with its HumanDuration."""
    now = ctx.world.now_ns()
    legacy = not _engine_has(ctx, "containers.status.go_units")
    if container.running:
        up = f"Up {human_duration((now - container.started_ns) // NANOS, legacy=legacy)}"
        return up + (" (Paused)" if container.state == "paused" else "")
    if not _engine_has(ctx, "containers.status.exited_ago"):
        return f"Exit {container.exit_code}"
    if not container.started_ns and _engine_has(ctx, "containers.status.created"):
        return "Created"
    if not container.finished_ns:
        return ""
    ago = human_duration((now - container.finished_ns) // NANOS, legacy=legacy)
    return f"Exited ({container.exit_code}) {ago} ago"


def create(ctx: Context) -> Reply:
    config = ctx.body_json()
    if not isinstance(config, dict):
        return ctx.error(400, "config cannot be empty in order to create a container")
    image_ref = str(config.get("Image") or "")
    image = ctx.world.image(image_ref)
    if image is None:
        return ctx.error(404, f"No such image: {image_ref}")
    name = ctx.query("name") if ctx.has("containers.create.name") else ""
    name = name.removeprefix("/")
    if name and any(c.name == name for c in ctx.world.containers.values()):
        message = f'Conflict. The container name "/{name}" is already in use.'
        return ctx.error(409, message)
    container = ctx.world.create_container(
        name or _generated_name(ctx), image, dict(config), image_ref
    )
    return ctx.json(_created(ctx, container.id), 201)


def _created(ctx: Context, ident: str) -> dict[str, object]:
    """create's answer with no warnings: Warnings omitted (1.1 .. 1.8), [] (dockerd), or
    null (docker v0.3's ApiRun and the engine.Env of v0.8 .. v1.0)."""
    if _engine_has(ctx, "containers.create.warnings_omitted"):
        return {"Id": ident}
    empty: list[str] | None = [] if _engine_has(ctx, "containers.create.warnings_list") else None
    return {"Id": ident, "Warnings": empty}


def _generated_name(ctx: Context) -> str:
    return f"stub_{len(ctx.world.containers) + 1}"


def inspect(ctx: Context) -> Reply:
    container = _found(ctx)
    if not isinstance(container, ContainerRecord):
        return container
    if not _engine_has(ctx, "containers.inspect.modern"):
        return ctx.json(_old_inspect(ctx, container))
    document: dict[str, object] = {
        "Id": container.id,
        "Name": "/" + container.name,
        "Created": _iso(container.created_ns),
        "Path": container.argv[0] if container.argv else "",
        "Args": container.argv[1:],
        "Image": container.image_id,
        "State": {
            "Status": container.state,
            "Running": container.running,
            "Paused": container.state == "paused",
            "Restarting": False,
            "OOMKilled": False,
            "Dead": False,
            "ExitCode": container.exit_code,
            "Pid": container.pid,
            "Error": "",
            "StartedAt": _iso(container.started_ns),
            "FinishedAt": _iso(container.finished_ns),
        },
        "Config": container.config,
        "HostConfig": container.host_config,
        "NetworkSettings": {"Networks": {}},
        "Mounts": [],
        "RestartCount": container.restarts,
    }
    return ctx.json(document)


def _old_inspect(ctx: Context, container: ContainerRecord) -> dict[str, object]:
    """The engine's Container struct as docker v0.3 .. v1.0 wrote it (one eras row a field)."""

    def has(row: str) -> bool:
        return _engine_has(ctx, row)

    ip = "IP" if has("containers.inspect.ip_address") else "Ip"
    network: dict[str, object] = {
        f"{ip}Address": "",
        f"{ip}PrefixLen": 0,
        "Gateway": "",
        "Bridge": "",
        "PortMapping": None,
        **({"Ports": None} if has("containers.inspect.name") else {}),
    }
    fields: list[tuple[str, str | None, object]] = [
        ("Id" if has("containers.inspect.id") else "ID", None, container.id),
        ("Created", None, _iso(container.created_ns)),
        ("Path", None, container.argv[0] if container.argv else ""),
        ("Args", None, container.argv[1:]),
        ("Config", None, container.config),
        ("State", None, _old_state(ctx, container)),
        ("Image", None, container.image_id),
        ("NetworkSettings", None, network),
        ("SysInitPath", "containers.inspect.sys_init_path", "/usr/bin/docker"),
        ("ResolvConfPath", None, "/etc/resolv.conf"),
        ("HostnamePath", "containers.inspect.hosts_path", ""),
        ("HostsPath", "containers.inspect.hosts_path", ""),
        ("Name", "containers.inspect.name", "/" + container.name),
        ("Driver", "containers.inspect.driver", "vfs"),
        ("ExecDriver", "containers.inspect.exec_driver", "native-0.2"),
        ("MountLabel", "containers.inspect.labels", ""),
        ("ProcessLabel", "containers.inspect.labels", ""),
        ("Volumes", None, {}),
        ("VolumesRW", "containers.inspect.volumes_rw", {}),
        ("HostConfig", "containers.inspect.host_config", container.host_config),
    ]
    return {key: value for key, row, value in fields if row is None or has(row)}


def _old_state(ctx: Context, container: ContainerRecord) -> dict[str, object]:
    state: dict[str, object] = {"Running": container.running}
    if _engine_has(ctx, "containers.inspect.paused"):
        state["Paused"] = container.state == "paused"
    state.update(Pid=container.pid, ExitCode=container.exit_code)
    state["StartedAt"] = _iso(container.started_ns)
    if _engine_has(ctx, "containers.inspect.finished_at"):
        state["FinishedAt"] = _iso(container.finished_ns)
    if _engine_has(ctx, "containers.inspect.ghost"):
        state["Ghost"] = False
    return state


def _iso(nanos: int) -> str:
    if not nanos:
        return "0001-01-01T00:00:00Z"
    seconds, fraction = divmod(nanos, NANOS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}Z"


def top(ctx: Context) -> Reply:
    container = _found(ctx)
    if not isinstance(container, ContainerRecord):
        return container
    if not ctx.has("containers.top.titles") and _engine_has(ctx, "containers.top.titles"):
        return ctx.error(500, TOP_OLD_CLIENT)
    if not container.running:
        return ctx.error(409, f"Container {container.id} is not running")
    command = " ".join(container.argv)
    if ctx.has("containers.top.titles"):
        titles = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
        process = ["root", str(container.pid), "1", "0", "00:00", "?", "00:00:00", command]
        return ctx.json({"Titles": titles, "Processes": [process]})
    # Before 1.4: a list of {PID, Tty, Time, Cmd} (the v1.3 reference).
    return ctx.json([{"PID": str(container.pid), "Tty": "?", "Time": "00:00:00", "Cmd": command}])


def changes(ctx: Context) -> Reply:
    container = _found(ctx)
    if not isinstance(container, ContainerRecord):
        return container
    return ctx.json([])


def export(ctx: Context) -> Reply:
    container = _found(ctx)
    if not isinstance(container, ContainerRecord):
        return container
    tar = rootfs.archive(rootfs.files(container.id, container.name))
    return ctx.conn.document(200, tar or b"", "application/x-tar")


def copy(ctx: Context) -> Reply:
    container = _found(ctx)
    if not isinstance(container, ContainerRecord):
        return container
    body = ctx.body_json()
    resource = body.get("Resource") if isinstance(body, dict) else None
    if not isinstance(resource, str) or not resource:
        return ctx.error(400, "Path cannot be empty")
    tar = rootfs.archive(rootfs.files(container.id, container.name), resource)
    if tar is None:
        # dockerd 1.x: the copy job's error, which names no "No such": a 500.
        return ctx.error(500, f"Could not find the file {resource} in container {container.name}")
    return ctx.conn.document(200, tar, "application/x-tar")


# --- lifecycle ------------------------------------------------------------------------------


def start(ctx: Context) -> Reply:
    container = _found(ctx)
    if not isinstance(container, ContainerRecord):
        return container
    if container.running:
        if ctx.world.api_version >= NOT_MODIFIED_ENGINE:
            return ctx.empty(304)
        if not _engine_has(ctx, "containers.start.running_ok"):
            message = f"The container {container.id} is already running."
            return ctx.error(500, f"Cannot start container {ctx.params['id']}: {message}")
        return ctx.empty(204 if ctx.has("containers.start.no_content") else 200)
    body = ctx.body_json()
    if body and ctx.version >= START_WITHOUT_BODY:
        return ctx.error(400, START_BODY_REFUSED)
    if isinstance(body, dict) and body and ctx.has("containers.start.host_config"):
        container.host_config.update(body)
    ctx.world.start(container)
    return ctx.empty(204 if ctx.has("containers.start.no_content") else 200)


def stop(ctx: Context) -> Reply:
    container = _found(ctx)
    if not isinstance(container, ContainerRecord):
        return container
    if not container.running:
        if ctx.world.api_version >= NOT_MODIFIED_ENGINE:
            return ctx.empty(304)
        return ctx.empty(204)
    signal = programs.signal_number(str(container.config.get("StopSignal") or "SIGTERM")) or 15
    ctx.world.signal(container, signal, "kill")
    if container.running:  # a program that outlives SIGTERM is killed (no grace period here)
        ctx.world.signal(container, 9, "kill")
    ctx.world.emit("container", "stop", container.id, image=container.image, name=container.name)
    return ctx.empty(204)


def restart(ctx: Context) -> Reply:
    container = _found(ctx)
    if not isinstance(container, ContainerRecord):
        return container
    if container.running:
        ctx.world.signal(container, 15, "kill")
        if container.running:
            ctx.world.signal(container, 9, "kill")
    container.restarts += 1
    ctx.world.start(container)
    ctx.world.emit("container", "restart", container.id, image=container.image, name=container.name)
    return ctx.empty(204)


def kill(ctx: Context) -> Reply:
    container = _found(ctx)
    if not isinstance(container, ContainerRecord):
        return container
    if not container.running:
        return ctx.error(409, f"Container {container.id} is not running")
    text = ctx.query("signal") if ctx.has("containers.kill.signal") else ""
    number = programs.signal_number(text or "SIGKILL")
    named = bool(text) and not text.isdigit()
    if number is None or (named and not ctx.has("containers.kill.signal_name")):
        return ctx.error(400, f"Invalid signal: {text}")
    ctx.world.signal(container, number, "kill")
    return ctx.empty(204)


def pause(ctx: Context) -> Reply:
    return _pause(ctx, "running", "paused", "pause")


def unpause(ctx: Context) -> Reply:
    return _pause(ctx, "paused", "running", "unpause")


def _pause(ctx: Context, before: str, after: str, action: str) -> Reply:
    container = _found(ctx)
    if not isinstance(container, ContainerRecord):
        return container
    if container.state != before:
        return ctx.error(409, f"Container {container.id} is not {before}")
    container.state = after
    ctx.world.emit("container", action, container.id, image=container.image, name=container.name)
    return ctx.empty(204)


def remove(ctx: Context) -> Reply:
    container = _found(ctx)
    if not isinstance(container, ContainerRecord):
        return container
    force = ctx.flag("force") and ctx.has("containers.delete.force")
    if container.running and not force:
        message = (
            f"You cannot remove a running container {container.id}. "
            "Stop the container before attempting removal or force remove"
        )
        return ctx.error(409, message)
    if container.running:
        ctx.world.signal(container, 9, "kill")
    if not container.removed:
        ctx.world.remove(container)
    return ctx.empty(204)


def resize(ctx: Context) -> Reply:
    container = _found(ctx)
    if not isinstance(container, ContainerRecord):
        return container
    return ctx.empty(200)


def wait(ctx: Context) -> Reply:
    container = _found(ctx)
    if not isinstance(container, ContainerRecord):
        return container
    condition = ctx.query("condition") or "not-running"
    feed = Feed()
    # From 1.30 dockerd answers the head at once (clients wait for it before starting the
    # container); before, the whole reply came when the container stopped.
    early = ctx.version >= WAIT_HEAD_FIRST
    reply = ctx.conn.streamed((), "application/json", feed=feed) if early else ctx.conn.later(feed)

    def answer() -> None:
        document: dict[str, object] = {"StatusCode": container.exit_code}
        if _engine_has(ctx, "containers.wait.error"):
            document = {"Error": None, **document}
        if early:
            feed.push(chunk(json.dumps(document, separators=(",", ":")).encode() + b"\n"))
        else:
            feed.push(ctx.json(document).head)
        feed.end()

    if container.scripted is not None:  # a scripted container's run is its script: done
        answer()
    elif condition == "removed":
        if container.removed:
            answer()
        else:
            _once(container.on_remove, feed, answer)
    elif condition == "next-exit" or container.running:
        _once(container.on_exit, feed, answer)
    else:
        answer()
    return reply


def _once(callbacks: list[Callable[[], None]], feed: Feed, callback: Callable[[], None]) -> None:
    """``callback`` at the next event of ``callbacks``, unless the feed's reader left first."""
    callbacks.append(callback)

    def forget() -> None:
        if callback in callbacks:
            callbacks.remove(callback)

    feed.on_close.append(forget)


# --- logs and attach ------------------------------------------------------------------------


def _streams(ctx: Context) -> set[int] | None:
    streams = {s for s, name in ((mux.STDOUT, "stdout"), (mux.STDERR, "stderr")) if ctx.flag(name)}
    return streams or None


def logs(ctx: Context) -> Reply:
    container = _found(ctx)
    if not isinstance(container, ContainerRecord):
        return container
    streams = _streams(ctx)
    if streams is None:
        return ctx.error(400, "Bad parameters: you must choose at least one stream")
    scripted = container.scripted
    if scripted is None:
        return _live_logs(ctx, container, streams)
    first, stop, until = _log_window(ctx, scripted)
    encoded = Encoded(
        scripted, chunked=True, piece=LOG_PIECE, streams=streams, timestamps=ctx.flag("timestamps")
    )
    following = ctx.flag("follow") and container.running and until is None
    return ctx.conn.streamed(
        encoded.pieces(first, stop, paced_piece(scripted.output.rate)),
        None,
        rate=scripted.output.rate,
        hold_open=following,
    )


def _live_logs(ctx: Context, container: ContainerRecord, streams: set[int]) -> Reply:
    tail_text = ctx.query("tail")
    kept = container.output
    if re.fullmatch(r"[0-9]+", tail_text):
        kept = kept[len(kept) - min(len(kept), int(tail_text)) :]
    stamps = ctx.flag("timestamps")
    encode = _log_encoder(container.tty, streams, stamps, ctx.world.now_ns)
    body = [encode(stream, data, when) for when, stream, data in kept]
    feed = None
    if ctx.flag("follow") and container.running:
        feed = Feed()
        _watch(container.watchers, container.on_exit, feed, lambda s, d: encode(s, d, None))
    return ctx.conn.streamed([b for b in body if b], None, feed=feed)


def _log_encoder(
    tty: bool, streams: set[int], stamps: bool, now: Callable[[], int]
) -> Callable[[int, bytes, int | None], bytes]:
    def encode(stream: int, data: bytes, when: int | None) -> bytes:
        if stream not in streams:
            return b""
        if stamps:
            data = Stamper()(now() if when is None else when) + data
        return chunk(data if tty else mux.encode(stream, data))

    return encode


def _watch(
    watchers: list[Callable[[int, bytes], None]],
    exits: list[Callable[[], None]],
    feed: Feed,
    encode: Callable[[int, bytes], bytes],
    *,
    at_exit: Callable[[], None] | None = None,
) -> None:
    """Output pushed to ``feed`` as it is written, until the exit (then ``at_exit``, by
    default the feed's end); both subscriptions end with the reader."""
    ending = at_exit or feed.end

    def watcher(stream: int, data: bytes) -> None:
        feed.push(encode(stream, data))

    watchers.append(watcher)
    exits.append(ending)

    def unsubscribe() -> None:
        if watcher in watchers:
            watchers.remove(watcher)
        if ending in exits:
            exits.remove(ending)

    feed.on_close.append(unsubscribe)


def _log_window(ctx: Context, container: Container) -> tuple[int, int, int | None]:
    """(first, stop, until) from tail, since and until, read as dockerd 20.10 reads them.

    tail: not an integer, or negative, means all; since: any value filters
    (``-1`` or ``0`` keep everything scripted); until: empty or ``0`` means none.
    """
    tail_text = ctx.query("tail")
    tail = int(tail_text) if re.fullmatch(r"[+-]?[0-9]+", tail_text) else -1
    until_text = ctx.query("until")
    since = query.timestamp(ctx.query("since"))
    until = query.timestamp(until_text) if until_text != "0" else None
    first, stop = container.window(tail if tail >= 0 else None, since, until)
    return first, stop, until


def attach(ctx: Context) -> Reply:
    container = _found(ctx)
    if not isinstance(container, ContainerRecord):
        return container
    scripted = container.scripted
    if scripted is None:
        return _live_attach(ctx, container)
    streams = _streams(ctx) or set()
    encoded = Encoded(scripted, chunked=False, piece=ATTACH_PIECE, streams=streams)
    return ctx.conn.hijack(
        ctx.request,
        tty=scripted.tty,
        body=encoded.pieces(size=paced_piece(scripted.output.rate)),
        rate=scripted.output.rate,
        delay=scripted.attach_delay,
        echo_stdin=ctx.flag("stdin"),
    )


def _framer(ctx: Context, tty: bool, streams: set[int]) -> Callable[[int, bytes], bytes]:
    """Attach and exec frames: raw with a TTY or before 1.6 (stdout and stderr merged)."""
    raw = tty or not ctx.has("attach.multiplexed")

    def frame(stream: int, data: bytes) -> bytes:
        if stream not in streams:
            return b""
        return data if raw else mux.encode(stream, data)

    return frame


def _live_attach(ctx: Context, container: ContainerRecord) -> Reply:
    streams = _streams(ctx) or set()
    frame = _framer(ctx, container.tty, streams)
    body = [frame(s, d) for _, s, d in container.output] if ctx.flag("logs") else []
    feed = None
    sink = None
    if ctx.flag("stream") and container.state != "exited":
        feed = Feed()
        _watch(container.watchers, container.on_exit, feed, frame)
        if ctx.flag("stdin"):
            sink = _AttachedStdin(container.stdin, bool(container.config.get("StdinOnce")))
    attributes = {"image": container.image, "name": container.name}
    ctx.world.emit("container", "attach", container.id, **attributes)
    return ctx.conn.hijack(
        ctx.request, tty=container.tty, body=[b for b in body if b], feed=feed, stdin=sink
    )


class _AttachedStdin:
    """An attach's stdin: its EOF closes the container's only with StdinOnce, as dockerd's."""

    def __init__(self, pipe: Pipe, once: bool) -> None:
        self.pipe, self.once = pipe, once

    def write(self, data: bytes) -> None:
        self.pipe.write(data)

    def close(self) -> None:
        if self.once:
            self.pipe.close()


def attach_ws(ctx: Context) -> Reply:
    """The WebSocket attach (see :mod:`wireproto.engine.wsattach`)."""
    container = _found(ctx)
    if not isinstance(container, ContainerRecord):
        return container
    headers = ctx.request.headers
    refused = wsattach.handshake_refusal(ctx.request.method, headers)
    if refused is not None:
        return ctx.conn.raw(refused, int(refused.split(b" ", 2)[1]))
    binary = ctx.has("attach.ws.binary")
    # Engines from 1.19 attach every stream whatever the query says; older ones read it.
    every = eras.has("attach.ws.every_stream", ctx.world.api_version)
    streams = {mux.STDOUT, mux.STDERR} if every else _streams(ctx) or set()

    def frame(stream: int, data: bytes) -> bytes:
        return wsattach.data_frame(data, binary=binary) if stream in streams and data else b""

    feed = Feed()
    use_stdin = (every or ctx.flag("stdin")) and bool(container.config.get("OpenStdin"))
    once = bool(container.config.get("StdinOnce")) and not container.tty
    sink = wsattach.WSStdin(feed, container.stdin if use_stdin else None, closes_stdin=once)
    head = wsattach.accept_head(headers["sec-websocket-key"])
    if container.scripted is not None:  # its output is its script, whole
        body = [frame(s, d) for s, d in container.scripted.messages()] if ctx.flag("logs") else []
        sink.finish()
        return ctx.conn.websocket(head, body=[b for b in body if b], feed=feed, stdin=sink)
    body = [frame(s, d) for _, s, d in container.output] if ctx.flag("logs") else []
    if ctx.flag("stream") and container.state != "exited":
        _watch(container.watchers, container.on_exit, feed, frame, at_exit=sink.finish)
    else:
        sink.finish()
    attributes = {"image": container.image, "name": container.name}
    ctx.world.emit("container", "attach", container.id, **attributes)
    return ctx.conn.websocket(head, body=[b for b in body if b], feed=feed, stdin=sink)


# --- exec -----------------------------------------------------------------------------------


def exec_create(ctx: Context) -> Reply:
    container = _found(ctx)
    if not isinstance(container, ContainerRecord):
        return container
    if container.state != "running":
        state = "paused" if container.state == "paused" else "not running"
        return ctx.error(409, f"Container {container.id} is {state}")
    config = ctx.body_json()
    if not isinstance(config, dict) or not config.get("Cmd"):
        return ctx.error(400, "No exec command specified")
    record = ctx.world.create_exec(container, config)
    return ctx.json({"Id": record.id}, 201)


def _exec(ctx: Context) -> ExecRecord | Reply:
    found = ctx.world.exec(ctx.params["id"])
    if found is None:
        return ctx.error(404, f"No such exec instance: {ctx.params['id']}")
    return found


def exec_start(ctx: Context) -> Reply:
    record = _exec(ctx)
    if not isinstance(record, ExecRecord):
        return record
    if record.running or record.exit_code is not None:
        return ctx.error(409, f"Error: Exec command {record.id} has already run")
    if record.container.state != "running":
        return ctx.error(409, f"Container {record.container.id} is not running")
    options = ctx.body_json()
    detach = isinstance(options, dict) and bool(options.get("Detach"))
    if detach:
        ctx.world.start_exec(record)
        return ctx.empty(200)
    streams = {
        s
        for s, key in ((mux.STDOUT, "AttachStdout"), (mux.STDERR, "AttachStderr"))
        if record.config.get(key)
    }
    feed = Feed()
    _watch(record.watchers, record.on_exit, feed, _framer(ctx, record.tty, streams))
    sink = record.stdin if record.config.get("AttachStdin") else None
    reply = ctx.conn.hijack(ctx.request, tty=record.tty, feed=feed, stdin=sink, delay=HIJACK_SETTLE)
    ctx.world.start_exec(record)
    return reply


def exec_inspect(ctx: Context) -> Reply:
    record = _exec(ctx)
    if not isinstance(record, ExecRecord):
        return record
    argv = record.argv
    return ctx.json(
        {
            "ID": record.id,
            "Running": record.running,
            "ExitCode": record.exit_code,
            "ProcessConfig": {
                "tty": record.tty,
                "entrypoint": argv[0] if argv else "",
                "arguments": argv[1:],
                "privileged": bool(record.config.get("Privileged")),
                "user": str(record.config.get("User") or ""),
            },
            "OpenStdin": bool(record.config.get("AttachStdin")),
            "OpenStderr": bool(record.config.get("AttachStderr")),
            "OpenStdout": bool(record.config.get("AttachStdout")),
            "CanRemove": False,
            "ContainerID": record.container.id,
            "DetachKeys": "",
            "Pid": record.pid,
        }
    )


def exec_resize(ctx: Context) -> Reply:
    record = _exec(ctx)
    if not isinstance(record, ExecRecord):
        return record
    return ctx.empty(200)


# --- events ---------------------------------------------------------------------------------


def events(ctx: Context) -> Reply:
    until_text = ctx.query("until") if ctx.has("events.until") else ""
    since, until = query.event_window(ctx.query("since"), until_text)
    filters = query.filters(ctx.query("filters")) if ctx.has("events.filters") else {}
    shape = _event_shape(ctx)

    def chosen(event: ScriptedEvent) -> bool:
        return (
            (since is None or since <= event.time_ns)
            and (until is None or event.time_ns <= until)
            and event.matches(filters)
        )

    past = [e for e in ctx.world.events if chosen(e)]
    body: Iterator[bytes] = (chunk(jsonstream.encode(shape(e), b"\n")) for e in past)
    if until_text:
        return ctx.conn.streamed(body, "application/json")
    feed = Feed()

    def follow(event: ScriptedEvent) -> None:
        if chosen(event):
            feed.push(chunk(jsonstream.encode(shape(event), b"\n")))

    feed.on_close.append(ctx.world.subscribe(follow))
    return ctx.conn.streamed(body, "application/json", hold_open=True, feed=feed)


def _event_shape(ctx: Context) -> Callable[[ScriptedEvent], dict[str, object]]:
    """Today's event message; an engine of 1.12 or older sent {status, id, from, time} only,
    ``from`` (the image) from engines of 1.4 (change log 1.4; docker v0.5.2's JSONMessage
    has no From), to every client whatever its version."""
    if ctx.world.api_version >= MODERN_EVENTS:
        return lambda event: event.message()

    def old(event: ScriptedEvent) -> dict[str, object]:
        document: dict[str, object] = {"status": event.action, "id": event.actor}
        if _engine_has(ctx, "events.from"):  # the engine's message struct, any request
            document["from"] = dict(event.attributes).get("image", "")
        document["time"] = event.time
        return document

    return old


ROUTES: tuple[Route, ...] = (
    Route("GET", "/containers/json", list_containers),
    Route("POST", "/containers/create", create),
    Route("GET", "/containers/{id}/json", inspect),
    Route("GET", "/containers/{id}/top", top, row="containers.top"),
    Route("GET", "/containers/{id}/logs", logs, row="containers.logs"),
    Route("GET", "/containers/{id}/changes", changes),
    Route("GET", "/containers/{id}/export", export),
    Route("POST", "/containers/{id}/start", start),
    Route("POST", "/containers/{id}/stop", stop),
    Route("POST", "/containers/{id}/restart", restart),
    Route("POST", "/containers/{id}/kill", kill),
    Route("POST", "/containers/{id}/pause", pause, row="containers.pause"),
    Route("POST", "/containers/{id}/unpause", unpause, row="containers.pause"),
    Route("POST", "/containers/{id}/attach", attach),
    Route("GET", "/containers/{id}/attach/ws", attach_ws, row="attach.ws"),
    Route("POST", "/containers/{id}/resize", resize),
    Route("POST", "/containers/{id}/wait", wait),
    Route("POST", "/containers/{id}/copy", copy, row="containers.copy"),
    Route("DELETE", "/containers/{id}", remove),
    Route("POST", "/containers/{id}/exec", exec_create, row="exec"),
    Route("POST", "/exec/{id}/start", exec_start, row="exec"),
    Route("POST", "/exec/{id}/resize", exec_resize, row="exec"),
    Route("GET", "/exec/{id}/json", exec_inspect, row="exec.inspect"),
    Route("GET", "/events", events, row="events"),
)
