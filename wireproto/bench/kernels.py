"""Demux kernels in memory: every backend against docker-py and the memory-copy limit.

The same workloads as ``benchmarks/bench_mux.py`` (tiny 16-byte frames, log
lines of 40..200 bytes, bulk 64 KiB frames; 70/30 stdout/stderr, seeded),
cut into 64 KiB feeds as socket reads would be, sized to keep a default run
short: the fast contenders run over ``size`` bytes, the slow ones over a
slice (rates are per byte, so they compare).
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from wireproto import mux
from wireproto.codec import backend as _backend

FEED_SIZE = 64 * 1024
MIB = 1024 * 1024
STDOUT_SHARE = 0.7
SEED = 1606

MIXES: dict[str, Callable[[random.Random], int]] = {
    "tiny": lambda rng: 16,
    "log": lambda rng: rng.randint(40, 200),
    "bulk": lambda rng: 64 * 1024,
}


@dataclass
class Work:
    mix: str
    data: bytes
    payload: int
    frames: int
    unit: int  # bytes of the generated block that data repeats

    def feeds(self) -> list[memoryview]:
        view = memoryview(self.data)
        return [view[i : i + FEED_SIZE] for i in range(0, len(view), FEED_SIZE)]


def workload(mix: str, size: int) -> Work:
    rng = random.Random(f"{SEED}-{mix}")
    text = bytes(rng.randrange(32, 127) for _ in range(4096)) * 17
    parts, payload, frames, total = [], 0, 0, 0
    block = min(size, 2 * MIB)
    while total < block:
        length = MIXES[mix](rng)
        stream = mux.STDOUT if rng.random() < STDOUT_SHARE else mux.STDERR
        start = rng.randrange(len(text) - length)
        parts.append(mux.encode(stream, text[start : start + length]))
        total += length + mux.HEADER_SIZE
        payload += length
        frames += 1
    unit = b"".join(parts)
    repeats = max(1, round(size / len(unit)))
    return Work(mix, unit * repeats, payload * repeats, frames * repeats, len(unit))


def sliced(work: Work, size: int) -> Work:
    """Whole repeats of the generated block, about ``size`` bytes (at least one block)."""
    if len(work.data) <= size:
        return work
    units = max(1, size // work.unit)
    repeats = len(work.data) // work.unit
    return Work(
        work.mix,
        work.data[: units * work.unit],
        work.payload // repeats * units,
        work.frames // repeats * units,
        work.unit,
    )


def demux_feed(backend: str) -> Callable[[Iterable[memoryview]], int]:
    """A pass of ``feed`` over the reads: payload bytes seen (the pieces are consumed)."""
    cls = mux.demuxer_class(backend)

    def run(reads: Iterable[memoryview]) -> int:
        demuxer, total = cls(), 0
        for data in reads:
            for _stream, piece in demuxer.feed(data):
                total += len(piece)
        demuxer.close()
        return total

    return run


def demux_feed_into(backend: str) -> Callable[[Iterable[memoryview]], int]:
    """A pass of ``feed_into`` in steady state: the sinks drained after each read,
    as a consumer writing them out would (ever-growing sinks measure the allocator)."""
    cls = mux.demuxer_class(backend)

    def run(reads: Iterable[memoryview]) -> int:
        demuxer, total = cls(), 0
        sinks = [bytearray() for _ in range(4)]
        for data in reads:
            demuxer.feed_into(data, sinks)
            for sink in sinks:
                if sink:
                    total += len(sink)
                    del sink[:]
        demuxer.close()
        return total

    return run


def feed(backend: str) -> Callable[[Work], int]:
    run = demux_feed(backend)
    return lambda work: run(work.feeds())


def feed_into(backend: str) -> Callable[[Work], int]:
    run = demux_feed_into(backend)
    return lambda work: run(work.feeds())


# Copy targets, allocated once per size and touched by the warm-up pass: a fresh
# allocation in the timed pass would measure page faults, not memory bandwidth.
_COPY_TARGETS: dict[int, bytearray] = {}


def memcpy(work: Work) -> int:
    target = _COPY_TARGETS.get(len(work.data))
    if target is None:
        target = _COPY_TARGETS[len(work.data)] = bytearray(len(work.data))
    view, position = memoryview(target), 0
    for data in work.feeds():
        view[position : position + len(data)] = data
        position += len(data)
    return work.payload  # counts as having seen every payload byte


def docker_py(work: Work) -> int:
    from docker.utils.socket import frames_iter

    with tempfile.NamedTemporaryFile(dir=_shm(), prefix="wireproto-bench-") as file:
        file.write(work.data)
        file.flush()
        total = 0
        with open(file.name, "rb", buffering=0) as stream:
            for _stream, data in frames_iter(stream, tty=False):
                total += len(data)
    return total


def _shm() -> str | None:
    return "/dev/shm" if os.path.isdir("/dev/shm") else None


def have_docker_py() -> bool:
    try:
        import docker  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class Contender:
    name: str
    run: Callable[[Work], int]
    slice_size: int | None = None  # runs over the first slice_size bytes only


def contenders(slow_slice: int, docker_slice: int) -> list[Contender]:
    entrants = [Contender("memcpy (limit)", memcpy)]
    backends = ["native", "python"] if _backend.load_native() is not None else ["python"]
    for backend in backends:
        slow = None if backend == "native" else slow_slice
        entrants.append(Contender(f"{backend} feed_into", feed_into(backend), slow))
        entrants.append(Contender(f"{backend} feed", feed(backend), slow))
    if have_docker_py():
        entrants.append(Contender("docker-py frames_iter", docker_py, docker_slice))
    return entrants


def timed(contender: Contender, work: Work, repeat: int) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, stream bytes) of the fastest of ``repeat`` passes.

    The best pass, as for every figure of the harness: with two passes a
    median would be the slower one, which for the memory-copy limit is the
    pass that first touches its target's pages.
    """
    best: tuple[float, float] | None = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.thread_time()
        seen = contender.run(work)
        result = (time.perf_counter() - wall, time.thread_time() - cpu)
        if seen != work.payload:
            raise RuntimeError(f"{contender.name}: saw {seen} payload bytes, not {work.payload}")
        if best is None or result[0] < best[0]:
            best = result
    assert best is not None
    return best[0], best[1], len(work.data)
