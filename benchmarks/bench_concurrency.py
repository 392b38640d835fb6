"""Aggregate log-demux throughput and memory with 1..1,000 concurrent streams.

    python benchmarks/bench_concurrency.py [--streams 1,10,100,1000] [--total MiB]
                                           [--clients asyncio,streamreader,trio,threads,aiodocker]
                                           [--sinks] [--runs N] [--before TREE]
                                           [--json FILE]

The project's stub engine (``wireproto.engine.StubEngineProcess``: ``wireproto
serve`` in a subprocess, on a unix socket) serves a ``bench`` container whose
logs are what the test engine sends: chunked, one chunk per 100-byte log
line, multiplexed, 30% of the lines on stderr.  Every contender of one
concurrency level runs against the same stub process.  For each client and
each concurrency N, a fresh subprocess opens N streams at once; each stream
inspects the container (to learn its TTY, as aiodocker's ``log()`` and the
docker CLI do) and reads its logs to the end, counting payload bytes (every
stream is checked complete).  Reported:

- ``MiB/s``: aggregate payload (wall clock, all streams);
- ``KiB/stream``: peak RSS of the client process above its RSS before the
  streams began (client modules already imported), per stream;
- ``idle KiB``: the same client opens N ``--follow`` streams on the stub's
  running container, reads its 4 KiB of output and waits: RSS above the
  start, per stream, while all N are open and idle.

``--total`` MiB of payload is split over the N streams (at least 128 KiB
each).  Clients: ``asyncio`` (wireproto's BufferedProtocol adapter),
``streamreader`` (the same exchange fed from an asyncio StreamReader: the
copy-per-read path the adapter was measured against), ``trio``,
``threads`` (the blocking adapter, one thread per stream) and ``aiodocker``
(``container.log(follow=True)``), the anchor.  wireproto clients consume
``Output`` events (every payload piece handed to the caller); ``--sinks``
makes them count through ``.write()`` sinks instead (the feed_into path).

``--runs N`` repeats every client N times, in turns, and reports medians
and ranges; ``--before TREE`` runs the wireproto clients a second time from
another checkout (``git worktree add``), labelled ``@before``, in the same
turns: before and after side by side in one run.

This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wireproto import api
from wireproto.adapters._common import RECV_SIZE
from wireproto.engine import StubEngineProcess
from wireproto.exchange import NEED_DATA, PAUSED, EndOfMessage, Exchange, Output

MIB = 1024 * 1024
MIN_PER_STREAM = 128 * 1024
BENCH = "bench"  # the container `wireproto serve --log-size` adds
IDLE = "running"  # a running container of the stub's default script: 4 KiB, then silence
IDLE_SIZE = 4096


@dataclass(frozen=True)
class Job:
    """What each stream reads: ``size`` payload bytes of ``container``'s logs.

    ``follow``: the stream stays open after them; each stream then waits at
    ``idle`` until all are there (the RSS is taken), and closes.
    """

    container: str
    size: int
    follow: bool
    sinks: bool


class Idle:
    """Counts streams that reached their idle point; the last one takes the RSS."""

    def __init__(self, n: int, event: Any) -> None:
        self.n = n
        self.count = 0
        self.rss = 0
        self.event = event

    async def arrive(self) -> None:
        self.count += 1
        if self.count == self.n:
            self.rss = rss_now()
            self.event.set()
        await self.event.wait()


class Counter:
    """A ``.write()`` sink that counts what the demuxer hands it (no copy)."""

    def __init__(self) -> None:
        self.total = 0

    def write(self, data: memoryview) -> None:
        self.total += len(data)


def count_output(event: object) -> int:
    if isinstance(event, Output):
        return sum(len(p) for _, p in event.pieces)
    return 0


def tty_of(document: object) -> bool:
    assert isinstance(document, dict)
    return bool(document["Config"]["Tty"])


# --- the clients -------------------------------------------------------------------------------


async def read_async(client: Any, job: Job, idle: Idle) -> int:
    """One stream on an async wireproto client (asyncio or trio)."""
    tty = tty_of((await client.request(api.inspect_container(job.container))).document)
    call = api.logs(job.container, follow=job.follow, tty=tty)
    counter = Counter()
    sinks = {1: counter, 2: counter} if job.sinks else None
    total = 0
    async with client.stream(call, sinks=sinks) as events:
        async for event in events:
            total += count_output(event)
            if job.follow and total + counter.total >= job.size:
                await idle.arrive()
                break
    return total + counter.total


async def run_asyncio(host: str, n: int, job: Job, idle: Idle) -> list[int]:
    from wireproto.adapters.asyncio import Client

    async with Client(host) as client:
        return list(await asyncio.gather(*(read_async(client, job, idle) for _ in range(n))))


async def run_streamreader(path: str, n: int, job: Job, idle: Idle) -> list[int]:
    from wireproto.adapters.asyncio import Client

    async def one(client: Client) -> int:
        # Inspected per stream, as the other contenders do.
        tty = tty_of((await client.request(api.inspect_container(job.container))).document)
        reader, writer = await asyncio.open_unix_connection(path, limit=RECV_SIZE)
        exchange = Exchange(api.logs(job.container, follow=job.follow, tty=tty))
        writer.write(exchange.data_to_send())
        total = 0
        while True:
            event = exchange.next_event()
            if event is NEED_DATA:
                exchange.receive_data(await reader.read(RECV_SIZE))
            elif event is PAUSED or isinstance(event, EndOfMessage):
                break
            else:
                total += count_output(event)
                if job.follow and total >= job.size:
                    await idle.arrive()
                    break
        writer.close()
        return total

    async with Client(f"unix://{path}") as client:
        return list(await asyncio.gather(*(one(client) for _ in range(n))))


async def run_trio(host: str, n: int, job: Job, idle: Idle) -> list[int]:
    import trio

    from wireproto.adapters.trio import Client

    results: list[int] = []
    async with Client(host) as client:

        async def one() -> None:
            results.append(await read_async(client, job, idle))

        async with trio.open_nursery() as nursery:
            for _ in range(n):
                nursery.start_soon(one)
    return results


def run_threads(host: str, n: int, job: Job, idle_rss: list[int]) -> list[int]:
    from wireproto.adapters.blocking import Client

    results: list[int] = []
    barrier = threading.Barrier(n, action=lambda: idle_rss.append(rss_now()))

    def one() -> None:
        counter = Counter()
        sinks = {1: counter, 2: counter} if job.sinks else None
        total = 0
        with Client(host) as client:
            tty = tty_of(client.request(api.inspect_container(job.container)).document)
            call = api.logs(job.container, follow=job.follow, tty=tty)
            for event in client.stream(call, sinks=sinks):
                total += count_output(event)
                if job.follow and total + counter.total >= job.size:
                    barrier.wait()
                    break
        results.append(total + counter.total)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


async def run_aiodocker(path: str, n: int, job: Job, idle: Idle) -> list[int]:
    import aiodocker
    import aiohttp

    connector = aiohttp.UnixConnector(path, limit=0)
    docker = aiodocker.Docker(url="unix://localhost", connector=connector)
    try:
        await docker.version()

        async def one() -> int:
            total = 0
            container = docker.containers.container(job.container)
            lines: Any = container.log(stdout=True, stderr=True, follow=True)
            try:
                async for line in lines:
                    total += len(line)  # ASCII lines: characters == bytes
                    if job.follow and total >= job.size:
                        await idle.arrive()
                        break
            finally:
                await lines.aclose()
            return total

        return list(await asyncio.gather(*(one() for _ in range(n))))
    finally:
        await docker.close()


CLIENT_MODULES = {
    "asyncio": ["wireproto.adapters.asyncio"],
    "streamreader": ["wireproto.adapters.asyncio"],
    "trio": ["trio", "wireproto.adapters.trio"],
    "threads": ["wireproto.adapters.blocking"],
    "aiodocker": ["aiodocker", "aiohttp"],
}


def import_client(kind: str) -> None:
    """Imports a contender's modules before the baseline RSS is taken."""
    for name in CLIENT_MODULES[kind]:
        importlib.import_module(name)


def client_main(kind: str, path: str, n: int, job: Job) -> None:
    host = f"unix://{path}"
    import_client(kind)
    before = rss_now()
    started = time.perf_counter()
    idle_rss: list[int] = []
    if kind == "trio":
        import trio

        idle = Idle(n, trio.Event())
        results = trio.run(run_trio, host, n, job, idle)
    elif kind == "threads":
        results = run_threads(host, n, job, idle_rss)
    else:
        idle = Idle(n, asyncio.Event())  # binds to the loop at its first wait (3.10+)
        runners: dict[str, Callable[[], Any]] = {
            "asyncio": lambda: run_asyncio(host, n, job, idle),
            "streamreader": lambda: run_streamreader(path, n, job, idle),
            "aiodocker": lambda: run_aiodocker(path, n, job, idle),
        }
        results = asyncio.run(runners[kind]())
    if kind != "threads":
        idle_rss.append(idle.rss)
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    out = {"results": results, "wall": wall, "before": before, "peak": peak}
    out["idle"] = idle_rss[0] if idle_rss else 0
    print(json.dumps(out))


def rss_now() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# --- the harness -------------------------------------------------------------------------------


def run_client(kind: str, path: str, n: int, job: Job, tree: str | None) -> dict[str, Any]:
    """One client process; ``tree``: the wireproto checkout it imports (None: this one)."""
    argv = [sys.executable, __file__, "client", kind, path, str(n), job.container, str(job.size)]
    argv += ["follow" if job.follow else "to-end", "sinks" if job.sinks else "events"]
    env = {**os.environ, "PYTHONPATH": tree} if tree else None
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=900, env=env)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1:])
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def measure(
    kind: str, path: str, n: int, per_stream: int, sinks: bool, tree: str | None = None
) -> dict[str, Any]:
    label = f"{kind}@before" if tree else kind
    try:
        bulk = run_client(kind, path, n, Job(BENCH, per_stream, False, sinks), tree)
        # Events even with --sinks: a stream whose sinks take every byte gives the
        # caller no event while it follows, so it could not tell it has them all.
        idle = run_client(kind, path, n, Job(IDLE, IDLE_SIZE, True, False), tree)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return {"client": label, "streams": n, "error": str(exc)}
    results = bulk["results"] + idle["results"]
    expected = [per_stream] * n + [IDLE_SIZE] * n
    return {
        "client": label,
        "streams": n,
        "complete": sorted(results) == sorted(expected),
        "MiB_per_s": round(sum(bulk["results"]) / MIB / bulk["wall"], 1),
        "wall_s": round(bulk["wall"], 3),
        "rss_per_stream_KiB": round(max(0, bulk["peak"] - bulk["before"]) / n / 1024, 1),
        "idle_per_stream_KiB": round(max(0, idle["idle"] - idle["before"]) / n / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--streams", default="1,10,100,1000")
    parser.add_argument("--total", type=int, default=64, help="payload MiB over all streams")
    parser.add_argument("--clients", default="asyncio,streamreader,trio,threads,aiodocker")
    parser.add_argument("--sinks", action="store_true", help="count through .write() sinks")
    parser.add_argument("--runs", type=int, default=1, help="runs (medians and ranges)")
    parser.add_argument(
        "--before", metavar="TREE", help="also run the wireproto clients from this checkout"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    for n in [int(s) for s in args.streams.split(",")]:
        per_stream = max(args.total * MIB // n, MIN_PER_STREAM)
        extra = ["--log-size", str(per_stream), "--mix", "line"]
        with StubEngineProcess(extra=extra) as engine:
            runs: dict[str, list[dict[str, Any]]] = {}
            # The clients take turns within each run, so a busy spell on the
            # shared machine falls on all of them rather than on one.
            for _ in range(args.runs):
                for kind, tree in contenders(args.clients.split(","), args.before):
                    row = measure(kind, engine.socket_path, n, per_stream, args.sinks, tree)
                    runs.setdefault(row["client"], []).append(row)
                    print(json.dumps(row), flush=True)
            rows += [median_row(kind_rows) for kind_rows in runs.values()]
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


def contenders(kinds: list[str], before: str | None) -> list[tuple[str, str | None]]:
    """Each client from this tree, and each wireproto client from ``before`` next to it."""
    out: list[tuple[str, str | None]] = []
    for kind in kinds:
        out.append((kind, None))
        if before and kind in ("asyncio", "trio", "threads", "streamreader"):
            out.append((kind, before))
    return out


FIGURES = ("MiB_per_s", "wall_s", "rss_per_stream_KiB", "idle_per_stream_KiB")


def median_row(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One client's runs at one concurrency: the median of each figure, and its range."""
    good = [run for run in runs if "error" not in run]
    if not good:
        return runs[-1]
    row: dict[str, Any] = {"client": good[0]["client"], "streams": good[0]["streams"]}
    row["complete"] = all(run["complete"] for run in good) and len(good) == len(runs)
    for figure in FIGURES:
        values = [run[figure] for run in good]
        row[figure] = round(statistics.median(values), 1)
        row[figure + "_range"] = [min(values), max(values)]
    row["runs"] = len(runs)
    return row


def spread(row: dict[str, Any], figure: str) -> str:
    low, high = row.get(figure + "_range", [row[figure], row[figure]])
    return f"{row[figure]:>8} [{low:g}-{high:g}]"


def print_table(rows: list[dict[str, Any]]) -> None:
    head = f"{'client':<14}{'streams':>8}  {'MiB/s [range]':>22}  {'KiB/stream [range]':>22}"
    head += f"  {'idle KiB [range]':>22}"
    print(f"\n{head}  complete")
    for row in rows:
        if "error" in row:
            print(f"{row['client']:<14}{row['streams']:>8}  error: {row['error']}")
            continue
        print(
            f"{row['client']:<14}{row['streams']:>8}  {spread(row, 'MiB_per_s'):>22}"
            f"  {spread(row, 'rss_per_stream_KiB'):>22}"
            f"  {spread(row, 'idle_per_stream_KiB'):>22}  {row['complete']}"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        kind, path, n, container, size, follow, sinks = sys.argv[2:9]
        job = Job(container, int(size), follow == "follow", sinks == "sinks")
        client_main(kind, path, int(n), job)
    else:
        main()
