"""What the matrix tests share: which cases a version refuses, and a case's first context."""

from __future__ import annotations

from tests.conformance.model import Case, Ctx
from wireproto.api import gates
from wireproto.errors import UnsupportedInVersion
from wireproto.versions import ApiVersion

# Refusals the engine of that version does not answer 404: build before 1.3 had a route
# (a multipart upload the change log tells clients not to use), so the catalogue refuses
# what the engine would have misread.
NOT_A_MISSING_ROUTE = frozenset({"build"})


def placeholder(version: ApiVersion, real: bool = False) -> Ctx:
    """A context with nothing set up: enough to ask the catalogue for a call."""
    return Ctx(
        version=version,
        real=real,
        image="busybox:latest",
        unique="placeholder",
        registry="127.0.0.1:5000",
        login={"username": "u", "password": "p", "serveraddress": "127.0.0.1:5000"},
    )


def refusal(case: Case, version: ApiVersion) -> UnsupportedInVersion | None:
    """The catalogue's refusal of ``case`` at ``version``, None when it has the call."""
    try:
        case.build(placeholder(version))
    except UnsupportedInVersion as exc:
        return exc
    return None


def refused_feature(case: Case, version: ApiVersion) -> str | None:
    """The gate row that refuses ``case`` at ``version`` (None: not refused)."""
    exc = refusal(case, version)
    if exc is None:
        return None
    for gate in gates.GATES:
        if gate.name in str(exc) and not gate.allows(version):
            return gate.name
    return str(exc)


def route_missing(case: Case, version: ApiVersion) -> bool:
    """Whether the engine of ``version`` lacks the route the catalogue refuses there."""
    feature = refused_feature(case, version)
    if feature is None or feature in NOT_A_MISSING_ROUTE:
        return False
    row = gates.BY_NAME.get(feature)
    return row is not None and row.kind is gates.Kind.ENDPOINT


def route_removed(case: Case, version: ApiVersion) -> bool:
    """A missing route that engines had once and dropped (``until``), not one still to come."""
    if not route_missing(case, version):
        return False
    return gates.gate(str(refused_feature(case, version))).until is not None
