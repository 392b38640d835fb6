"""JSON progress streams: wireproto's decoder against docker-py and per-line parsing.

The stream is realistic pull progress (dockerd's messages for a 6-layer pull,
~180 bytes each, CRLF-terminated as dockerd 20.10 sends them, one per HTTP
chunk).  Shared by ``wireproto bench`` and benchmarks/bench_jsonstream.py.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wireproto import jsonstream
from wireproto.jsonstream import JSONStreamDecoder
from wireproto.progress import MessageDecoder

READ_SIZE = 64 * 1024


def _bar(current: int, total: int) -> str:
    width = 50
    filled = current * width // total
    arrow = "=" * max(0, filled - 1) + (">" if filled else "")
    return f"[{arrow:<{width}}]  {current / 1e6:.4g}MB/{total / 1e6:.4g}MB"


def pull_messages(seed: int = 180) -> list[dict[str, Any]]:
    """One pull of 6 layers, as dockerd reports it (progress every ~32 KiB)."""
    rng = random.Random(seed)
    layers = [(f"{rng.getrandbits(48):012x}", rng.randint(2, 40) * 1_000_000) for _ in range(6)]
    out: list[dict[str, Any]] = [{"status": "Pulling from library/python", "id": "3.12"}]
    out += [{"status": "Pulling fs layer", "progressDetail": {}, "id": lid} for lid, _ in layers]
    out += [{"status": "Waiting", "progressDetail": {}, "id": lid} for lid, _ in layers[3:]]
    for lid, total in layers:
        out += _progress("Downloading", lid, total, 32768 * 8)
        out.append({"status": "Verifying Checksum", "progressDetail": {}, "id": lid})
        out.append({"status": "Download complete", "progressDetail": {}, "id": lid})
    for lid, total in layers:
        out += _progress("Extracting", lid, total, 32768 * 16)
        out.append({"status": "Pull complete", "progressDetail": {}, "id": lid})
    out.append({"status": f"Digest: sha256:{rng.getrandbits(256):064x}"})
    out.append({"status": "Status: Downloaded newer image for python:3.12"})
    return out


def _progress(status: str, lid: str, total: int, step: int) -> list[dict[str, Any]]:
    """A layer's progress messages of one phase, one per ``step`` bytes."""
    return [
        {
            "status": status,
            "progressDetail": {"current": current, "total": total},
            "progress": _bar(current, total),
            "id": lid,
        }
        for current in range(0, total, step)
    ]


def make_stream(size: int) -> tuple[list[bytes], int]:
    """Messages (each one engine chunk, CRLF-terminated) adding up to ~``size`` bytes."""
    one = [json.dumps(m, separators=(",", ":")).encode() + b"\r\n" for m in pull_messages()]
    per_pull = sum(map(len, one))
    return one * max(1, size // per_pull), len(one) * max(1, size // per_pull)


def typed_messages(parser: str) -> Callable[[list[bytes]], int]:
    """wireproto: reads through MessageDecoder, each feed's messages typed (JSONMessage)."""

    def run(reads: list[bytes]) -> int:
        decoder = MessageDecoder(parser=parser)
        count = 0
        for data in reads:
            count += len(decoder.feed(data))
        return count + len(decoder.close())

    return run


def stream_values(parser: str) -> Callable[[list[bytes]], int]:
    """wireproto: reads through JSONStreamDecoder, plain values."""

    def run(reads: list[bytes]) -> int:
        decoder = JSONStreamDecoder(parser=parser)
        count = 0
        for data in reads:
            count += len(decoder.feed(data))
        return count + len(decoder.close())

    return run


def docker_py(messages: list[bytes]) -> int:
    """docker-py's json_stream over the pieces it is given.

    Fed one message per piece, this is docker-py as it reads a pull from the
    engine: ``APIClient._stream_helper`` reads one byte and then the rest of
    the current HTTP chunk (``reader.read(reader._fp.chunk_left)``), so it
    yields one item per chunk, and dockerd flushes one chunk per message.
    Each message is then one ``json_stream`` step (a str decode, a buffer
    concat, a ``json_splitter``).  Fed 64 KiB reads (``reads``), the same
    code does less per message: a second anchor, not how it really runs.
    """
    from docker.utils.json_stream import json_stream

    return sum(1 for _ in json_stream(iter(messages)))


def loads_per_line(messages: list[bytes]) -> int:
    """``json.loads`` per pre-split line: no framing work at all."""
    for line in messages:
        json.loads(line)
    return len(messages)


def per_line(loads: Callable[[bytes], object]) -> Callable[[list[bytes]], int]:
    """A parser per pre-split line: no framing work at all."""

    def run(lines: list[bytes]) -> int:
        for line in lines:
            loads(line)
        return len(lines)

    return run


def line_split(loads: Callable[[bytes], object]) -> Callable[[list[bytes]], int]:
    """The simplest framing a client can write: split each read at newlines, parse each line."""

    def run(reads: list[bytes]) -> int:
        count, held = 0, b""
        for data in reads:
            lines = (held + data).split(b"\n") if held else data.split(b"\n")
            held = lines.pop()
            for line in lines:
                if line.strip():
                    loads(line)
                    count += 1
        return count

    return run


def msgspec_struct_loads() -> Callable[[bytes], object] | None:
    """msgspec decoding into the engine's message struct (progress's), or None."""
    try:
        import msgspec
    except ImportError:
        return None
    from wireproto.progress import JSONMessage

    struct = next(c for c in JSONMessage.__subclasses__() if issubclass(c, msgspec.Struct))
    decode: Callable[[bytes], object] = msgspec.json.Decoder(struct).decode
    return decode


# How a contender is fed: 64 KiB reads, 4 KiB reads, one message (one HTTP
# chunk, as dockerd sends it) per feed, or pre-split lines (no framing).
FEEDS = ("64 KiB reads", "4 KiB reads", "chunk a message", "pre-split lines")


@dataclass(frozen=True)
class Contender:
    name: str
    run: Callable[[list[bytes]], int]
    feed: str  # one of FEEDS
    missing: str | None = None  # not installed: the hint


BASELINE = "docker-py json_stream"
ANCHORS = (
    "msgspec Struct per line",
    "orjson per line",
    "orjson + split, 4 KiB reads",
    "orjson + split, chunk a message",
)
INSTALL_HINT = "pip install '.[bench]'"


def contenders() -> list[Contender]:
    """Typed decoding with every installed parser (the default first), then the anchors."""
    installed = [name for name in jsonstream.PARSERS if _installed(name)]
    installed.sort(key=lambda name: name != jsonstream.choose(None))
    default = installed[0]
    entrants = [
        Contender(f"wireproto typed ({name})", typed_messages(name), FEEDS[0]) for name in installed
    ]
    for feed in FEEDS[1:3]:
        entrants.append(Contender(f"typed ({default}), {feed}", typed_messages(default), feed))
        entrants.append(Contender(f"values ({default}), {feed}", stream_values(default), feed))
    entrants.append(Contender("json.loads per line", loads_per_line, FEEDS[3]))
    struct = msgspec_struct_loads()
    if struct is None:
        hint = f"msgspec is not installed: {INSTALL_HINT}"
        entrants.append(Contender("msgspec Struct per line", loads_per_line, FEEDS[3], hint))
    else:
        entrants.append(Contender("msgspec Struct per line", per_line(struct), FEEDS[3]))
    try:
        import orjson
    except ImportError:
        hint = f"orjson is not installed: {INSTALL_HINT}"
        for feed in FEEDS[1:3]:
            entrants.append(Contender(f"orjson + split, {feed}", loads_per_line, feed, hint))
    else:
        for feed in FEEDS[1:3]:
            entrants.append(Contender(f"orjson + split, {feed}", line_split(orjson.loads), feed))
        entrants.append(Contender("orjson per line", per_line(orjson.loads), FEEDS[3]))
    try:
        import docker  # noqa: F401
    except ImportError:
        hint = f"docker-py is not installed: {INSTALL_HINT}"
        entrants.append(Contender(BASELINE, docker_py, FEEDS[2], hint))
        return entrants
    entrants.append(Contender(BASELINE, docker_py, FEEDS[2]))  # as it reads: the baseline
    entrants.append(Contender(f"{BASELINE}, 64 KiB reads", docker_py, FEEDS[0]))
    return entrants


def limit() -> str:
    """The limit: the fastest per-line parse installed (no framing at all)."""
    return (
        "msgspec Struct per line" if msgspec_struct_loads() is not None else "json.loads per line"
    )


def _installed(parser: str) -> bool:
    try:
        jsonstream.choose(parser)
    except ImportError:
        return False
    return True


def timed(contender: Contender, messages: list[bytes], repeat: int) -> tuple[float, float, int]:
    """(wall s, CPU s, bytes) of the fastest of ``repeat`` passes; checks the count."""
    data = b"".join(messages)
    feed = pieces(contender.feed, messages)
    best: tuple[float, float] | None = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.thread_time()
        seen = contender.run(feed)
        result = (time.perf_counter() - wall, time.thread_time() - cpu)
        if seen != len(messages):
            raise RuntimeError(f"{contender.name}: {seen} messages, not {len(messages)}")
        if best is None or result[0] < best[0]:
            best = result
    assert best is not None
    return best[0], best[1], len(data)


def pieces(feed: str, messages: list[bytes]) -> list[bytes]:
    """The stream as ``feed`` says (fresh objects: a repeated message would run cache-hot)."""
    data = b"".join(messages)
    if feed == "chunk a message":
        return [line + b"\r\n" for line in data.split(b"\r\n")[:-1]]
    if feed == "pre-split lines":
        return data.split(b"\r\n")[:-1]
    return reads(data, 4096 if feed == "4 KiB reads" else READ_SIZE)


def reads(data: bytes, size: int = READ_SIZE) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]
