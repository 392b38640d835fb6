"""What the stub engine serves: scripted containers, images and events (sans-IO).

Strategy: every stream the stub sends is a pure function of its script, so a
test can compute exactly what a client must have received.  Log output is a
*block* of messages generated once from a seed (sizes drawn from a frame-size
mix, stdout or stderr drawn by ``stderr_ratio``), repeated until ``size``
payload bytes, the last message cut to fit: any size costs the memory of one
block.  The block is encoded once per framing (chunked logs, raw attach) and
its bytes are reused, so the stub can outrun any client it is measured with.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import itertools
import random
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from wireproto import jsonstream, mux

KIB = 1024
MIB = 1024 * KIB
# json-file cuts a long line into 16 KiB messages, and the engine sends one
# HTTP chunk per message; attach frames are sized by pipe reads (<= 32 KiB).
LOG_PIECE = 16 * KIB
ATTACH_PIECE = 32 * KIB
# Messages are generated in a block of about this many payload bytes, then
# repeated: bounded memory whatever the scripted size.
BLOCK_PAYLOAD = 1 * MIB
# Named frame-size mixes: (low, high) payload bytes, drawn uniformly.
MIXES: dict[str, tuple[int, int]] = {
    "tiny": (16, 16),
    "log": (40, 200),
    "line": (100, 100),
    "bulk": (64 * KIB, 64 * KIB),
}
_TEXT = bytes(range(32, 127)) * 8
BASE_TIME = 1_700_000_000  # 2023-11-14T22:13:20Z: scripted events start here


@dataclass(frozen=True)
class LogSpec:
    """How a container's output is generated.

    ``size`` payload bytes in all; ``mix`` a name of :data:`MIXES` or a tuple
    of payload sizes used in turn; ``stderr_ratio`` the share of messages on
    stderr (ignored with a TTY: one raw stream); ``rate`` bytes per second
    (None: as fast as the client reads).  Message ``i`` (counting every
    message of both streams, after the 16 KiB cut) was logged at
    ``start_ns + i * interval_ns`` Unix nanoseconds: what ``timestamps``,
    ``since`` and ``until`` see.
    """

    size: int = 64 * KIB
    mix: str | tuple[int, ...] = "log"
    stderr_ratio: float = 0.3
    seed: int = 0
    rate: float | None = None
    start_ns: int = BASE_TIME * 1_000_000_000
    interval_ns: int = 1_000_000

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError(f"log size must be >= 0, not {self.size}")
        if isinstance(self.mix, str) and self.mix not in MIXES:
            raise ValueError(f"unknown frame-size mix {self.mix!r} (one of {sorted(MIXES)})")
        if not isinstance(self.mix, str) and (not self.mix or min(self.mix) < 1):
            raise ValueError("explicit frame sizes must be a non-empty tuple of sizes >= 1")
        if not 0.0 <= self.stderr_ratio <= 1.0:
            raise ValueError(f"stderr_ratio must be within 0..1, not {self.stderr_ratio}")
        if self.interval_ns < 1:
            raise ValueError(f"interval_ns must be >= 1, not {self.interval_ns}")

    def _size(self, rng: random.Random, index: int) -> int:
        if isinstance(self.mix, str):
            low, high = MIXES[self.mix]
            return rng.randint(low, high)
        return self.mix[index % len(self.mix)]


@dataclass(frozen=True)
class Container:
    """A scripted container; ``output`` is what its logs and attach stream carry.

    ``attach_delay`` seconds pass between an attach's response head and its
    output, as when a running container writes after the client attached (a
    client that reads the head through a buffered reader, as docker-py does,
    loses output that arrives in the same read as the head).

    ``ports`` are its list rows' (IP, PrivatePort, PublicPort, Type), "" and 0 for absent,
    in the order the engine lists them (dockerd's is a map's: any).
    """

    id: str
    name: str
    tty: bool = False
    output: LogSpec = field(default_factory=LogSpec)
    image: str = "busybox:latest"
    running: bool = False
    exit_code: int = 0
    attach_delay: float = 0.0
    ports: tuple[tuple[str, int, int, str], ...] = ()

    @cached_property
    def block(self) -> tuple[tuple[int, bytes], ...]:
        """One block of (stream, payload) messages, generated from the seed."""
        spec = self.output
        rng = random.Random(f"{spec.seed}-{self.id}")
        messages: list[tuple[int, bytes]] = []
        total = 0
        while total < min(spec.size, BLOCK_PAYLOAD) or not messages:
            size = spec._size(rng, len(messages))
            stream = mux.STDERR if rng.random() < spec.stderr_ratio else mux.STDOUT
            start = rng.randrange(len(_TEXT) - min(size, len(_TEXT) - 1))
            text = (_TEXT[start:] + _TEXT * (size // len(_TEXT) + 1))[: size - 1]
            messages.append((mux.STDOUT if self.tty else stream, text + b"\n"))
            total += size
        return tuple(messages)

    def messages(self, piece: int = LOG_PIECE) -> Iterator[tuple[int, bytes]]:
        """Every message to ``output.size`` payload bytes, each cut to ``piece`` bytes.

        The reference generator (one message at a time): :class:`Encoded` serves
        the same sequence by slicing a pre-encoded block.
        """
        left = self.output.size
        while left > 0:
            for stream, part in _take(self.block, left, piece):
                yield stream, part
                left -= len(part)

    def expected(self, stdout: bool = True, stderr: bool = True) -> tuple[bytes, bytes]:
        """(stdout, stderr) bytes a client must receive (small sizes only: held whole)."""
        out, err = bytearray(), bytearray()
        for stream, payload in self.messages():
            if stream == mux.STDOUT and stdout:
                out += payload
            elif stream == mux.STDERR and stderr:
                err += payload
        return bytes(out), bytes(err)

    def message_count(self, piece: int = LOG_PIECE) -> int:
        """How many messages :meth:`messages` yields, without generating them."""
        ends = cut_block(self, piece).payload_ends
        whole, left = divmod(self.output.size, ends[-1])
        return whole * len(ends) + (bisect.bisect_left(ends, left) + 1 if left else 0)

    def message_time(self, index: int) -> int:
        """When message ``index`` was logged, in Unix nanoseconds (the json-file time)."""
        return self.output.start_ns + index * self.output.interval_ns

    def window(
        self, tail: int | None = None, since: int | None = None, until: int | None = None
    ) -> tuple[int, int]:
        """Message indices [first, stop) a logs request selects, as json-file selects them.

        ``tail`` counts the last messages of both streams (the stream filter comes
        after, so ``stderr=1&tail=3`` can be empty); ``since`` and ``until`` (Unix
        nanoseconds, both inclusive) filter by message time after the tail.
        """
        count = self.message_count()
        first = count - min(tail, count) if tail is not None else 0
        stop = count
        start, step = self.output.start_ns, self.output.interval_ns
        if since is not None and since > start:
            first = max(first, min(count, -((start - since) // step)))  # ceil division
        if until is not None:
            stop = 0 if until < start else min(stop, (until - start) // step + 1)
        return first, max(first, stop)


def _take(block: Sequence[tuple[int, bytes]], left: int, piece: int) -> Iterator[tuple[int, bytes]]:
    """The block's messages, each cut to ``piece`` bytes, up to ``left`` payload bytes."""
    for stream, payload in block:
        for start in range(0, len(payload), piece):
            if left <= 0:
                return
            part = payload[start : start + min(piece, left)]
            yield stream, part
            left -= len(part)


def chunk(data: bytes) -> bytes:
    """One HTTP/1.1 chunk (RFC 9112 7.1)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


@dataclass(frozen=True)
class CutBlock:
    """A container's block with every message cut to ``piece`` bytes.

    The output is this sequence repeated, its last message shortened to fit
    the size, so message ``i`` is ``messages[i % len(messages)]``.
    """

    messages: tuple[tuple[int, bytes], ...]
    payload_ends: tuple[int, ...]  # payload bytes up to and including message i


@functools.lru_cache(maxsize=128)
def cut_block(container: Container, piece: int) -> CutBlock:
    messages = tuple(_take(container.block, sum(len(p) for _, p in container.block), piece))
    return CutBlock(messages, tuple(itertools.accumulate(len(p) for _, p in messages)))


@dataclass(frozen=True)
class EncodedBlock:
    """A cut block as sent in one framing: the bytes, and where each message ends in them."""

    data: bytes
    ends: tuple[int, ...]  # encoded bytes up to and including message i (0 if filtered out)


@functools.lru_cache(maxsize=128)
def _encoded(
    container: Container, chunked: bool, streams: frozenset[int], piece: int
) -> EncodedBlock:
    encoder = Encoded(container, chunked=chunked, piece=piece, streams=set(streams))
    parts = [encoder.encode_one(s, p) for s, p in cut_block(container, piece).messages]
    return EncodedBlock(b"".join(parts), tuple(itertools.accumulate(len(p) for p in parts)))


def encoded_block(
    container: Container, chunked: bool, streams: frozenset[int], piece: int = LOG_PIECE
) -> bytes:
    """A container's message block as sent, encoded once and reused by every request."""
    return _encoded(container, chunked, streams, piece).data


class Encoded:
    """A container's output encoded for the wire, sliced from the encoded block.

    Without timestamps every request is slices of one cached encoding (the
    stub outruns any client); with them each message is encoded on the way out.
    """

    def __init__(
        self,
        container: Container,
        *,
        chunked: bool,
        piece: int,
        streams: set[int],
        timestamps: bool = False,
    ):
        self.container = container
        self.chunked = chunked
        self.piece = piece
        self.streams = streams
        self.timestamps = timestamps

    def encode_one(self, stream: int, payload: bytes) -> bytes:
        """One message as sent: a frame (raw with a TTY), a chunk when chunked; b"" if filtered."""
        if stream not in self.streams:
            return b""
        framed = payload if self.container.tty else mux.encode(stream, payload)
        return chunk(framed) if self.chunked else framed

    def pieces(
        self, first: int = 0, stop: int | None = None, size: int = 64 * KIB
    ) -> Iterator[bytes]:
        """Messages [first, stop) encoded, in pieces of at most ``size`` bytes."""
        count = self.container.message_count(self.piece)
        stop = count if stop is None else min(stop, count)
        if self.timestamps:
            yield from self._stamped(first, stop, size)
            return
        cut = cut_block(self.container, self.piece)
        # the last message is shorter than its block original unless the size ends on one
        short = count and self.container.output.size % cut.payload_ends[-1] != 0
        whole_stop = min(stop, count - 1) if short else stop
        for start, end in _block_spans(first, whole_stop, len(cut.messages)):
            yield from self._sliced(start, end, size)
        if short and first <= count - 1 < stop:
            yield self.encode_one(*self._message(count - 1, cut, count))

    def _sliced(self, start: int, end: int, size: int) -> Iterator[bytes]:
        """Messages [start, end) of one block, sliced from the cached encoding."""
        block = _encoded(self.container, self.chunked, frozenset(self.streams), self.piece)
        low = block.ends[start - 1] if start else 0
        yield from _slices(memoryview(block.data)[low : block.ends[end - 1]], size)

    def _message(self, index: int, cut: CutBlock, count: int) -> tuple[int, bytes]:
        """Message ``index`` of ``count``: its block original, the last one cut to fit."""
        stream, payload = cut.messages[index % len(cut.messages)]
        if index == count - 1:
            whole = self.container.output.size // cut.payload_ends[-1] * cut.payload_ends[-1]
            before = cut.payload_ends[index % len(cut.messages)] - len(payload)
            payload = payload[: self.container.output.size - whole - before]
        return stream, payload

    def _stamped(self, first: int, stop: int, size: int) -> Iterator[bytes]:
        """Each message with the engine's ``RFC3339NanoFixed + " "`` prefix, in batches."""
        cut = cut_block(self.container, self.piece)
        count = self.container.message_count(self.piece)
        stamp = Stamper()
        for low in range(first, stop, 4096):
            batch = []
            for index in range(low, min(low + 4096, stop)):
                stream, payload = self._message(index, cut, count)
                prefix = stamp(self.container.message_time(index))
                batch.append(self.encode_one(stream, prefix + payload))
            yield from _slices(memoryview(b"".join(batch)), size)


class Stamper:
    """Unix nanoseconds to dockerd's log timestamp prefix, the date part kept per second."""

    def __init__(self) -> None:
        self._second = -1
        self._date = b""

    def __call__(self, nanos: int) -> bytes:
        second, fraction = divmod(nanos, 1_000_000_000)
        if second != self._second:
            self._second = second
            self._date = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)).encode()
        return b"%s.%09dZ " % (self._date, fraction)


def _block_spans(first: int, stop: int, per_block: int) -> Iterator[tuple[int, int]]:
    """[first, stop) over repeated blocks as (start, end) message indices within a block."""
    index = first
    while index < stop:
        block, start = divmod(index, per_block)
        end = min(per_block, stop - block * per_block)
        yield start, end
        index = block * per_block + end


def _slices(data: memoryview, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield bytes(data[start : start + size])


# --- images and pull progress -------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    """A scripted image: ``layers`` are (id, size) pairs; pulling it streams their progress."""

    repository: str
    tag: str = "latest"
    layers: tuple[tuple[str, int], ...] = (("3f4d90098f5b", 772_788),)
    steps: int = 3  # Downloading/Extracting progress messages per layer

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}"

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.reference.encode()).hexdigest()

    @property
    def id(self) -> str:
        return "sha256:" + hashlib.sha256(b"image " + self.reference.encode()).hexdigest()

    def pull_messages(self) -> list[dict[str, object]]:
        """The JSON messages of a pull, in the engine's order and shapes."""
        path = self.repository if "/" in self.repository else f"library/{self.repository}"
        messages: list[dict[str, object]] = [{"status": f"Pulling from {path}", "id": self.tag}]
        for layer, _ in self.layers:
            messages.append({"status": "Pulling fs layer", "progressDetail": {}, "id": layer})
        for layer, size in self.layers:
            messages += _progress("Downloading", layer, size, self.steps)
            messages.append({"status": "Verifying Checksum", "progressDetail": {}, "id": layer})
            messages.append({"status": "Download complete", "progressDetail": {}, "id": layer})
        for layer, size in self.layers:
            messages += _progress("Extracting", layer, size, self.steps)
            messages.append({"status": "Pull complete", "progressDetail": {}, "id": layer})
        messages.append({"status": f"Digest: {self.digest}"})
        messages.append({"status": f"Status: Downloaded newer image for {self.reference}"})
        return messages

    def pull_body(self) -> list[bytes]:
        """One chunk per message, each ending in CRLF, as the engine sends them."""
        return [chunk(jsonstream.encode(m)) for m in self.pull_messages()]


def _progress(status: str, layer: str, size: int, steps: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for step in range(1, steps + 1):
        current = size * step // steps
        out.append(
            {
                "status": status,
                "progressDetail": {"current": current, "total": size},
                "progress": progress_bar(current, size),
                "id": layer,
            }
        )
    return out


def progress_bar(current: int, total: int, width: int = 50) -> str:
    """The engine's progress string: ``[=====>    ]  1.2MB/3.4MB``."""
    filled = width * current // total if total else width
    bar = "=" * filled + (">" if filled < width else "") + " " * max(0, width - filled - 1)
    return f"[{bar}]  {_human(current)}/{_human(total)}"


def _human(size: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.4g}{unit}"
    return f"{size}B"


# --- events ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptedEvent:
    """An event the stub engine serves on ``GET /events``, at ``time`` (seconds) + ``nanos``."""

    type: str
    action: str
    actor: str
    time: int
    nanos: int = 0
    attributes: tuple[tuple[str, str], ...] = ()

    @property
    def time_ns(self) -> int:
        return self.time * 1_000_000_000 + self.nanos

    def message(self) -> dict[str, object]:
        document: dict[str, object] = {}
        # the pre-1.22 fields, still sent for containers and images (from: containers only)
        if self.type in ("container", "image"):
            document.update({"status": self.action, "id": self.actor})
        if self.type == "container":
            document["from"] = dict(self.attributes).get("image", "")
        document.update(
            {
                "Type": self.type,
                "Action": self.action,
                "Actor": {"ID": self.actor, "Attributes": dict(self.attributes)},
                "scope": "local",
                "time": self.time,
                "timeNano": self.time * 1_000_000_000 + self.nanos,
            }
        )
        return document

    def matches(self, filters: dict[str, list[str]]) -> bool:
        checks = {
            "type": [self.type],
            "event": [self.action],
            "container": [self.actor, dict(self.attributes).get("name", "")],
            "image": [dict(self.attributes).get("image", "")],
        }
        for key, wanted in filters.items():
            if key in checks and not set(wanted) & set(checks[key]):
                return False
        return True


def parse_timestamp(value: str) -> int:
    """A logs ``since``/``until`` value (``SECONDS[.FRACTION]``) in Unix nanoseconds.

    As the engine's ``timetypes.ParseTimestamps``: each part an integer, a
    fraction of any length scaled to nanoseconds; the error text is Go's.
    """
    seconds, dot, fraction = value.partition(".")
    for part in (seconds, fraction) if dot else (seconds,):
        if not re.fullmatch(r"[+-]?[0-9]+", part):
            raise ValueError(f'strconv.ParseInt: parsing "{part}": invalid syntax')
    nanos = 0
    if dot:
        digits = int(fraction)
        nanos = (
            digits * 10 ** (9 - len(fraction))
            if len(fraction) <= 9
            else int(digits * 10.0 ** (9 - len(fraction)))
        )
    return int(seconds) * 1_000_000_000 + nanos


def default_containers() -> tuple[Container, ...]:
    return (
        Container("c1" + "0" * 62, "logs-mux", output=LogSpec(size=64 * KIB)),
        Container("c2" + "0" * 62, "logs-tty", tty=True, output=LogSpec(size=16 * KIB, seed=2)),
        Container("c3" + "0" * 62, "running", running=True, output=LogSpec(size=4 * KIB, seed=3)),
    )


def default_events(containers: Sequence[Container]) -> tuple[ScriptedEvent, ...]:
    events = []
    for index, container in enumerate(containers):
        attributes = (("image", container.image), ("name", container.name))
        for step, action in enumerate(("create", "start", "die")):
            events.append(
                ScriptedEvent(
                    "container",
                    action,
                    container.id,
                    BASE_TIME + 10 * index + step,
                    123_456_789,
                    attributes,
                )
            )
    return tuple(sorted(events, key=lambda e: (e.time, e.nanos)))


@dataclass(frozen=True)
class Script:
    """Everything the stub engine knows: containers, images, events, versions."""

    containers: tuple[Container, ...] = field(default_factory=default_containers)
    images: tuple[Image, ...] = (Image("busybox"), Image("alpine", "3.19"))
    events: tuple[ScriptedEvent, ...] | None = None
    min_version: tuple[int, int] = (1, 12)
    max_version: tuple[int, int] = (1, 41)
    server_version: str = "20.10.24-wireproto-stub"

    def all_events(self) -> tuple[ScriptedEvent, ...]:
        return default_events(self.containers) if self.events is None else self.events

    def container(self, ref: str) -> Container | None:
        for container in self.containers:
            if ref in (container.id, container.name, "/" + container.name):
                return container
        matches = [c for c in self.containers if c.id.startswith(ref)] if len(ref) >= 3 else []
        return matches[0] if len(matches) == 1 else None

    def image(self, repository: str, tag: str) -> Image | None:
        # The docker CLI 28 asks for docker.io/library/busybox, older ones for busybox.
        short = repository.removeprefix("docker.io/").removeprefix("library/")
        for image in self.images:
            if image.repository in (repository, short) and (image.tag == tag):
                return image
        return None
