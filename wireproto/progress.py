"""Typed JSON-stream messages (progress, build output, events) and progress aggregation.

Strategy: a message wraps the decoded JSON object (``raw``, every field as
sent, unknown ones included) and reads its typed fields on access, so typing
costs one small object per message, not a copy of its fields.  A known field
of the wrong JSON type raises :class:`~wireproto.errors.MalformedMessage`
naming the field, when it is read.

In-band errors (``{"error": ..., "errorDetail": {"code", "message"}}``) are
messages like the others; :func:`check` turns one into the caller's typed
exception (PullError, PushError, BuildError with the step's exit code).
:class:`Progress` folds pull or push messages into per-layer state and an
overall bytes-done / bytes-total, for any UI; it does no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from wireproto.errors import MalformedMessage, StreamMessageError

E = TypeVar("E", bound=StreamMessageError)
_NON_ZERO = re.compile(r"returned a non-zero code: (\d+)")


def _str(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or isinstance(value, str):
        return value
    raise MalformedMessage(key, value)


def _dict(raw: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    value = raw.get(key)
    if value is None or isinstance(value, dict):
        return value
    raise MalformedMessage(key, value)


def _int(raw: Mapping[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise MalformedMessage(key, value)


@dataclass(frozen=True, slots=True)
class ProgressDetail:
    """``progressDetail`` (API 1.8+): bytes done and total; ``{}`` gives Nones."""

    current: int | None = None
    total: int | None = None


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    """``errorDetail``: the message and, for a failed build step, its exit code."""

    message: str
    code: int | None = None


class JSONMessage:
    """One message of a pull, push, build, import or load stream."""

    __slots__ = ("raw",)

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    @classmethod
    def from_value(cls, value: object) -> JSONMessage:
        """The message for a decoded JSON value; MalformedMessage unless it is an object."""
        if not isinstance(value, dict):
            raise MalformedMessage("(message)", value)
        return cls(value)

    def __repr__(self) -> str:
        return f"JSONMessage({self.raw!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JSONMessage) and other.raw == self.raw

    __hash__ = None  # type: ignore[assignment]

    @property
    def status(self) -> str | None:
        return _str(self.raw, "status")

    @property
    def id(self) -> str | None:
        return _str(self.raw, "id")

    @property
    def progress(self) -> str | None:
        """The engine's own rendering of the progress bar (``[==>   ] 1MB/2MB``)."""
        return _str(self.raw, "progress")

    @property
    def progress_detail(self) -> ProgressDetail | None:
        detail = _dict(self.raw, "progressDetail")
        if detail is None:
            return None
        return ProgressDetail(_int(detail, "current"), _int(detail, "total"))

    @property
    def stream(self) -> str | None:
        """Build output: a piece of the steps' text (``Step 1/3 : FROM ...``)."""
        return _str(self.raw, "stream")

    @property
    def aux(self) -> Any:
        """Auxiliary data: the built image's ``{"ID"}``, a push's ``{"Tag","Digest","Size"}``."""
        return self.raw.get("aux")

    @property
    def error(self) -> str | None:
        return _str(self.raw, "error")

    @property
    def error_detail(self) -> ErrorDetail | None:
        detail = _dict(self.raw, "errorDetail")
        if detail is None:
            return None
        message = _str(detail, "message")
        return ErrorDetail(message or "", _int(detail, "code"))

    @property
    def is_error(self) -> bool:
        return "error" in self.raw or "errorDetail" in self.raw


def check(message: JSONMessage, error: type[E]) -> JSONMessage:
    """``message`` itself, or ``error`` raised if it reports an in-band error.

    The code is ``errorDetail.code`` (a failed build step's exit status, from
    API 1.8); for a build without one, the status the message text names.
    """
    if not message.is_error:
        return message
    detail = message.error_detail
    text = message.error or (detail.message if detail else "") or "unknown error"
    code = detail.code if detail else None
    if code is None:
        found = _NON_ZERO.search(text)
        code = int(found.group(1)) if found else None
    raise error(text, code)


def messages(values: Iterable[object]) -> list[JSONMessage]:
    """Typed messages for decoded JSON values (one decoder feed's, say).

    The batch is checked once, in C (the types of all its values), and then
    wrapped by ``map``: per message that is one object and no Python-level
    check; a batch with a non-object falls back to :meth:`JSONMessage.from_value`
    per value, which names it.
    """
    batch = values if isinstance(values, list) else list(values)
    if set(map(type, batch)) <= _OBJECT:
        return list(map(JSONMessage, batch))
    return [JSONMessage.from_value(value) for value in batch]


_OBJECT = frozenset((dict,))


# --- events -------------------------------------------------------------------------------------


class Event:
    """One message of ``GET /events``: old (``status``, ``id``, ``from``) and new
    (``Type``, ``Action``, ``Actor``, API 1.22+) fields alike."""

    __slots__ = ("raw",)

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    @classmethod
    def from_value(cls, value: object) -> Event:
        if not isinstance(value, dict):
            raise MalformedMessage("(event)", value)
        return cls(value)

    def __repr__(self) -> str:
        return f"Event({self.raw!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Event) and other.raw == self.raw

    __hash__ = None  # type: ignore[assignment]

    @property
    def type(self) -> str:
        """``container``, ``image``, ``network``...; old engines only reported containers."""
        return _str(self.raw, "Type") or "container"

    @property
    def action(self) -> str | None:
        return _str(self.raw, "Action") or _str(self.raw, "status")

    @property
    def status(self) -> str | None:
        return _str(self.raw, "status")

    @property
    def actor(self) -> dict[str, Any]:
        return _dict(self.raw, "Actor") or {}

    @property
    def id(self) -> str | None:
        return _str(self.raw, "id") or _str(self.actor, "ID")

    @property
    def from_(self) -> str | None:
        """The container's image (``from``)."""
        return _str(self.raw, "from")

    @property
    def attributes(self) -> dict[str, Any]:
        return _dict(self.actor, "Attributes") or {}

    @property
    def time(self) -> int | None:
        return _int(self.raw, "time")

    @property
    def time_nano(self) -> int | None:
        return _int(self.raw, "timeNano")


# --- aggregation --------------------------------------------------------------------------------

# Layer statuses, as dockerd's distribution code writes them, by phase.
PHASES = {
    "Pulling fs layer": "queued",
    "Waiting": "waiting",
    "Downloading": "downloading",
    "Verifying Checksum": "verifying",
    "Download complete": "downloaded",
    "Extracting": "extracting",
    "Pull complete": "complete",
    "Already exists": "exists",
    "Preparing": "queued",
    "Pushing": "pushing",
    "Pushed": "complete",
    "Layer already exists": "exists",
}
_TRANSFERRED = {"verifying", "downloaded", "extracting", "complete"}
_MOVING = {"downloading", "pushing", "extracting"}


@dataclass(slots=True)
class Layer:
    """One layer's state: its last status, phase, and transfer bytes (None: unknown)."""

    id: str
    status: str
    phase: str
    current: int | None = None
    total: int | None = None
    extracted: int | None = None  # bytes extracted so far (pull)

    @property
    def done(self) -> bool:
        return self.phase in ("complete", "exists")


class Progress:
    """Folds a pull's or push's messages into layer states and overall bytes.

    ``update(message)`` returns the layer it changed (None for a message that
    is not about a layer: ``Pulling from``, ``Digest:``, ``Status:``, which
    are kept in ``notes``).  ``bytes_done``/``bytes_total`` count the layers
    whose size the engine announced (pull: download, push: upload).
    """

    def __init__(self) -> None:
        self.layers: dict[str, Layer] = {}
        self.notes: list[str] = []

    def update(self, message: JSONMessage) -> Layer | None:
        status, layer_id = message.status, message.id
        if status is None:
            return None
        phase = PHASES.get(status)
        if layer_id is None or (phase is None and not status.startswith(("Mounted from", "Retry"))):
            self.notes.append(f"{layer_id}: {status}" if layer_id else status)
            return None
        if phase is None:
            phase = "exists" if status.startswith("Mounted from") else "retrying"
        layer = self.layers.get(layer_id)
        if layer is None:
            layer = self.layers[layer_id] = Layer(id=layer_id, status=status, phase=phase)
        layer.status, layer.phase = status, phase
        # The detail's fields are read straight from the dict (typed the same
        # way): a ProgressDetail per tick costs more than the rest together.
        detail = _dict(message.raw, "progressDetail") if phase in _MOVING else None
        if detail is not None and phase == "extracting":
            layer.extracted = _int(detail, "current")
        elif detail is not None:
            layer.current = _int(detail, "current")
            layer.total = _int(detail, "total") or layer.total
        elif phase in _TRANSFERRED and layer.total is not None:
            layer.current = layer.total
        return layer

    @property
    def bytes_total(self) -> int:
        return sum(layer.total or 0 for layer in self.layers.values())

    @property
    def bytes_done(self) -> int:
        return sum(min(layer.current or 0, layer.total or 0) for layer in self.layers.values())

    @property
    def complete(self) -> bool:
        return bool(self.layers) and all(layer.done for layer in self.layers.values())
