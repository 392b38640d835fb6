"""Cases: system (ping, version, info) and events."""

from __future__ import annotations

from tests.conformance import checks
from tests.conformance.model import EXITED, Case, Ctx, Outcome, V, Wire, always
from wireproto import api
from wireproto.api.events import events


def pinged(outcome: Outcome, ctx: Ctx) -> None:
    assert outcome.data == b"OK", outcome.data


def saw_container(outcome: Outcome, ctx: Ctx) -> bool:
    return any(
        isinstance(m, dict) and checks.same_id(m.get("id", ""), ctx.container)
        for m in outcome.messages
    )


def evented(outcome: Outcome, ctx: Ctx) -> None:
    assert saw_container(outcome, ctx), f"no event for {ctx.container[:12]}: {outcome.messages}"
    for message in outcome.messages:
        assert isinstance(message, dict) and "time" in message, message
        # Container and image events say status and id at every version; dockerd's others
        # (network connect, volume mount: Type, Action, Actor only) never did.
        if message.get("Type", "container") in ("container", "image"):
            assert {"status", "id"} <= set(message), message


def informed(outcome: Outcome, ctx: Ctx) -> None:
    """Containers and Images at every version; the storage Driver from 1.11 (its reference)."""
    doc = checks.document(outcome, "info", "Containers", "Images")
    assert ("Driver" in doc) is (ctx.version >= V(1, 11)), sorted(doc)


SYSTEM, EVENTS = "system", "events"

CASES = (
    Case(
        name="ping",
        group=SYSTEM,
        func=api.ping,
        label="/_ping",
        build=lambda c: api.ping(c.version),
        wire=lambda c: Wire("GET", "/_ping"),
        status=always(200),
        check=pinged,
    ),
    Case(
        name="engine_version",
        group=SYSTEM,
        func=api.engine_version,
        label="version",
        build=lambda c: api.engine_version(c.version),
        wire=lambda c: Wire("GET", "/version"),
        status=always(200),
        check=lambda o, c: checks.has_keys(o, "version", "Version"),
    ),
    Case(
        name="info",
        group=SYSTEM,
        func=api.info,
        label="info",
        build=lambda c: api.info(c.version),
        wire=lambda c: Wire("GET", "/info"),
        status=always(200),
        check=informed,
    ),
    Case(
        name="events",
        group=EVENTS,
        func=events,
        label="events",
        needs=EXITED,
        build=lambda c: events(c.version, since=c.since),
        wire=lambda c: Wire("GET", "/events", {"since": c.since}),
        status=always(200),
        check=evented,
        enough=saw_container,
    ),
)
