"""JSON progress streams: wireproto's decoder against docker-py and per-line parsing.

    python benchmarks/bench_jsonstream.py [--size MB] [--repeat N] [--json FILE]

Builds ~``--size`` MB of realistic pull progress (dockerd's messages for a
6-layer pull: Pulling fs layer, Waiting, Downloading with progress bars and
progressDetail, Verifying Checksum, Download complete, Extracting, Pull
complete; ~180 bytes each, ``\\r\\n``-terminated as dockerd 20.10 sends them),
then runs in one process:

* wireproto: ``progress.MessageDecoder`` fed 64 KiB reads (what the blocking
  adapter hands out), giving typed JSONMessages with every field available;
  with every installed parser (msgspec, orjson, the stdlib's json); the
  default parser plus progress aggregation (Progress.update); the default
  parser on the same stream with an unknown field in every message (msgspec
  then falls back to dict-backed messages: the honest worst case); and the
  previous route (JSONStreamDecoder values, then ``progress.messages``).
* docker-py's ``json_stream`` fed one message per read, and fed the same
  64 KiB reads.  The first is the baseline of the target ratio, because it
  is how docker-py really reads from the engine: ``_stream_helper`` yields
  one HTTP chunk at a time (a 1-byte read, then the rest of the chunk), and
  dockerd flushes one chunk per progress message, so every message costs
  docker-py a str decode, a buffer concat and a ``json_splitter`` step.  The
  64 KiB variant is docker-py given more than it ever gets from the engine:
  kept as a second anchor, and its ratio printed too.
* ``json.loads``, ``orjson.loads`` and msgspec decoding into the message
  struct per line on pre-split lines (no framing work at all: a floor for
  per-line parsing); orjson after splitting each read at newlines, fed 4 KiB
  reads and one message a chunk (the simplest framing a client can write).
* wireproto typed messages and plain values fed 4 KiB reads and one message
  a chunk (what dockerd sends: one JSON message per HTTP chunk).

Each figure is the median of ``--repeat`` passes after a warm-up; each pass
checks the message count; the passes of all contenders are interleaved
(round after round) so that load from elsewhere hits them alike.  A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from wireproto import jsonstream
from wireproto.bench import jsonstreams
from wireproto.bench.jsonstreams import make_stream
from wireproto.jsonstream import JSONStreamDecoder
from wireproto.progress import MessageDecoder, Progress
from wireproto.progress import messages as typed_messages

READ_SIZE = jsonstreams.READ_SIZE
MB = 1_000_000
AS_IT_READS = "docker-py json_stream, one chunk per message"  # the target's baseline
BULK_READS = "docker-py json_stream, 64 KiB reads"


# The shared pieces: the same reads, typed decoding and docker-py pass as `wireproto bench`.
reads = jsonstreams.reads
wireproto_typed = jsonstreams.typed_messages
docker_py = jsonstreams.docker_py


def wireproto_aggregated(parser: str) -> Callable[[list[bytes]], int]:
    def run(pieces: list[bytes]) -> int:
        decoder = MessageDecoder(parser=parser)
        state = Progress()
        count = 0
        for piece in pieces:
            for message in decoder.feed(piece):
                state.update(message)
                count += 1
        return count

    return run


def values_then_messages(parser: str) -> Callable[[list[bytes]], int]:
    """The previous route: a feed's decoded dicts, then wrapped (dict-backed messages)."""

    def run(pieces: list[bytes]) -> int:
        decoder = JSONStreamDecoder(parser=parser)
        return sum(len(typed_messages(decoder.feed(piece))) for piece in pieces)

    return run


def loads_per_line(loads: Callable[[bytes], object]) -> Callable[[list[bytes]], int]:
    def run(lines: list[bytes]) -> int:
        count = 0
        for line in lines:
            loads(line)
            count += 1
        return count

    return run


Row = tuple[str, Callable[[list[bytes]], int], list[bytes]]


def measure(rows: list[Row], expect: int, repeat: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds per contender; rounds interleave the contenders,
    so a change in the machine's load hits them all alike instead of whichever ran
    then.  CPU time (this thread's) is what load from other processes inflates least."""
    for name, run, pieces in rows:
        assert run(pieces) == expect, name  # warm-up, and the check
    walls: dict[str, list[float]] = {name: [] for name, _, _ in rows}
    cpus: dict[str, list[float]] = {name: [] for name, _, _ in rows}
    for _ in range(repeat):
        for name, run, pieces in rows:
            wall, cpu = time.perf_counter(), time.thread_time()
            count = run(pieces)
            cpus[name].append(time.thread_time() - cpu)
            walls[name].append(time.perf_counter() - wall)
            assert count == expect, name
    return {name: (statistics.median(walls[name]), statistics.median(cpus[name])) for name in walls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=float, default=50, help="MB of progress messages")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    args = parser.parse_args()

    messages, count = make_stream(int(args.size * MB))
    data = b"".join(messages)
    chunks = reads(data)
    # Fresh objects per message, as a client has them (the list above repeats
    # one pull's objects: a per-line parser would run cache-hot on them).
    lines = data.split(b"\r\n")[:-1]
    messages = [line + b"\r\n" for line in lines]
    print(
        f"{len(data) / MB:.1f} MB, {count} messages of {len(data) / count:.0f} bytes on average, "
        f"fed in {READ_SIZE // 1024} KiB reads; median of {args.repeat}"
    )
    installed = [name for name in jsonstream.PARSERS if _available(name)]
    default = jsonstream.choose(None)
    # The same messages, each with a field the struct-backed messages do not know.
    unknown_chunks = reads(b"".join(line[:-1] + b',"unknownField":1}\r\n' for line in lines))
    rows: list[Row] = []
    for name in sorted(installed, key=lambda name: name != default):
        rows.append((f"wireproto typed messages ({name})", wireproto_typed(name), chunks))
    rows.append((f"wireproto typed + Progress ({default})", wireproto_aggregated(default), chunks))
    rows.append(
        (f"wireproto typed, unknown fields ({default})", wireproto_typed(default), unknown_chunks)
    )
    rows.append(
        (f"wireproto values + messages() ({default})", values_then_messages(default), chunks)
    )
    small_reads = jsonstreams.pieces("4 KiB reads", messages)
    for feed, pieces in (("4 KiB reads", small_reads), ("chunk a message", messages)):
        rows.append((f"wireproto typed ({default}), {feed}", wireproto_typed(default), pieces))
        values = jsonstreams.stream_values(default)
        rows.append((f"wireproto values ({default}), {feed}", values, pieces))
    struct = jsonstreams.msgspec_struct_loads()
    if struct is not None:
        rows.append(("msgspec Struct per line (pre-split)", loads_per_line(struct), lines))
    rows.append((AS_IT_READS, docker_py, messages))
    rows.append((BULK_READS, docker_py, chunks))
    rows.append(("json.loads per line (pre-split)", loads_per_line(json.loads), lines))
    if "orjson" in installed:
        import orjson

        rows.append(("orjson.loads per line (pre-split)", loads_per_line(orjson.loads), lines))
        split = jsonstreams.line_split(orjson.loads)
        rows.append(("orjson + line split, 4 KiB reads", split, small_reads))
        rows.append(("orjson + line split, chunk a message", split, messages))

    sizes = {name: sum(map(len, pieces)) for name, _, pieces in rows}
    results, cpu_results = {}, {}
    print(f"  {'':52} {'wall':>8}      {'CPU':>8}")
    for name, (wall, cpu) in measure(rows, count, args.repeat).items():
        results[name] = sizes[name] / wall / MB
        cpu_results[name] = sizes[name] / cpu / MB
        print(f"  {name:52} {results[name]:8.1f} MB/s {cpu_results[name]:8.1f} MB/s", flush=True)
    ours = [name for name in results if name.startswith("wireproto")]
    for name in ours:
        print(
            f"  {name}: {results[name] / results[AS_IT_READS]:.1f}x docker-py as it reads, "
            f"{results[name] / results[BULK_READS]:.1f}x docker-py given 64 KiB reads (wall)"
        )
    if args.json:
        report = {"bytes": len(data), "messages": count, "mb_per_s": results}
        report["cpu_mb_per_s"] = cpu_results
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)


def _available(name: str) -> bool:
    try:
        jsonstream.choose(name)
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
