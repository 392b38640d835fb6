"""Chunked HTTP bodies carrying multiplexed frames: h11 against the fused path.

    python benchmarks/bench_chunked.py [--size MiB] [--repeat N] [--json FILE]

The engine sends logs as one HTTP chunk per log message, each chunk one
8-byte frame header plus the line.  This builds such a body of 128-byte
chunks (stdout/stderr 70/30, seeded), cuts it into 64 KiB reads, and runs in
one process: h11 decoding the chunks alone (it does not demux; it is fed the
response head first, as a client would), wireproto's chunked decoder alone,
and the fused chunked demuxer (chunks and frames in one pass) with ``feed``
and ``feed_into``, on both backends; plus the memory-copy limit.  Each figure
is the median of ``--repeat`` passes after a warm-up; each pass checks that
it saw every byte.  A benchmark, not a test: the target (fused native path
>= 100x h11) is measured in this run.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from wireproto import chunked, mux
from wireproto.bench.chunkedlogs import h11_dechunked
from wireproto.codec import backend as _backend

CHUNK_SIZE = 128
READ_SIZE = 64 * 1024
MIB = 1024 * 1024
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
HEAD += b"Transfer-Encoding: chunked\r\n\r\n"


def make_body(size: int, seed: int = 128) -> tuple[bytes, int]:
    """A chunked body of ~``size`` bytes of 128-byte chunks, and its payload size."""
    rng = random.Random(seed)
    line = CHUNK_SIZE - mux.HEADER_SIZE
    chunks = []
    for _ in range(4096):
        stream = mux.STDOUT if rng.random() < 0.7 else mux.STDERR
        frame = mux.encode(stream, bytes(rng.choice(b"abcdefgh ") for _ in range(line - 1)) + b"\n")
        chunks.append(b"%x\r\n%s\r\n" % (len(frame), frame))
    block = b"".join(chunks)
    repeats = max(1, size // len(block))
    return block * repeats + b"0\r\n\r\n", 4096 * repeats * line


def reads(body: bytes) -> list[memoryview]:
    view = memoryview(body)
    return [view[i : i + READ_SIZE] for i in range(0, len(view), READ_SIZE)]


def run_h11(pieces: list[memoryview]) -> int:
    return h11_dechunked([HEAD, *pieces])


def run_decoder(module: Any) -> Callable[[list[memoryview]], int]:
    def run(pieces: list[memoryview]) -> int:
        decoder = module.ChunkedDecoder()
        return sum(len(span) for piece in pieces for span in decoder.feed(piece))

    return run


def run_fused_feed(module: Any) -> Callable[[list[memoryview]], int]:
    def run(pieces: list[memoryview]) -> int:
        demuxer = module.ChunkedDemuxer()
        seen = 0
        for piece in pieces:
            for _stream, payload in demuxer.feed(piece):
                seen += len(payload)
        return seen

    return run


def run_fused_into(module: Any) -> Callable[[list[memoryview]], int]:
    def run(pieces: list[memoryview]) -> int:
        demuxer = module.ChunkedDemuxer()
        sinks = [bytearray() for _ in range(4)]
        seen = 0
        for piece in pieces:
            demuxer.feed_into(piece, sinks)
            for sink in sinks:  # a consumer writing them out drains them
                seen += len(sink)
                del sink[:]
        return seen

    return run


def run_copy(pieces: list[memoryview]) -> int:
    target = memoryview(bytearray(sum(len(p) for p in pieces)))
    offset = 0
    for piece in pieces:
        target[offset : offset + len(piece)] = piece
        offset += len(piece)
    return offset


def measure(run: Callable[[list[memoryview]], int], body: bytes, expect: int, repeat: int) -> float:
    """Median seconds for one pass over ``body``; checks the bytes seen."""
    pieces = reads(body)
    times = []
    for attempt in range(repeat + 1):
        start = time.perf_counter()
        seen = run(pieces)
        elapsed = time.perf_counter() - start
        if seen != expect:
            raise AssertionError(f"saw {seen} bytes, expected {expect}")
        if attempt:
            times.append(elapsed)
    return statistics.median(times)


Expect = Callable[[bytes, int], int]  # (body, payload bytes) -> bytes a contender sees
WHOLE_BODY: Expect = lambda body, payload: len(body)  # noqa: E731
CHUNK_DATA: Expect = lambda body, payload: payload // (CHUNK_SIZE - mux.HEADER_SIZE) * CHUNK_SIZE  # noqa: E731
PAYLOAD: Expect = lambda body, payload: payload  # noqa: E731


def contenders() -> list[tuple[str, Callable[[list[memoryview]], int], Expect, bool]]:
    """(name, run, what it must see, runs on the smaller body)."""
    rows: list[tuple[str, Callable[[list[memoryview]], int], Expect, bool]] = [
        ("memory copy (limit)", run_copy, WHOLE_BODY, False),
        ("h11 (chunks only)", run_h11, CHUNK_DATA, True),
    ]
    backends = ["native", "python"] if _backend.load_native() else ["python"]
    for name in backends:
        module = chunked.classes(name)
        slow = name == "python"
        rows += [
            (f"{name} chunked decoder", run_decoder(module), CHUNK_DATA, slow),
            (f"{name} fused feed_into", run_fused_into(module), PAYLOAD, slow),
            (f"{name} fused feed", run_fused_feed(module), PAYLOAD, slow),
        ]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=64, help="body size in MiB (default 64)")
    parser.add_argument("--slow-size", type=int, default=4, help="MiB for the slow contenders")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    big, big_payload = make_body(args.size * MIB)
    small, small_payload = make_body(args.slow_size * MIB)
    results = {}
    print(
        f"chunked body of {CHUNK_SIZE}-byte chunks carrying frames; {len(big) / MIB:.0f} MiB "
        f"({len(small) / MIB:.0f} MiB for h11 and the python backend); median of {args.repeat}"
    )
    for name, run, expect, slow in contenders():
        body, payload = (small, small_payload) if slow else (big, big_payload)
        seconds = measure(run, body, expect(body, payload), args.repeat)
        results[name] = len(body) / seconds / 1e6
        print(f"  {name:26s} {results[name]:10.1f} MB/s of body", flush=True)
    h11_rate = results["h11 (chunks only)"]
    print("ratios to h11:")
    for name, rate in results.items():
        print(f"  {name:26s} {rate / h11_rate:8.1f}x")
    if "native fused feed_into" in results:
        ratio = results["native fused feed_into"] / h11_rate
        print(
            f"target: native fused path >= 100x h11: {ratio:.0f}x "
            f"{'PASS' if ratio >= 100 else 'FAIL'}"
        )
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"mb_per_s": results, "size_mib": args.size}, out, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
