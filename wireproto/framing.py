"""Which framing a stdio stream uses: multiplexed frames or raw TTY bytes.

Strategy: every signal is weighed in one place, strongest first, and the
choice is recorded with its reason, so a misread stream can be diagnosed.

1. ``Content-Type: application/vnd.docker.multiplexed-stream``: only sent for
   multiplexed streams (engines at API >= 1.42).
2. ``Content-Type: application/vnd.docker.raw-stream`` at API >= 1.42, where
   engines send it only for TTY streams.  Older engines label every hijacked
   stream raw-stream, multiplexed or not, so below 1.42 it says nothing.
3. The endpoint and version: attach streams before API 1.6 are always raw,
   whatever the container's TTY (the frames are a 1.6 addition; before it
   stdout and stderr arrive merged), so the caller's ``tty`` cannot change it.
4. The caller's ``tty`` flag (e.g. from ``inspect``'s ``Config.Tty``).
5. Otherwise the first bytes: a frame header starts with a stream id 0..3 and
   three zero bytes, which TTY output practically never does.  (Guessing
   from byte 0 alone, as some clients do, misreads stream 3.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from wireproto.versions import FRAMING_CONTENT_TYPE, MULTIPLEXED, ApiVersion

MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream"
RAW_STREAM = "application/vnd.docker.raw-stream"
SNIFF_SIZE = 4  # stream id + three zero bytes

Kind = Literal["multiplexed", "raw"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Framing:
    """The framing chosen for a stdio stream, and why."""

    kind: Kind
    reason: str

    @property
    def tty(self) -> bool:
        return self.kind == "raw"


def resolve(
    *,
    content_type: str | None,
    version: ApiVersion | None,
    tty: bool | None,
    endpoint: str,
) -> Framing | None:
    """The framing decided by the response head and the call; None to sniff."""
    if content_type == MULTIPLEXED_STREAM:
        return Framing(kind="multiplexed", reason=f"Content-Type {MULTIPLEXED_STREAM}")
    if content_type == RAW_STREAM and version is not None and version >= FRAMING_CONTENT_TYPE:
        note = " (overrides the caller's tty=False)" if tty is False else ""
        return Framing(kind="raw", reason=f"Content-Type {RAW_STREAM} at API {version}{note}")
    if endpoint == "attach" and version is not None and version < MULTIPLEXED:
        return Framing(kind="raw", reason=f"attach at API {version} < {MULTIPLEXED} is raw")
    if tty is not None:
        return Framing(kind="raw" if tty else "multiplexed", reason=f"caller passed tty={tty}")
    return None


def looks_multiplexed(prefix: bytes) -> bool:
    """Whether ``prefix`` (>= 4 bytes) starts like a frame header."""
    return prefix[0] <= 3 and prefix[1:4] == b"\0\0\0"


def sniff(prefix: bytes, *, at_end: bool) -> Framing | None:
    """The framing told by the stream's first bytes; None until enough arrived."""
    if len(prefix) < SNIFF_SIZE:
        if not at_end:
            return None
        return Framing(
            kind="raw",
            reason=f"stream of {len(prefix)} bytes is too short for a frame header: raw",
        )
    shown = prefix[:SNIFF_SIZE].hex(" ")
    if looks_multiplexed(prefix):
        return Framing(kind="multiplexed", reason=f"first bytes {shown} are a frame header")
    return Framing(kind="raw", reason=f"first bytes {shown} are not a frame header")
