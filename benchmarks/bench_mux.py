"""Throughput of the multiplexed-stream demuxer against docker-py and memcpy.

    python benchmarks/bench_mux.py [--size MiB] [--repeat N] [--json FILE]
                                   [--mix tiny|log|bulk] [--clock wall|cpu]

For each mix (tiny 16-byte frames, log lines of 40..200 bytes, bulk 64 KiB
frames; stdout/stderr picked 70/30 per frame, seeded) an in-memory stream of
about ``--size`` MiB is cut into 64 KiB feeds, as reads from a socket would
be, and every contender runs over it in the same process: the native and
Python backends (``feed`` and ``feed_into``), docker-py's ``frames_iter``
reading the stream from a file on /dev/shm, and the memory-copy limit
(the feeds copied into a preallocated buffer).  Each figure is the median of
``--repeat`` timed passes after a warm-up round; the contenders take turns,
round by round, so that load from elsewhere hits them alike.  Every pass
checks that it saw every payload byte.

This is a benchmark, not a test: the targets printed at the end are the
goals from the issue, measured in this run on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wireproto import mux
from wireproto.bench import kernels

FEED_SIZE = 64 * 1024
MIB = 1024 * 1024
# A block of whole frames is generated, then repeated to the requested size:
# generating 256 MiB of 16-byte frames one by one would dominate the run.
BLOCK_SIZE = 4 * MIB
# docker-py reads a frame header and then its payload with a poll() and an
# os.read() each: it runs on a slice of this size, its rate is per byte.
DOCKER_SIZE = 16 * MIB
STDOUT_SHARE = 0.7
SEED = 1606


@dataclass(frozen=True)
class Mix:
    name: str
    description: str
    payload_size: Callable[[random.Random], int]


MIXES = (
    Mix("tiny", "16-byte payloads", lambda rng: 16),
    Mix("log", "log lines, 40..200 bytes", lambda rng: rng.randint(40, 200)),
    Mix("bulk", "64 KiB payloads", lambda rng: 64 * 1024),
)


@dataclass
class Workload:
    """One mix's stream, cut into feeds; ``docker_*`` describe the whole-frame
    prefix that docker-py reads."""

    mix: Mix
    data: bytes
    frames: int
    payload: int  # payload bytes in data
    docker_frames: int
    docker_payload: int
    docker_size: int
    feeds: list[memoryview] = field(default_factory=list)

    def __post_init__(self) -> None:
        view = memoryview(self.data)
        self.feeds = [view[i : i + FEED_SIZE] for i in range(0, len(view), FEED_SIZE)]


@dataclass
class Figure:
    """The timings of one contender on one mix."""

    contender: str
    stream_bytes: int
    frames: int
    times: list[float]
    median_s: float = 0.0
    mb_per_s: float = 0.0
    frames_per_s: float = 0.0
    spread: float = 0.0  # (slowest - fastest) / median: how noisy the run was
    x_memcpy: float | None = None
    x_docker: float | None = None

    def __post_init__(self) -> None:
        self.median_s = statistics.median(self.times)
        self.spread = (max(self.times) - min(self.times)) / self.median_s
        self.mb_per_s = self.stream_bytes / self.median_s / 1e6
        self.frames_per_s = self.frames / self.median_s


# ---- data --------------------------------------------------------------------


def block(mix: Mix, rng: random.Random) -> tuple[bytes, int, int]:
    """About BLOCK_SIZE bytes of whole frames: (bytes, frames, payload bytes)."""
    text = bytes(rng.randrange(32, 127) for _ in range(4096)) * 64
    parts: list[bytes] = []
    size = frames = payload = 0
    while size < BLOCK_SIZE:
        length = mix.payload_size(rng)
        stream = mux.STDOUT if rng.random() < STDOUT_SHARE else mux.STDERR
        start = rng.randrange(len(text) - length)
        parts.append(mux.encode(stream, text[start : start + length]))
        size += length + mux.HEADER_SIZE
        frames += 1
        payload += length
    return b"".join(parts), frames, payload


def workload(mix: Mix, size: int) -> Workload:
    unit, frames, payload = block(mix, random.Random(f"{SEED}-{mix.name}"))
    repeats = max(1, round(size / len(unit)))
    docker_repeats = min(repeats, max(1, round(DOCKER_SIZE / len(unit))))
    return Workload(
        mix,
        unit * repeats,
        frames * repeats,
        payload * repeats,
        frames * docker_repeats,
        payload * docker_repeats,
        len(unit) * docker_repeats,
    )


# ---- contenders: each runs one full pass and returns the payload bytes seen ----


def run_feed(backend: str) -> Callable[[Workload], int]:
    run = kernels.demux_feed(backend)  # the same pass as `wireproto bench`
    return lambda work: run(work.feeds)


def run_feed_into(backend: str) -> Callable[[Workload], int]:
    run = kernels.demux_feed_into(backend)  # steady state: sinks drained after each feed
    return lambda work: run(work.feeds)


def run_docker(path: Path) -> Callable[[Workload], int]:
    try:
        from docker.utils.socket import frames_iter
    except ImportError:
        raise SystemExit("docker-py is one of the contenders: pip install docker") from None

    def run(work: Workload) -> int:
        total = 0
        # Unbuffered: frames_iter's read() polls the fd, then os.read()s it.
        with open(path, "rb", buffering=0) as stream:
            for _stream, data in frames_iter(stream, tty=False):
                total += len(data)
        return total

    return run


def run_memcpy() -> Callable[[Workload], int]:
    target = bytearray()

    def run(work: Workload) -> int:
        # Preallocated (and touched) in the untimed warm-up pass, then reused.
        if len(target) != len(work.data):
            target[:] = bytes(len(work.data))
        view = memoryview(target)
        position = 0
        for chunk in work.feeds:
            end = position + len(chunk)
            view[position:end] = chunk
            position = end
        view.release()
        return position

    return run


# ---- measuring ---------------------------------------------------------------


@dataclass(frozen=True)
class Contender:
    name: str
    run: Callable[[Workload], int]
    docker_slice: bool = False  # runs on the docker-py prefix only
    counts_stream: bool = False  # returns stream bytes seen, not payload bytes


def contenders(docker_file: Path) -> list[Contender]:
    return [
        Contender("memcpy (limit)", run_memcpy(), counts_stream=True),
        Contender("native feed_into", run_feed_into("native")),
        Contender("native feed", run_feed("native")),
        Contender("python feed_into", run_feed_into("python")),
        Contender("python feed", run_feed("python")),
        Contender("docker-py frames_iter", run_docker(docker_file), docker_slice=True),
    ]


CLOCKS: dict[str, Callable[[], float]] = {
    "wall": time.perf_counter,
    # CPU time of this process (user + system): steadier when other jobs
    # share the machine, as long as they leave the memory bus alone.
    "cpu": time.process_time,
}


def timed_pass(contender: Contender, work: Workload, clock: Callable[[], float]) -> float:
    if contender.counts_stream:
        expected = len(work.data)
    else:
        expected = work.docker_payload if contender.docker_slice else work.payload
    start = clock()
    seen = contender.run(work)
    elapsed = clock() - start
    if seen != expected:
        raise SystemExit(f"{contender.name}: saw {seen} payload bytes, not {expected}")
    return elapsed


def measure(
    entrants: list[Contender], work: Workload, repeat: int, clock: str
) -> dict[str, Figure]:
    """Round-robin passes (a warm-up round first), so load spikes hit all alike."""
    times: dict[str, list[float]] = {c.name: [] for c in entrants}
    for round_number in range(repeat + 1):
        for contender in entrants:
            elapsed = timed_pass(contender, work, CLOCKS[clock])
            if round_number:
                times[contender.name].append(elapsed)
        progress(f"  round {round_number or 'warm-up'} done")
    return {c.name: figure(c, work, times[c.name]) for c in entrants}


def figure(contender: Contender, work: Workload, times: list[float]) -> Figure:
    if contender.docker_slice:
        return Figure(contender.name, work.docker_size, work.docker_frames, times)
    return Figure(contender.name, len(work.data), work.frames, times)


def add_ratios(figures: dict[str, Figure]) -> None:
    limit = figures["memcpy (limit)"].mb_per_s
    docker = figures["docker-py frames_iter"].mb_per_s
    for figure in figures.values():
        figure.x_memcpy = figure.mb_per_s / limit
        figure.x_docker = figure.mb_per_s / docker


def bench_mix(mix: Mix, size: int, repeat: int, clock: str) -> tuple[Workload, dict[str, Figure]]:
    work = workload(mix, size)
    with tempfile.NamedTemporaryFile(dir=_shm(), prefix="bench_mux-") as docker_file:
        docker_file.write(work.data[: work.docker_size])
        docker_file.flush()
        figures = measure(contenders(Path(docker_file.name)), work, repeat, clock)
    add_ratios(figures)
    return work, figures


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _shm() -> str | None:
    return "/dev/shm" if os.path.isdir("/dev/shm") else None


# ---- targets -----------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    mix: str
    contender: str
    against: str  # "memcpy" or "docker"
    at_least: float

    def ratio(self, results: dict[str, dict[str, Figure]]) -> float:
        figure = results[self.mix][self.contender]
        value = figure.x_memcpy if self.against == "memcpy" else figure.x_docker
        assert value is not None
        return value

    def describe(self) -> str:
        against = "memory copy" if self.against == "memcpy" else "docker-py"
        return f"{self.mix} mix: {self.contender} >= {self.at_least:g}x {against}"


TARGETS = (
    Target("log", "native feed_into", "memcpy", 0.4),
    Target("log", "native feed", "docker", 40),
    Target("log", "python feed", "docker", 8),
    Target("tiny", "native feed_into", "memcpy", 0.1),
    Target("bulk", "native feed", "memcpy", 1.0),
    Target("bulk", "native feed_into", "memcpy", 0.7),
)


# ---- output ------------------------------------------------------------------


def print_table(work: Workload, figures: dict[str, Figure]) -> None:
    mib = len(work.data) / MIB
    print(
        f"\n{work.mix.name} mix ({work.mix.description}): {mib:.0f} MiB, "
        f"{work.frames:,} frames, {FEED_SIZE // 1024} KiB feeds"
    )
    print(
        f"  {'contender':<24}{'MiB':>6}{'MB/s':>10}{'frames/s':>14}"
        f"{'x memcpy':>10}{'x docker-py':>13}{'spread':>8}"
    )
    for f in figures.values():
        print(
            f"  {f.contender:<24}{f.stream_bytes / MIB:>6.0f}{f.mb_per_s:>10,.0f}"
            f"{f.frames_per_s:>14,.0f}{f.x_memcpy:>10.3f}{f.x_docker:>13.1f}"
            f"{f.spread:>8.0%}"
        )


def print_targets(results: dict[str, dict[str, Figure]]) -> list[dict[str, Any]]:
    print("\ntargets (measured in this run):")
    rows = []
    for target in TARGETS:
        if target.mix not in results:
            continue
        ratio = target.ratio(results)
        verdict = "PASS" if ratio >= target.at_least else "FAIL"
        print(f"  {verdict}  {target.describe():<48} measured {ratio:.3g}x")
        rows.append({**asdict(target), "ratio": ratio, "pass": ratio >= target.at_least})
    return rows


def git_revision() -> str | None:
    """The checkout's commit, with "+dirty" when its files differ from it."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "native", "wireproto"],
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return None
    return f"{head}+dirty" if head and dirty else head or None


def write_json(path: str, args: argparse.Namespace, results: dict[str, Any]) -> None:
    document = {
        "revision": git_revision(),
        "python": sys.version,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "backend": mux.BACKEND,
        "feed_size": FEED_SIZE,
        "size_mib": args.size,
        "repeat": args.repeat,
        "clock": args.clock,
        "docker_slice_mib": DOCKER_SIZE / MIB,
        **results,
    }
    Path(path).write_text(json.dumps(document, indent=2) + "\n")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256, help="MiB per mix (default 256)")
    parser.add_argument("--repeat", type=int, default=7, help="timed passes (default 7)")
    parser.add_argument("--json", metavar="FILE", help="write all figures to FILE")
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="wall time (default) or this process's CPU time (for a busy machine)",
    )
    parser.add_argument(
        "--mix",
        action="append",
        choices=[m.name for m in MIXES],
        help="run only this mix (repeatable)",
    )
    args = parser.parse_args(argv)
    if args.size < 1 or args.repeat < 1:
        parser.error("--size and --repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    print(
        f"wireproto demux benchmark: median of {args.repeat} passes after a warm-up "
        f"({args.clock} clock); docker-py runs on the first ~{DOCKER_SIZE // MIB} MiB "
        f"of each stream (rates are per byte); MB = 10^6 bytes"
    )
    results: dict[str, dict[str, Figure]] = {}
    for mix in MIXES:
        if args.mix and mix.name not in args.mix:
            continue
        progress(f"[{mix.name}]")
        work, figures = bench_mix(mix, args.size * MIB, args.repeat, args.clock)
        print_table(work, figures)
        results[mix.name] = figures
        del work
    targets = print_targets(results)
    if args.json:
        mixes = {m: {c: asdict(f) for c, f in figs.items()} for m, figs in results.items()}
        write_json(args.json, args, {"mixes": mixes, "targets": targets})


if __name__ == "__main__":
    main()
