"""Aggregate log-demux throughput and memory with 1..1,000 concurrent streams.

    python benchmarks/bench_concurrency.py [--streams 1,10,100,1000] [--total MiB]
                                           [--clients asyncio,streamreader,trio,threads,aiodocker]
                                           [--json FILE]

A stub engine (a subprocess: asyncio on a unix socket) answers every
``GET /containers/(id)/logs`` with the same body as the test engine would:
chunked, one chunk per 100-byte log line, multiplexed.  For each client and
each concurrency N, a fresh subprocess opens N log streams at once and reads
them to their end, counting payload bytes (each stream is checked complete).
Reported: aggregate payload MiB/s (wall clock, all streams), and the peak
RSS of the client process above its RSS before the streams began, per
stream.  ``--total`` MiB of payload is split over the N streams (at least
128 KiB each).  Clients: ``asyncio`` (wireproto's BufferedProtocol
adapter), ``streamreader`` (the same exchange fed from an asyncio
StreamReader: the copy-per-read path the adapter was measured against),
``trio``, ``threads`` (the blocking adapter, one thread per stream) and
``aiodocker`` (``container.log(follow=True)``, when installed), the anchor.

This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from wireproto import calls, mux
from wireproto.adapters._common import RECV_SIZE
from wireproto.exchange import NEED_DATA, PAUSED, EndOfMessage, Exchange, Output

MIB = 1024 * 1024
LINE = b"x" * 99 + b"\n"
MIN_PER_STREAM = 128 * 1024
VERSION_DOC = b'{"ApiVersion":"1.41","MinAPIVersion":"1.12","Version":"20.10.24"}'
INSPECT_DOC = b'{"Id":"c1","Config":{"Tty":false}}'


# --- the stub engine -------------------------------------------------------------------------


def log_body(payload: int) -> bytes:
    frame = mux.encode(1, LINE)
    chunk = b"%x\r\n%s\r\n" % (len(frame), frame)
    return chunk * (payload // len(LINE)) + b"0\r\n\r\n"


def reply(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nApi-Version: 1.41\r\n"
    return head.encode() + b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


class _Engine(asyncio.Protocol):
    def __init__(self, logs: bytes) -> None:
        self.logs = logs
        self.data = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def data_received(self, data: bytes) -> None:
        self.data += data
        while b"\r\n\r\n" in self.data:
            head, _, self.data = self.data.partition(b"\r\n\r\n")
            target = head.split(b" ", 2)[1]
            if b"/logs" in target:
                head_out = b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\n"
                self.transport.write(head_out + b"Transfer-Encoding: chunked\r\n\r\n")
                self.transport.write(self.logs)
            elif b"/version" in target:
                self.transport.write(reply("200 OK", VERSION_DOC))
            elif b"/_ping" in target:
                self.transport.write(reply("200 OK", b"OK", "text/plain"))
            else:
                self.transport.write(reply("200 OK", INSPECT_DOC))


async def serve(path: str, payload: int) -> None:
    logs = log_body(payload)
    server = await asyncio.get_running_loop().create_unix_server(
        lambda: _Engine(logs), path, backlog=2048
    )
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


# --- the clients -------------------------------------------------------------------------------


def count_output(event: object) -> int:
    if isinstance(event, Output):
        return sum(len(p) for _, p in event.pieces)
    return 0


async def run_asyncio(host: str, n: int) -> list[int]:
    from wireproto.adapters.asyncio import Client

    async with Client(host, max_idle=0) as client:

        async def one() -> int:
            total = 0
            async with client.stream(calls.logs("c1")) as events:
                async for event in events:
                    total += count_output(event)
            return total

        return list(await asyncio.gather(*(one() for _ in range(n))))


async def run_streamreader(path: str, n: int) -> list[int]:
    async def one() -> int:
        reader, writer = await asyncio.open_unix_connection(path, limit=RECV_SIZE)
        exchange = Exchange(calls.logs("c1"))
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
        writer.close()
        return total

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def run_trio(host: str, n: int) -> list[int]:
    import trio

    from wireproto.adapters.trio import Client

    results: list[int] = []
    async with Client(host, max_idle=0) as client:

        async def one() -> None:
            total = 0
            async with client.stream(calls.logs("c1")) as events:
                async for event in events:
                    total += count_output(event)
            results.append(total)

        async with trio.open_nursery() as nursery:
            for _ in range(n):
                nursery.start_soon(one)
    return results


def run_threads(host: str, n: int) -> list[int]:
    from wireproto.adapters.blocking import Client

    results: list[int] = []

    def one() -> None:
        total = 0
        with Client(host) as client:
            for event in client.stream(calls.logs("c1")):
                total += count_output(event)
        results.append(total)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


async def run_aiodocker(path: str, n: int) -> list[int]:
    import aiodocker
    import aiohttp

    connector = aiohttp.UnixConnector(path, limit=0)
    docker = aiodocker.Docker(url="unix://localhost", connector=connector)
    try:
        await docker.version()

        async def one() -> int:
            total = 0
            container = docker.containers.container("c1")
            async for line in container.log(stdout=True, stderr=True, follow=True):
                total += len(line)
            return total

        return list(await asyncio.gather(*(one() for _ in range(n))))
    finally:
        await docker.close()


def client_main(kind: str, path: str, n: int) -> None:
    host = f"unix://{path}"
    before = rss_now()
    started = time.perf_counter()
    if kind == "asyncio":
        results = asyncio.run(run_asyncio(host, n))
    elif kind == "streamreader":
        results = asyncio.run(run_streamreader(path, n))
    elif kind == "trio":
        import trio

        results = trio.run(run_trio, host, n)
    elif kind == "threads":
        results = run_threads(host, n)
    else:
        results = asyncio.run(run_aiodocker(path, n))
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"results": results, "wall": wall, "before": before, "peak": peak}))


def rss_now() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# --- the harness -------------------------------------------------------------------------------


def measure(kind: str, path: str, n: int, per_stream: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "client", kind, path, str(n)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        return {"client": kind, "streams": n, "error": proc.stderr.strip().splitlines()[-1:]}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = per_stream // len(LINE) * len(LINE)
    complete = len(out["results"]) == n and all(r == expected for r in out["results"])
    total = sum(out["results"])
    return {
        "client": kind,
        "streams": n,
        "complete": complete,
        "MiB_per_s": round(total / MIB / out["wall"], 1),
        "wall_s": round(out["wall"], 3),
        "rss_per_stream_KiB": round(max(0, out["peak"] - out["before"]) / n / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", default="1,10,100,1000")
    parser.add_argument("--total", type=int, default=64, help="payload MiB over all streams")
    parser.add_argument("--clients", default="asyncio,streamreader,trio,threads,aiodocker")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    for n in [int(s) for s in args.streams.split(",")]:
        per_stream = max(args.total * MIB // n, MIN_PER_STREAM)
        with tempfile.TemporaryDirectory() as tmp:
            path = f"{tmp}/engine.sock"
            server = subprocess.Popen(
                [sys.executable, __file__, "serve", path, str(per_stream)],
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                assert server.stdout is not None and server.stdout.readline().strip() == "ready"
                for kind in args.clients.split(","):
                    row = measure(kind, path, n, per_stream)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
            finally:
                server.terminate()
                server.wait()
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


def print_table(rows: list[dict[str, Any]]) -> None:
    print(f"\n{'client':<14}{'streams':>8}{'MiB/s':>10}{'RSS KiB/stream':>16}  complete")
    for row in rows:
        if "error" in row:
            print(f"{row['client']:<14}{row['streams']:>8}  error: {row['error']}")
            continue
        print(
            f"{row['client']:<14}{row['streams']:>8}{row['MiB_per_s']:>10}"
            f"{row['rss_per_stream_KiB']:>16}  {row['complete']}"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        asyncio.run(serve(sys.argv[2], int(sys.argv[3])))
    elif len(sys.argv) > 1 and sys.argv[1] == "client":
        client_main(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
