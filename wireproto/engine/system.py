"""The stub engine's system endpoints: ``_ping``, ``version``, ``info`` (sans-IO)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wireproto.engine.routes import Context, Route

if TYPE_CHECKING:
    from wireproto.engine.protocol import Reply


def ping(ctx: Context) -> Reply:
    head = ctx.request.method == "HEAD"
    return ctx.conn.document(200, b"OK", "text/plain; charset=utf-8", head=head)


def version(ctx: Context) -> Reply:
    world = ctx.world
    server = world.script.server_version
    # The engine reports its build both at the top and in its component's Details.
    build = {
        "ApiVersion": str(world.api_version),
        "MinAPIVersion": str(world.min_version),
        "GitCommit": "wireproto",
        "GoVersion": "go1.x",
        "Os": "linux",
        "Arch": "amd64",
        "KernelVersion": "stub",
    }
    built_at = "2023-11-14T22:13:20.000000000+00:00"
    return ctx.json(
        {
            "Platform": {"Name": "wireproto stub engine"},
            "Components": [
                {
                    "Name": "Engine",
                    "Version": server,
                    "Details": {**build, "Experimental": "false", "BuildTime": built_at},
                }
            ],
            "Version": server,
            **build,
            "BuildTime": built_at,
        }
    )


def info(ctx: Context) -> Reply:
    world = ctx.world
    containers = list(world.containers.values())
    running = sum(c.state == "running" for c in containers)
    paused = sum(c.state == "paused" for c in containers)
    return ctx.json(
        {
            "ID": "WIRE:PROT:STUB",
            "Containers": len(containers),
            "ContainersRunning": running,
            "ContainersPaused": paused,
            "ContainersStopped": len(containers) - running - paused,
            "Images": len(world.images),
            "Driver": "stub",
            "ServerVersion": world.script.server_version,
            "OperatingSystem": "wireproto stub engine",
            "OSType": "linux",
            "Architecture": "x86_64",
            "NCPU": 1,
            "MemTotal": 1 << 30,
            "Name": "wireproto-stub",
        }
    )


ROUTES: tuple[Route, ...] = (
    Route("GET", "/_ping", ping),
    Route("HEAD", "/_ping", ping),
    Route("GET", "/version", version),
    Route("GET", "/info", info),
)
