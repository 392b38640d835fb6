"""Container endpoints (API v1.12 and what later versions added for the same jobs).

Each function is pure: it returns a :class:`wireproto.http.Call` and refuses,
with UnsupportedInVersion, what ``version`` lacks (None: unprefixed, the
engine's newest).  Parameters left at their defaults are not sent.
"""

from __future__ import annotations

from collections.abc import Mapping

from wireproto.api import gates, shapes
from wireproto.api._common import Filters, filters_query, make, opt
from wireproto.http import BodyKind, Call
from wireproto.versions import ApiVersion

DOC, EMPTY, TAR, STDIO = BodyKind.DOCUMENT, BodyKind.EMPTY, BodyKind.TAR, BodyKind.STDIO
# 200 for the legacy hijack (every reference); 101 answers the Upgrade: tcp wireproto always
# asks for (documented from v1.17, but today's engines answer it at any version prefix).
HIJACKED = (101, 200)


def list_containers(
    version: ApiVersion | None = None,
    *,
    all: bool = False,
    limit: int | None = None,
    since: str | None = None,
    before: str | None = None,
    size: bool = False,
    filters: Filters | None = None,
) -> Call:
    """``GET /containers/json``: running containers, or every one with ``all``.

    ``limit`` shows the last N created, ``since``/``before`` those created
    after/before a container id, ``size`` adds SizeRw and SizeRootFs (1.3+).
    ``filters`` (1.12+) keeps the rows that match, e.g. ``{"status": ["exited"]}``,
    ``{"label": ["key=value"]}`` (which keys an engine knows depends on it).
    The Ports of each row are strings before 1.5; the Call's ``shape``
    (:func:`wireproto.api.shapes.containers`) gives the list of dicts.
    """
    query = {
        "all": all or None,
        "limit": limit,
        "since": since,
        "before": before,
        "size": opt("containers.list.size", size, version),
        "filters": filters_query("containers.list.filters", filters, version),
    }
    return make(
        "GET",
        "/containers/json",
        version=version,
        query=query,
        kind=DOC,
        statuses=(200,),
        shape=shapes.bind(shapes.containers, version),
    )


def create_container(
    config: Mapping[str, object], version: ApiVersion | None = None, *, name: str | None = None
) -> Call:
    """``POST /containers/create``: ``config`` is the container's JSON config
    (``Image``, ``Cmd``, ``Tty``, ``OpenStdin``, ...); ``name`` names it (1.6, 1.8+).
    Answers 201 with ``{"Id", "Warnings"}``."""
    return make(
        "POST",
        "/containers/create",
        version=version,
        query={"name": opt("containers.create.name", name, version)},
        json_body=dict(config),
        kind=DOC,
        statuses=(201,),
    )


def inspect_container(container: str, version: ApiVersion | None = None) -> Call:
    """``GET /containers/(id)/json``; normalised by :func:`shapes.container_inspect`
    (CamelCase keys, ``NetworkSettings.IPAddress``)."""
    return make(
        "GET",
        "/containers/{}/json",
        container,
        version=version,
        kind=DOC,
        statuses=(200,),
        shape=shapes.bind(shapes.container_inspect, version),
    )


def top(container: str, version: ApiVersion | None = None, *, ps_args: str | None = None) -> Call:
    """``GET /containers/(id)/top`` (1.3+): ``{"Titles", "Processes"}`` (1.4+; one object
    per process at 1.3, normalised by :func:`shapes.top_processes`); ``ps_args`` 1.4+."""
    gates.require("containers.top", version)
    query = {"ps_args": opt("containers.top.ps_args", ps_args, version)}
    return make(
        "GET",
        "/containers/{}/top",
        container,
        version=version,
        query=query,
        kind=DOC,
        statuses=(200,),
        shape=shapes.bind(shapes.top_processes, version),
    )


def logs(
    container: str,
    version: ApiVersion | None = None,
    *,
    follow: bool = False,
    timestamps: bool = False,
    tail: int | str | None = None,
    since: str | int | None = None,
    until: str | int | None = None,
    stdout: bool = True,
    stderr: bool = True,
    tty: bool | None = None,
) -> Call:
    """``GET /containers/(id)/logs`` (1.11+): multiplexed output, or raw with a TTY.

    ``tail`` (1.13+) is a line count or ``"all"``; ``since`` (1.19+) and
    ``until`` (1.35+) are Unix timestamps.  ``tty`` is what the caller knows
    of the container's TTY (None: the framing is told from the stream).
    """
    gates.require("containers.logs", version)
    query = {
        "follow": follow or None,
        "stdout": stdout,
        "stderr": stderr,
        "timestamps": timestamps or None,
        "tail": opt("logs.tail", _text(tail), version),
        "since": opt("logs.since", _text(since), version),
        "until": opt("logs.until", _text(until), version),
    }
    return make(
        "GET",
        "/containers/{}/logs",
        container,
        version=version,
        query=query,
        kind=STDIO,
        statuses=(200,),
        tty=tty,
        endpoint="logs",
        bulk=not follow,
    )


def _text(value: int | str | None) -> str | None:
    return None if value is None else str(value)


def changes(container: str, version: ApiVersion | None = None) -> Call:
    """``GET /containers/(id)/changes``: ``[{"Path", "Kind"}]``, Kind 0 modified, 1 added,
    2 deleted."""
    return make(
        "GET", "/containers/{}/changes", container, version=version, kind=DOC, statuses=(200,)
    )


def export(container: str, version: ApiVersion | None = None) -> Call:
    """``GET /containers/(id)/export``: the container's filesystem as a tar stream."""
    return make(
        "GET", "/containers/{}/export", container, version=version, kind=TAR, statuses=(200,)
    )


def start(
    container: str,
    version: ApiVersion | None = None,
    *,
    host_config: Mapping[str, object] | None = None,
) -> Call:
    """``POST /containers/(id)/start``: 204 (200 until 1.3), or 304 (1.12+) when it already runs.

    ``host_config`` (``Binds``, ``PortBindings``, ...) is the 1.3 .. 1.23
    way to set them; from 1.24 they belong in create's config.
    """
    config = opt("containers.start.host_config", host_config, version)
    return make(
        "POST",
        "/containers/{}/start",
        container,
        version=version,
        json_body=dict(config) if config is not None else None,
        kind=EMPTY,
        statuses=_with_not_modified(
            (204,) if gates.has("containers.start.no_content", version) else (200,), version
        ),
    )


def _with_not_modified(statuses: tuple[int, ...], version: ApiVersion | None) -> tuple[int, ...]:
    """``statuses`` and, from 1.12, 304: start and stop with nothing to do."""
    return (*statuses, 304) if gates.has("containers.not_modified", version) else statuses


def stop(container: str, version: ApiVersion | None = None, *, timeout: int | None = None) -> Call:
    """``POST /containers/(id)/stop?t=``: 204, or 304 (1.12+) when already stopped.

    ``timeout``: seconds to wait before killing it (the engine's default: 10).
    """
    return make(
        "POST",
        "/containers/{}/stop",
        container,
        version=version,
        query={"t": timeout},
        kind=EMPTY,
        statuses=_with_not_modified((204,), version),
    )


def restart(
    container: str, version: ApiVersion | None = None, *, timeout: int | None = None
) -> Call:
    """``POST /containers/(id)/restart?t=``: stop (waiting ``timeout`` s), then start; 204."""
    return make(
        "POST",
        "/containers/{}/restart",
        container,
        version=version,
        query={"t": timeout},
        kind=EMPTY,
        statuses=(204,),
    )


def kill(
    container: str, version: ApiVersion | None = None, *, signal: str | int | None = None
) -> Call:
    """``POST /containers/(id)/kill``: SIGKILL, or ``signal``; 204.

    ``signal`` is a number (1.6+) or a name such as ``"SIGHUP"`` (1.9+).
    """
    query = {"signal": _signal(signal, version)}
    return make(
        "POST",
        "/containers/{}/kill",
        container,
        version=version,
        query=query,
        kind=EMPTY,
        statuses=(204,),
    )


def _signal(signal: str | int | None, version: ApiVersion | None) -> str | None:
    if signal is None:
        return None
    text = str(signal)
    # A name needs 1.9 whatever else: say so, not that 1.7 and 1.8 lack the parameter.
    if not text.isdigit():
        gates.require("containers.kill.signal_name", version)
    gates.require("containers.kill.signal", version)
    return text


def pause(container: str, version: ApiVersion | None = None) -> Call:
    """``POST /containers/(id)/pause`` (1.12+): freezes its processes; 204."""
    gates.require("containers.pause", version)
    return make(
        "POST", "/containers/{}/pause", container, version=version, kind=EMPTY, statuses=(204,)
    )


def unpause(container: str, version: ApiVersion | None = None) -> Call:
    """``POST /containers/(id)/unpause`` (1.12+): thaws a paused container; 204."""
    gates.require("containers.pause", version)
    return make(
        "POST", "/containers/{}/unpause", container, version=version, kind=EMPTY, statuses=(204,)
    )


def attach(
    container: str,
    version: ApiVersion | None = None,
    *,
    stdin: bool = False,
    stdout: bool = True,
    stderr: bool = True,
    logs: bool = False,
    stream: bool = True,
    tty: bool | None = None,
    detach_keys: str | None = None,
) -> Call:
    """``POST /containers/(id)/attach``, hijacked: stdin up, output down.

    ``logs`` replays the output so far, ``stream`` follows new output.  The
    stream is multiplexed without a TTY from 1.6, raw before (and with a TTY).
    ``detach_keys`` (1.22+, e.g. ``ctrl-p,ctrl-q``, the engine's default) is
    the stdin sequence on which the engine ends a TTY attach.
    """
    query: dict[str, bool | str | None] = {
        "logs": logs,
        "stream": stream,
        "stdin": stdin,
        "stdout": stdout,
        "stderr": stderr,
        "detachKeys": opt("containers.attach.detach_keys", detach_keys, version),
    }
    if not gates.has("multiplexed", version):
        tty = True  # raw whatever the container's TTY: no frame headers before 1.6
    return make(
        "POST",
        "/containers/{}/attach",
        container,
        version=version,
        query=query,
        kind=STDIO,
        statuses=HIJACKED,
        hijack=True,
        tty=tty,
        endpoint="attach",
    )


def attach_ws(
    container: str,
    version: ApiVersion | None = None,
    *,
    stdin: bool = False,
    stdout: bool = True,
    stderr: bool = True,
    logs: bool = False,
    stream: bool = True,
) -> Call:
    """``GET /containers/(id)/attach/ws``: attach over a WebSocket.

    Run it with :mod:`wireproto.ws`.  Never multiplexed; output comes as
    text frames before 1.28, binary frames from 1.28.  The references list
    200 for it, but a WebSocket handshake succeeds with 101 only.  1.4+.
    """
    gates.require("containers.attach_ws", version)
    query = {"logs": logs, "stream": stream, "stdin": stdin, "stdout": stdout, "stderr": stderr}
    return make(
        "GET",
        "/containers/{}/attach/ws",
        container,
        version=version,
        query=query,
        kind=STDIO,
        statuses=(101,),
        hijack=True,
        tty=True,
        endpoint="attach.ws",
    )


def wait(
    container: str, version: ApiVersion | None = None, *, condition: str | None = None
) -> Call:
    """``POST /containers/(id)/wait``: blocks until it stops; ``{"StatusCode"}``.

    ``condition`` (1.30+): ``not-running``, ``next-exit`` or ``removed``.
    """
    query = {"condition": opt("wait.condition", condition, version)}
    return make(
        "POST",
        "/containers/{}/wait",
        container,
        version=version,
        query=query,
        kind=DOC,
        statuses=(200,),
    )


def remove_container(
    container: str, version: ApiVersion | None = None, *, volumes: bool = False, force: bool = False
) -> Call:
    """``DELETE /containers/(id)``: 204.  ``volumes`` (``v=1``) removes its volumes,
    ``force`` (1.10+) kills it first if it runs."""
    query = {"v": volumes or None, "force": opt("containers.delete.force", force, version)}
    return make(
        "DELETE",
        "/containers/{}",
        container,
        version=version,
        query=query,
        kind=EMPTY,
        statuses=(204,),
    )


def copy(container: str, resource: str, version: ApiVersion | None = None) -> Call:
    """``POST /containers/(id)/copy`` (1.4 .. 1.23): the file or directory ``resource``
    as a tar stream."""
    gates.require("containers.copy", version)
    return make(
        "POST",
        "/containers/{}/copy",
        container,
        version=version,
        json_body={"Resource": resource},
        kind=TAR,
        statuses=(200,),
    )


def resize(container: str, height: int, width: int, version: ApiVersion | None = None) -> Call:
    """``POST /containers/(id)/resize?h=&w=``: the container's TTY size, in characters.

    First documented in the v1.15 reference, but served by every engine from the first
    release (docker v0.3.4, API 1.0) on: no version lacks it.
    """
    return make(
        "POST",
        "/containers/{}/resize",
        container,
        version=version,
        query={"h": height, "w": width},
        kind=EMPTY,
        statuses=(200,),
    )
