"""API versions: parsing, path prefixes, and negotiation with the engine.

Every path may carry a version prefix (``/v1.12/containers/json``); an
unprefixed path means the engine's newest version.  wireproto negotiates the
version as the docker CLI does: ``GET /_ping`` (v1.11+) answers with an
``Api-Version`` header on modern engines; without it, ``GET /version`` says
``ApiVersion``.  The version used is the lower of wireproto's newest and the
engine's, unless the caller pins one (``--api-version`` or
``DOCKER_API_VERSION``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from wireproto.errors import InvalidEngineVersion, InvalidVersion

ENV_VAR = "DOCKER_API_VERSION"
_VERSION = re.compile(r"\A(\d{1,3})\.(\d{1,3})\Z")


class ApiVersion(NamedTuple):
    """A Docker Engine API version, ordered as tuples are: (1, 9) < (1, 12)."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def prefix(self) -> str:
        """The path prefix that asks the engine for this version: ``/v1.12``."""
        return f"/v{self}"


def parse(text: str) -> ApiVersion:
    """``"1.12"`` -> ApiVersion(1, 12); InvalidVersion for anything else."""
    match = _VERSION.match(text.strip().removeprefix("v"))
    if match is None:
        raise InvalidVersion(f"API version {text!r} is not of the form MAJOR.MINOR (e.g. 1.12)")
    return ApiVersion(int(match.group(1)), int(match.group(2)))


OLDEST = ApiVersion(1, 0)
# The newest version whose wire behaviour wireproto knows for what it sends:
# the multiplexed-stream Content-Type came in 1.42; Docker 27 speaks 1.47 and
# Docker 29 refuses anything below 1.44, so 1.47 keeps working on both.
NEWEST = ApiVersion(1, 47)
# The version that added GET /_ping.
PING = ApiVersion(1, 11)
# From this version on, errors carry a JSON body {"message": ...}.
JSON_ERRORS = ApiVersion(1, 24)
# From this version on, engines label stdio responses with the exact framing
# (multiplexed-stream or raw-stream); before it, raw-stream meant either.
FRAMING_CONTENT_TYPE = ApiVersion(1, 42)
# Before this version attach streams were raw even without a TTY.
MULTIPLEXED = ApiVersion(1, 6)


def choose(engine: ApiVersion | None, pinned: ApiVersion | None = None) -> ApiVersion | None:
    """The version to speak: ``pinned`` if given, else min(NEWEST, ``engine``).

    None when neither is known: the caller then sends unprefixed paths, which
    the engine serves at its own newest version.
    """
    if pinned is not None:
        return pinned
    if engine is None:
        return None
    return min(NEWEST, engine)


def from_environment(environ: Mapping[str, str]) -> ApiVersion | None:
    """The version pinned by ``DOCKER_API_VERSION``, if set and non-empty."""
    value = environ.get(ENV_VAR, "")
    return parse(value) if value else None


def announced(value: str) -> ApiVersion:
    """A version the engine announced; garbage there is an engine fault, not a usage error."""
    try:
        return parse(value)
    except InvalidVersion as exc:
        raise InvalidEngineVersion(f"the engine's API version is unusable: {exc}") from None


def from_ping_headers(api_version_header: str | None) -> ApiVersion | None:
    """The engine's newest version from a ``/_ping`` ``Api-Version`` header."""
    return announced(api_version_header) if api_version_header else None


def from_version_document(document: object) -> ApiVersion | None:
    """The engine's newest version from the ``GET /version`` document."""
    if isinstance(document, dict):
        value = document.get("ApiVersion")
        if isinstance(value, str) and value:
            return announced(value)
    return None


def of_target(target: str) -> ApiVersion | None:
    """The version a request target asks for (``/v1.12/...``), None if unprefixed."""
    if not target.startswith("/v"):
        return None
    head = target[2:].split("/", 1)[0]
    try:
        return parse(head)
    except InvalidVersion:
        return None
