"""The stub engine's container Status prints its durations with docker's pkg/units rules.

The engine keeps nanoseconds and the shared helper takes seconds; these cases
read the Status over a socket with the world's clock moved, so a unit slip at
the call (nanoseconds passed as seconds, the CLI's rules for the engine's)
shows.  Each offset sits half a second inside its band: the clock is a float
of seconds, good to a few hundred nanoseconds here.
"""

from __future__ import annotations

import pytest

from tests.stub.test_versions_container_shapes import row_of, started
from wireproto.engine import StubEngine
from wireproto.engine.world import NANOS
from wireproto.versions import ApiVersion

HOUR, DAY = 3600, 86400


def at(engine: StubEngine, base_ns: int, offset: float) -> None:
    engine.world.clock = lambda: base_ns / NANOS + offset


@pytest.mark.parametrize(
    ("offset", "status"),
    [
        (1.5, "Up 1 seconds"),
        (119.5, "Up About a minute"),
        (2 * HOUR - 0.5, "Up About an hour"),
        (14 * DAY - 0.5, "Up 13 days"),
        (90 * DAY + 0.5, "Up 3 months"),
    ],
)
def test_running_status(offset: float, status: str) -> None:
    with StubEngine(api_version=ApiVersion(1, 12)) as engine:
        ident = started(engine)
        at(engine, engine.world.containers[ident].started_ns, offset)
        assert row_of(engine, ident)["Status"] == status


def test_exited_status() -> None:
    with StubEngine(api_version=ApiVersion(1, 12)) as engine:
        ident = started(engine, ["sh", "-c", "exit 3"])
        finished_ns = engine.world.containers[ident].finished_ns
        assert finished_ns, "the container has not exited"
        at(engine, finished_ns, 48 * HOUR + 0.5)
        assert row_of(engine, ident)["Status"] == "Exited (3) 2 days ago"


@pytest.mark.row("containers.status.go_units")
@pytest.mark.parametrize(
    ("version", "offset", "status"),
    [
        (ApiVersion(1, 12), 1.5, "Up 1 seconds"),
        (ApiVersion(1, 41), 1.5, "Up 1 second"),  # dockerd 20.10, read over its socket
        (ApiVersion(1, 12), 90 * 60 - 0.5 + 60, "Up About an hour"),  # hours cut: 1.5 h is 1
        (ApiVersion(1, 41), 90 * 60 + 0.5, "Up 2 hours"),  # rounded
        (ApiVersion(1, 41), 60 * DAY + 0.5, "Up 2 months"),
    ],
)
def test_status_durations_follow_the_engines_units(
    version: ApiVersion, offset: float, status: str
) -> None:
    with StubEngine(api_version=version) as engine:
        ident = started(engine)
        at(engine, engine.world.containers[ident].started_ns, offset)
        assert row_of(engine, ident)["Status"] == status
