"""Typed JSON-stream messages (progress, build output, events) and progress aggregation.

Strategy: :class:`JSONMessage` is one interface with two implementations
that answer every accessor alike.  :class:`DictMessage` wraps the decoded
JSON object (``raw``, every field as sent, unknown ones included) and reads
its typed fields on access; a known field of the wrong JSON type raises
:class:`~wireproto.errors.MalformedMessage` naming the field, when it is read.
With msgspec, :class:`MessageDecoder` decodes a read's messages straight into
structs the cyclic GC does not track, checked at decode time, whenever they
have only the engine's fields (see "struct-backed messages" below for why);
anything else gets dict-backed messages, so no field is ever dropped.

In-band errors (``{"error": ..., "errorDetail": {"code", "message"}}``) are
messages like the others; :func:`check` turns one into the caller's typed
exception (PullError, PushError, BuildError with the step's exit code).
:class:`Progress` folds pull or push messages into per-layer state and an
overall bytes-done / bytes-total, for any UI; it does no I/O.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from wireproto import jsonstream
from wireproto.errors import (
    JSONStreamError,
    MalformedMessage,
    StreamFailed,
    StreamMessageError,
    short_repr,
)
from wireproto.jsonstream import Bulk, JSONStreamDecoder

E = TypeVar("E", bound=StreamMessageError)
REPR_WIDTH = 200  # a message's repr is cut here (a message may be megabytes, or deep)
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
    """One message of a pull, push, build, import or load stream.

    The common interface of two implementations that answer every accessor
    alike: :class:`DictMessage` wraps the decoded dict (any fields, read and
    type-checked on access) and, with msgspec, the struct-backed message that
    :class:`MessageDecoder` decodes runs of engine-shaped messages into.
    ``raw`` is every field as sent, unknown ones included.
    """

    __slots__ = ()

    @classmethod
    def from_value(cls, value: object) -> JSONMessage:
        """The message for a decoded JSON value; MalformedMessage unless it is an object."""
        if not isinstance(value, dict):
            raise MalformedMessage("(message)", value)
        return DictMessage(value)

    # Every field as sent: DictMessage's slot, the struct-backed message's property.
    raw: dict[str, Any]

    def __repr__(self) -> str:
        return f"JSONMessage({short_repr(self.raw, REPR_WIDTH)})"

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
        counts = self.counts()
        return None if counts is None else ProgressDetail(*counts)

    def counts(self) -> tuple[int | None, int | None] | None:
        """``progressDetail``'s ``(current, total)``, without a ProgressDetail (Progress's tick)."""
        detail = _dict(self.raw, "progressDetail")
        if detail is None:
            return None
        return _int(detail, "current"), _int(detail, "total")

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


class DictMessage(JSONMessage):
    """A message backed by its decoded dict (``raw`` is that dict, not a copy)."""

    __slots__ = ("raw",)

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw


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
    """Typed (dict-backed) messages for decoded JSON values (one decoder feed's, say).

    The batch is checked once, in C (the types of all its values), and then
    wrapped by ``map``: per message that is one object and no Python-level
    check; a batch with a non-object falls back to :meth:`JSONMessage.from_value`
    per value, which names it.
    """
    batch = values if isinstance(values, list) else list(values)
    if set(map(type, batch)) <= _OBJECT:
        return list(map(DictMessage, batch))
    return [JSONMessage.from_value(value) for value in batch]


_OBJECT = frozenset((dict,))


# --- struct-backed messages (msgspec) -----------------------------------------------------------
#
# Why structs: decoding is not the cost left once a run of lines is parsed in
# one C call; the objects are.  A dict-backed message is two objects the
# cyclic GC tracks (the wrapper and the outer dict), and a long pull's stream
# makes hundreds of thousands of them: the collector's passes then cost as
# much as the parsing (figures in docs/performance.md).  A msgspec
# Struct declared ``gc=False`` is never tracked, and decoding into it skips
# the dict, so a message is one untracked object.  That is sound here: a
# struct built from JSON holds only strings, numbers and JSON containers, which
# cannot refer back to it (a caller who stores a message inside its own ``aux``
# makes a cycle that is never collected: a leak, not a crash).
#
# The struct has exactly Go's jsonmessage.JSONMessage fields, in its order
# (which is the order dockerd writes them in, so ``raw`` comes out as sent).
# A field holds None when the message does not have it; a JSON null, an
# unknown field or a field of another type is refused, which sends the whole
# run to dict-backed messages (see MessageDecoder): so every struct-backed
# message answers every accessor exactly as the dict-backed one would.

try:
    import msgspec
except ImportError:  # dict-backed messages do everything, only slower
    HAVE_MSGSPEC = False
else:
    HAVE_MSGSPEC = True

# A field's "absent" default: not of the field's type, which is what msgspec
# checks in the input (a null is refused, so None can only mean absent).
_ABSENT: Any = None
_STRUCT = {"gc": False, "frozen": True, "forbid_unknown_fields": True, "omit_defaults": True}

if HAVE_MSGSPEC:
    _AUX: Any = jsonstream.bounded_json(jsonstream.BULK_DEPTH - 2)

    class _ProgressDetailStruct(msgspec.Struct, **_STRUCT):
        """``progressDetail``: Go's jsonmessage.JSONProgress."""

        current: int = _ABSENT
        total: int = _ABSENT
        start: int = _ABSENT
        hidecounts: bool = _ABSENT
        units: str = _ABSENT

    class _ErrorDetailStruct(msgspec.Struct, **_STRUCT):
        """``errorDetail``: Go's jsonmessage.JSONError."""

        code: int = _ABSENT
        message: str = _ABSENT

    class _StructMessage(
        msgspec.Struct,
        JSONMessage,
        **_STRUCT,
        rename={
            "detail_": "progressDetail",
            "from_": "from",
            "time_nano": "timeNano",
            "error_detail_": "errorDetail",
        },
    ):
        """A message with only the engine's fields, decoded straight from JSON (see above).

        The fields named like accessors (status, id, progress, stream, error,
        aux) are those accessors, read with no Python code at all.
        """

        stream: str = _ABSENT
        status: str = _ABSENT
        detail_: _ProgressDetailStruct = _ABSENT
        progress: str = _ABSENT
        id: str = _ABSENT
        from_: str = _ABSENT
        time: int = _ABSENT
        time_nano: int = _ABSENT
        error_detail_: _ErrorDetailStruct = _ABSENT
        error: str = _ABSENT
        # Nested at most BULK_DEPTH levels with the message's own: a decode
        # never goes deeper (see jsonstream.BULK_DEPTH), deeper goes to dicts.
        aux: dict[str, _AUX] | list[_AUX] | str | int | float | bool = _ABSENT

        # The interface's, not the struct's own (which would compare fields).
        __repr__ = JSONMessage.__repr__
        __eq__ = JSONMessage.__eq__
        __hash__ = None

        # Read-only here (a DictMessage's raw is its own dict, assignable).
        @property
        def raw(self) -> dict[str, Any]:  # type: ignore[override]
            """The message's fields as sent (a new dict: the struct is the message)."""
            fields: dict[str, Any] = msgspec.to_builtins(self)
            return fields

        def counts(self) -> tuple[int | None, int | None] | None:
            detail = self.detail_
            return None if detail is None else (detail.current, detail.total)

        @property
        def error_detail(self) -> ErrorDetail | None:
            detail = self.error_detail_
            if detail is None:
                return None
            return ErrorDetail(detail.message or "", detail.code)

        @property
        def is_error(self) -> bool:
            return self.error is not None or self.error_detail_ is not None


@functools.cache
def _struct_decoder() -> Any:
    """msgspec's decoder straight into struct-backed messages (built once: the
    decoder's type, with its nested unions, costs milliseconds to build)."""
    return msgspec.json.Decoder(_StructMessage)


def _struct_lines() -> Any:
    return _struct_decoder().decode_lines


class _StructRuns:
    """MessageDecoder's run decoder with msgspec: a run of lines straight into
    struct-backed messages, or else (any message not of the engine's shape)
    the parser's dicts, or None: the careful path, as without it."""

    def __init__(self, dicts: Bulk) -> None:
        self.structs: Callable[[bytes], list[JSONMessage]] = _struct_lines()
        self._dicts = dicts

    def __call__(self, region: bytes) -> list[object] | None:
        try:
            structs: list[object] = self.structs(region)  # type: ignore[assignment]
        except ValueError:  # msgspec's DecodeError and ValidationError are ValueErrors
            # Nearly always refused at its first message (a new field shows in
            # all of them), so the second pass costs little.
            return self._dicts(region)
        return structs


_TYPED = frozenset((_StructMessage,)) if HAVE_MSGSPEC else frozenset()


def _typed(values: list[object]) -> list[JSONMessage]:
    kinds = set(map(type, values))
    if kinds <= _TYPED:
        return cast("list[JSONMessage]", values)  # struct-backed, one C pass to know it
    if not kinds & _TYPED:
        return messages(values)
    return [v if isinstance(v, JSONMessage) else JSONMessage.from_value(v) for v in values]


class MessageDecoder:
    """Typed messages from bytes split anywhere: a JSONStreamDecoder whose values are JSONMessages.

    With msgspec as the parser (the default when installed), each feed's run
    of complete lines is decoded in one call straight into struct-backed
    messages when every message in it has only the engine's fields, of the
    engine's types; a run with anything else (an unknown field, a null, a
    field of another type) is decoded to dicts and wrapped, and the careful
    path's values are wrapped too, so nothing is dropped and every accessor
    answers as for the dict.  Other parsers give dict-backed messages.

    Errors are JSONStreamDecoder's, with their ``values`` typed; a value that
    is not an object (an engine never sends one) raises MalformedMessage,
    whose ``values`` are the messages before it.  Either way the decoder has
    failed, as JSONStreamDecoder after a malformed value: any later call
    raises StreamFailed.
    """

    def __init__(
        self,
        *,
        max_size: int = jsonstream.MAX_SIZE,
        max_depth: int = jsonstream.MAX_DEPTH,
        parser: str | None = None,
    ) -> None:
        self.parser = jsonstream.choose(parser) if parser else jsonstream.PARSER
        dicts = jsonstream.bulk_loader(self.parser, max_depth)
        # Structs nest BULK_DEPTH deep: a lower limit is the dicts' to keep.
        structs = self.parser == "msgspec" and max_depth >= jsonstream.BULK_DEPTH
        self._values: JSONStreamDecoder
        self._error: MalformedMessage | None = None
        self.feed = self._feed_python
        if dicts is None or not structs:
            self._values = JSONStreamDecoder(
                max_size=max_size, max_depth=max_depth, parser=self.parser
            )
            return
        self._values = JSONStreamDecoder(
            max_size=max_size, max_depth=max_depth, parser=self.parser, bulk=_StructRuns(dicts)
        )
        feeder = jsonstream.native_feeder()
        if feeder is not None:
            # Whole lines of engine messages straight into structs, in C; the
            # feeder comes back here (_feed_python, _feed_tail) for the rest.
            decoder = _struct_decoder()
            native = feeder(
                self._feed_python,
                self._feed_tail,
                decoder.decode,
                decoder.decode_lines,
                max_size,
                max_depth,
                jsonstream.WAIT_LIMIT,
                False,
            )
            self._values.attach(native)
            self.feed = native.feed

    @property
    def offset(self) -> int:
        """Stream offset of the first byte not yet part of a delivered message."""
        return self._values.offset

    # Appends ``data``; returns the messages it completed.  An attribute, set
    # per decoder: the C feeder's method (see __init__), or _feed_python.
    feed: Callable[[bytes | bytearray | memoryview], list[JSONMessage]]

    def _feed_python(self, data: bytes | bytearray | memoryview) -> list[JSONMessage]:
        self._check_open()
        try:
            values = self._values._feed_python(data)
        except JSONStreamError as exc:
            exc.values[:] = self._messages(exc.values, cause=exc)
            raise
        return self._messages(values)

    def _feed_tail(self, values: list[object]) -> list[JSONMessage]:
        # The C feeder's messages, then the cut line that may not wait (as _feed_python).
        try:
            more = self._values._feed_tail(values)
        except JSONStreamError as exc:
            exc.values[:] = self._messages(exc.values, cause=exc)
            raise
        return self._messages(more)

    def close(self) -> list[JSONMessage]:
        """The stream ended: TruncatedJSON if it ended inside a message."""
        self._check_open()
        try:
            values = self._values.close()
        except JSONStreamError as exc:
            exc.values[:] = self._messages(exc.values, cause=exc)
            raise
        return self._messages(values)

    def _check_open(self) -> None:
        if self._error is not None:
            raise StreamFailed(self._error)

    def _messages(
        self, values: list[object], cause: JSONStreamError | None = None
    ) -> list[JSONMessage]:
        """The values typed; MalformedMessage (the messages before it in ``values``)
        at the first that is not an object, which fails the decoder."""
        try:
            return _typed(values)
        except MalformedMessage:
            pass
        bad = next(i for i, v in enumerate(values) if not isinstance(v, dict | JSONMessage))
        error = MalformedMessage("(message)", values[bad])
        error.values[:] = _typed(values[:bad])
        self._error = error
        self._values.detach()  # no shortcut past the failure: _check_open refuses
        # The stream's own error, later in the stream, is the cause's context.
        raise error from cause


# --- events -------------------------------------------------------------------------------------


class EngineEvent:
    """One message of ``GET /events``: old (``status``, ``id``, ``from``) and new
    (``Type``, ``Action``, ``Actor``, API 1.22+) fields alike."""

    __slots__ = ("raw",)

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    @classmethod
    def from_value(cls, value: object) -> EngineEvent:
        if not isinstance(value, dict):
            raise MalformedMessage("(event)", value)
        return cls(value)

    def __repr__(self) -> str:
        return f"EngineEvent({short_repr(self.raw, REPR_WIDTH)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EngineEvent) and other.raw == self.raw

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
        # counts(), not progress_detail: a ProgressDetail per tick costs more
        # than the rest of the update together.
        counts = message.counts() if phase in _MOVING else None
        if counts is not None and phase == "extracting":
            layer.extracted = counts[0]
        elif counts is not None:
            layer.current = counts[0]
            layer.total = counts[1] or layer.total
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
