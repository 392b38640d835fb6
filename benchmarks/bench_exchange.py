"""The public ``Exchange`` on chunked logs, against h11, aiohttp's C parser, http.client.

    python benchmarks/bench_exchange.py [--size MiB] [--runs N] [--json FILE]

Runs every contender of :mod:`wireproto.bench.chunkedlogs` (128 B and 16 KiB
chunks, 64 KiB reads; wireproto through ``Exchange`` with sinks or Output
events, the TTY known or sniffed) in one process, ``--runs`` times in turn,
and prints each one's median MB/s, its range, and the ratio of the medians
to each anchor.  Ratios within one run are what count on a shared machine.
A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics

from wireproto.bench import chunkedlogs

MIB = 1024 * 1024


def measure(size: int, runs: int) -> dict[int, dict[str, list[float]]]:
    """MB/s of each contender per run, by chunk size."""
    results: dict[int, dict[str, list[float]]] = {}
    entrants = [entrant for entrant in chunkedlogs.contenders() if not entrant.missing]
    for chunk_size in chunkedlogs.CHUNK_SIZES:
        work = chunkedlogs.workload(chunk_size, size)
        slow = chunkedlogs.workload(chunk_size, max(size // 4, MIB))
        rates = results.setdefault(chunk_size, {})
        for _ in range(runs):
            for entrant in entrants:
                piece = slow if entrant.slow else work
                wall, _cpu, total = chunkedlogs.timed(entrant, piece, 1)
                rates.setdefault(entrant.name, []).append(total / wall / 1e6)
    return results


def report(results: dict[int, dict[str, list[float]]]) -> None:
    for chunk_size, rates in results.items():
        print(f"\n{chunk_size} B chunks, 64 KiB reads (MB/s of response bytes)")
        medians = {name: statistics.median(values) for name, values in rates.items()}
        for name, values in rates.items():
            ratios = "  ".join(
                f"{medians[name] / medians[anchor]:6.2f}x {anchor}"
                for anchor in chunkedlogs.ANCHORS
                if anchor in medians
            )
            spread = f"{min(values):7.0f}-{max(values):<7.0f}"
            print(f"  {name:32s} {medians[name]:8.0f}  [{spread}]  {ratios}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=32, help="MiB per case")
    parser.add_argument("--runs", type=int, default=3, help="runs (medians and ranges)")
    parser.add_argument("--json", metavar="FILE", help="write the rates as JSON")
    args = parser.parse_args()
    results = measure(args.size * MIB, args.runs)
    report(results)
    if args.json:
        with open(args.json, "w") as out:
            json.dump({str(k): v for k, v in results.items()}, out, indent=1)


if __name__ == "__main__":
    main()
