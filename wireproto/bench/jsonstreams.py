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
    """wireproto: 64 KiB reads through MessageDecoder, each feed's messages typed (JSONMessage)."""

    def run(reads: list[bytes]) -> int:
        decoder = MessageDecoder(parser=parser)
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


@dataclass(frozen=True)
class Contender:
    name: str
    run: Callable[[list[bytes]], int]
    as_messages: bool  # fed one message per item, else 64 KiB reads


def contenders() -> list[Contender]:
    """Typed decoding with every installed parser (the default first), then the anchors."""
    installed = [name for name in jsonstream.PARSERS if _installed(name)]
    installed.sort(key=lambda name: name != jsonstream.choose(None))
    entrants = [
        Contender(f"wireproto typed ({name})", typed_messages(name), False) for name in installed
    ]
    entrants.append(Contender("json.loads per line", loads_per_line, True))
    try:
        import docker  # noqa: F401
    except ImportError:
        return entrants
    entrants.append(
        Contender("docker-py json_stream", docker_py, True)
    )  # as it reads: the baseline
    entrants.append(Contender("docker-py json_stream, 64 KiB reads", docker_py, False))
    return entrants


def _installed(parser: str) -> bool:
    try:
        jsonstream.choose(parser)
    except ImportError:
        return False
    return True


def timed(contender: Contender, messages: list[bytes], repeat: int) -> tuple[float, float, int]:
    """(wall s, CPU s, bytes) of the fastest of ``repeat`` passes; checks the count."""
    data = b"".join(messages)
    feed = messages if contender.as_messages else reads(data)
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


def reads(data: bytes) -> list[bytes]:
    return [data[i : i + READ_SIZE] for i in range(0, len(data), READ_SIZE)]
