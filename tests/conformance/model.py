"""The conformance matrix's vocabulary: a Case, the request a reference documents, an outcome.

Strategy: a case is data.  It names the catalogue function it covers, the
README row it belongs to, what it needs in the engine's world (``needs``),
how to build its Call from that world, the request the version's reference
documents for it (``wire``), the success status, and a check of the
normalised reply's shape.  Whether a version has the call at all is not
written here: the catalogue's gate table decides (the call raises
UnsupportedInVersion), and the tests hold the stub engine's table and the
stub itself to the same answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from wireproto.http import Call
from wireproto.versions import ApiVersion

V = ApiVersion
OLD_VERSIONS = tuple(ApiVersion(1, minor) for minor in range(13))
MODERN = ApiVersion(1, 41)
VERSIONS = (*OLD_VERSIONS, MODERN)
# The versions the real engine (dockerd 20.10: API 1.12 .. 1.41) is asked at.
REAL_VERSIONS = (ApiVersion(1, 12), MODERN)

# What the world must hold before a case runs (see runner.prepare).
# PUSHABLE: an image, and at 1.0 .. 1.1 the login POST /auth stores (what those engines pushed
# with); PUSHED: that, pushed with the case's credentials.
NONE, IMAGE, PUSHABLE, CREATED, EXITED, RUNNING, PAUSED, PUSHED, SAVED, EXEC, EXEC_RUNNING = (
    "none",
    "image",
    "pushable",
    "created",
    "exited",
    "running",
    "paused",
    "pushed",
    "saved",
    "exec",
    "exec-running",
)

ANY = object()  # a body or header value the case does not pin


@dataclass
class Ctx:
    """One case's world: the version, the engine kind, and the objects set up for it.

    ``unique`` is a token no other case uses, so cases sharing an engine never
    collide; ``image`` is the base image, ``tagged`` a name of it made for the
    case, ``registry`` where pushed names live (the real engine's local one).
    """

    version: ApiVersion
    real: bool
    image: str
    unique: str
    registry: str
    login: Mapping[str, str]
    container: str = "wpm-missing"
    exec_id: str = "wpm-missing"
    tagged: str = "wpm-missing:t"
    tarball: bytes = b""
    since: str = "0"
    made_containers: list[str] = field(default_factory=list)
    made_images: list[str] = field(default_factory=list)

    def repo(self, suffix: str) -> str:
        """A repository name of this case's own."""
        return f"wpm-{self.unique}-{suffix}"


@dataclass(frozen=True)
class Wire:
    """A request as a version's reference documents it.

    ``path`` is without the version prefix (the prefix is checked apart);
    ``query`` is exact (every parameter, each with its one value);
    ``headers`` must be there with these values (lower-case names; ANY: any
    value; None: must be absent); ``body`` is JSON compared as a value
    (``json``), or bytes (``raw``), or ANY; no ``json``/``raw``: empty.
    """

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, object] = field(default_factory=dict)
    json: object = None
    raw: object = b""

    def body_matches(self, body: bytes) -> bool:
        if self.json is not None:
            return bool(body) and json.loads(body) == self.json
        if self.raw is ANY:
            return True
        return body == self.raw


@dataclass
class Outcome:
    """What a call gave: the status, and the normalised document, bytes, output or messages;
    ``raw`` is the document as the engine sent it (the version's own shape)."""

    status: int
    document: object = None
    raw: object = None
    data: bytes = b""
    output: dict[int, bytes] = field(default_factory=dict)
    messages: list[object] = field(default_factory=list)

    @property
    def all_output(self) -> bytes:
        return b"".join(self.output.values())


@dataclass(frozen=True)
class Note:
    """A version-dependent behaviour a README cell names (``text``), ``since`` .. ``until``."""

    text: str
    since: ApiVersion | None = None
    until: ApiVersion | None = None

    def holds(self, version: ApiVersion) -> bool:
        if self.since is not None and version < self.since:
            return False
        return self.until is None or version <= self.until


Build = Callable[[Ctx], Call]
Expect = Callable[[Ctx], Wire]
Check = Callable[[Outcome, Ctx], None]
Status = Callable[[ApiVersion], int | tuple[int, ...]]
Enough = Callable[[Outcome, Ctx], bool]


@dataclass(frozen=True)
class Case:
    """One endpoint of the catalogue, run at every version through every adapter.

    ``func`` is the catalogue function covered; ``label`` names it in the
    README ("no /_ping"); ``real`` is why the real engine cannot run it
    (a named exception in the table), None when it can.
    """

    name: str
    group: str
    func: Callable[..., Call]
    label: str
    build: Build
    wire: Expect
    check: Check
    status: Status
    needs: str = NONE
    notes: tuple[Note, ...] = ()
    real: str | None = None
    real_status: Status | None = None
    enough: Enough | None = None  # a stream that never ends by itself: read until this holds

    def status_at(self, version: ApiVersion, real: bool) -> tuple[int, ...]:
        """The success status: the reference's, or today's engine's where it differs."""
        status = self.real_status if real and self.real_status is not None else self.status
        found = status(version)
        return found if isinstance(found, tuple) else (found,)

    def __str__(self) -> str:
        return self.name


def always(status: int | tuple[int, ...]) -> Status:
    return lambda version: status


def since(version: ApiVersion, before: int, after: int) -> Status:
    """``before`` below ``version``, ``after`` from it."""
    return lambda v: after if v >= version else before
