"""The stub engine's containers, attach, exec and events endpoints (sans-IO).

Strategy: each handler reads the request through its
:class:`~wireproto.engine.routes.Context`, changes or reads the
:class:`~wireproto.engine.world.World`, and answers through the connection's
reply builders.  Scripted containers serve their output from the script's
pre-encoded blocks (the fast path ``wireproto bench`` measures).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from wireproto import jsonstream, mux
from wireproto.engine import query
from wireproto.engine.routes import Context, Route
from wireproto.engine.script import ATTACH_PIECE, LOG_PIECE, Container, Encoded, chunk
from wireproto.engine.world import ContainerRecord

if TYPE_CHECKING:
    from wireproto.engine.protocol import Reply

# Bytes per write of a streamed body (the socket loop writes piece by piece).
PIECE = 64 * 1024


def paced_piece(rate: float | None) -> int:
    """Bytes per write: 64 KiB, or a twentieth of a second's worth when paced.

    The pace allows each write once the bytes before it are due, so a write is a
    burst: at a low rate a 64 KiB one would arrive seconds ahead of its time.
    """
    return PIECE if not rate else max(1, min(PIECE, int(rate / 20)))


def _found(ctx: Context) -> ContainerRecord | Reply:
    ref = ctx.params["id"]
    found = ctx.world.container(ref)
    if found is None:
        return ctx.error(404, f"No such container: {ref}")
    return found


# --- list and inspect ---------------------------------------------------------------------


def list_containers(ctx: Context) -> Reply:
    everything = ctx.flag("all")
    rows = [c for c in ctx.world.containers.values() if everything or c.running]
    return ctx.json([summary(c) for c in rows])


def summary(container: ContainerRecord) -> dict[str, object]:
    return {
        "Id": container.id,
        "Names": ["/" + container.name],
        "Image": container.image,
        "Command": "sh",
        "Created": 1_700_000_000,
        "State": "running" if container.running else "exited",
        "Status": "Up" if container.running else f"Exited ({container.exit_code})",
        "Ports": [],
        "Labels": {},
    }


def inspect(ctx: Context) -> Reply:
    container = _found(ctx)
    if not isinstance(container, ContainerRecord):
        return container
    return ctx.json(
        {
            "Id": container.id,
            "Name": "/" + container.name,
            "Created": "2023-11-14T22:13:20.000000000Z",
            "Image": container.image_id,
            "State": {
                "Status": "running" if container.running else "exited",
                "Running": container.running,
                "Paused": False,
                "Restarting": False,
                "ExitCode": container.exit_code,
                "Pid": container.pid,
            },
            "Config": container.config,
            "HostConfig": container.host_config,
        }
    )


def wait(ctx: Context) -> Reply:
    container = _found(ctx)
    if not isinstance(container, ContainerRecord):
        return container
    return ctx.json({"Error": None, "StatusCode": container.exit_code})


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
    assert scripted is not None
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
    assert scripted is not None
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


# --- events ---------------------------------------------------------------------------------


def events(ctx: Context) -> Reply:
    until_text = ctx.query("until")
    since, until = query.event_window(ctx.query("since"), until_text)
    filters = query.filters(ctx.query("filters"))
    chosen = [
        e
        for e in ctx.world.events
        if (since is None or since <= e.time_ns)
        and (until is None or e.time_ns <= until)
        and e.matches(filters)
    ]
    body: Iterator[bytes] = (chunk(jsonstream.encode(e.message(), b"\n")) for e in chosen)
    return ctx.conn.streamed(body, "application/json", hold_open=not until_text)


ROUTES: tuple[Route, ...] = (
    Route("GET", "/containers/json", list_containers),
    Route("GET", "/containers/{id}/json", inspect),
    Route("GET", "/containers/{id}/logs", logs),
    Route("POST", "/containers/{id}/attach", attach),
    Route("POST", "/containers/{id}/wait", wait),
    Route("GET", "/events", events),
)
