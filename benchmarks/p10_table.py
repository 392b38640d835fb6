"""The README's table of where users touch wireproto: each path against its anchors and goal.

    python benchmarks/p10_table.py [--runs 3] [-H HOST] [--concurrency] [--out DIR]

Runs the in-memory benchmarks ``--runs`` times each (``bench_exchange.py``,
``bench_jsonstream.py``, ``bench_mux.py --mix log``, and ``bench_go.py``
when it is there), and with ``-H`` (a real engine) ``bench_logs.py --runs``
once; with ``--concurrency``, ``bench_concurrency.py --runs`` once.  Every
ratio is taken within one run (a contender and its anchor measured side by
side), then the table gives the median of the runs' ratios and their range,
and whether the goal held in every run.  The runs' JSON files are kept in
``--out``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
Run = dict[str, Any]


@dataclass(frozen=True)
class Row:
    path: str
    source: str  # which benchmark's runs it reads
    value: Callable[[Run], float]  # wireproto's figure in one run
    anchor: Callable[[Run], float]  # what it is divided by, in the same run
    anchor_name: str
    goal: float  # the ratio to reach
    unit: str = "MB/s"
    at_most: bool = False  # the goal is a ceiling (CPU, wall, memory)


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def exchange(case: str, contender: str) -> Callable[[Run], float]:
    return lambda run: median(run[case][contender])


def jsons(contender: str) -> Callable[[Run], float]:
    return lambda run: float(run["mb_per_s"][contender])


def mux_log(contender: str) -> Callable[[Run], float]:
    return lambda run: float(run["mixes"]["log"][contender]["mb_per_s"])


def go(contender: str) -> Callable[[Run], float]:
    return lambda run: float(run["figures"][contender]["median_mb_per_s"])


def logs(client: str, figure: str) -> Callable[[Run], float]:
    return lambda run: float(run[client][figure])


S, B = "128", "16384"
ROWS = [
    Row("`Exchange` + sinks, 128 B chunks, tty known", "exchange",
        exchange(S, "Exchange + sinks, tty known"), exchange(S, "h11"), "h11", 100),
    Row("`Exchange` + sinks, 128 B chunks, sniffed (`tty=None`)", "exchange",
        exchange(S, "Exchange + sinks, sniffed"), exchange(S, "Exchange + sinks, tty known"),
        "the known path", 0.9),
    Row("`Exchange` Output events, 128 B chunks, tty known", "exchange",
        exchange(S, "Exchange Output, tty known"), exchange(S, "h11"), "h11", 60),
    Row("`Exchange` Output events, 128 B chunks, sniffed", "exchange",
        exchange(S, "Exchange Output, sniffed"), exchange(S, "h11"), "h11", 60),
    Row("`Exchange` + sinks, 16 KiB chunks, tty known", "exchange",
        exchange(B, "Exchange + sinks, tty known"), exchange(B, "aiohttp C parser"),
        "aiohttp's C parser", 1),
    Row("`Exchange` + sinks, 16 KiB chunks, sniffed", "exchange",
        exchange(B, "Exchange + sinks, sniffed"), exchange(B, "aiohttp C parser"),
        "aiohttp's C parser", 1),
    Row("`Exchange` Output events, 16 KiB chunks, tty known", "exchange",
        exchange(B, "Exchange Output, tty known"), exchange(B, "http.client"), "http.client", 1),
    Row("`progress.MessageDecoder`, 4 KiB reads", "json",
        jsons("wireproto typed (msgspec), 4 KiB reads"),
        jsons("msgspec Struct per line (pre-split)"), "msgspec Struct per pre-split line", 1),
    Row("`progress.MessageDecoder`, one message a chunk", "json",
        jsons("wireproto typed (msgspec), chunk a message"),
        jsons("msgspec Struct per line (pre-split)"), "msgspec Struct per pre-split line", 1),
    Row("`JSONStreamDecoder` values, 4 KiB reads", "json",
        jsons("wireproto values (msgspec), 4 KiB reads"),
        jsons("orjson + line split, 4 KiB reads"), "orjson + line split, same reads", 1),
    Row("`JSONStreamDecoder` values, one message a chunk", "json",
        jsons("wireproto values (msgspec), chunk a message"),
        jsons("orjson + line split, chunk a message"), "orjson + line split, same chunks", 1),
    Row("`JSONStreamDecoder` values, 4 KiB reads, against pre-split lines", "json",
        jsons("wireproto values (msgspec), 4 KiB reads"),
        jsons("orjson.loads per line (pre-split)"), "orjson per pre-split line", 1),
    Row("`Demuxer.feed` pieces, log lines", "mux",
        mux_log("native feed"), mux_log("docker-py frames_iter"), "docker-py `frames_iter`", 40),
    Row("`Demuxer.feed` pieces, log lines, 64 KiB reads", "go",
        go("wireproto Demuxer.feed pieces, 64 KiB"), go("Go stdcopy.StdCopy, 64 KiB"),
        "Go `stdcopy.StdCopy`", 3),
    Row("`progress.MessageDecoder`, 64 KiB reads", "go",
        go("wireproto MessageDecoder, 64 KiB"), go("Go jsonmessage (json.Decoder), 64 KiB"),
        "Go `jsonmessage` (json.Decoder)", 4.5),
    Row("`progress.MessageDecoder`, 4 KiB reads", "go",
        go("wireproto MessageDecoder, 4 KiB"), go("Go jsonmessage (json.Decoder), 4 KiB"),
        "Go `jsonmessage`, 4 KiB reads", 4.5),
    Row("`wireproto logs` wall, 200 MB of 100 B lines on dockerd", "logs",
        logs("wireproto", "wall_s"), logs("docker", "wall_s"), "`docker logs`", 1,
        unit="s", at_most=True),
    Row("`wireproto logs` CPU, same", "logs",
        logs("wireproto", "cpu_s_per_gb"), logs("curl", "cpu_s_per_gb"), "curl", 0.5,
        unit="s/GB", at_most=True),
    Row("blocking `Client.stream(logs)` CPU, same", "logs",
        logs("Client.stream", "cpu_s_per_gb"), logs("curl", "cpu_s_per_gb"), "curl", 0.5,
        unit="s/GB", at_most=True),
]  # fmt: skip


def bench(script: str, *args: str, out: Path) -> Any:
    """Runs ``benchmarks/script`` with ``--json``; its JSON."""
    command = [sys.executable, str(HERE / script), *args, "--json", str(out)]
    print("+", " ".join(command[1:]), file=sys.stderr, flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def logs_runs(data: Run) -> list[Run]:
    """``bench_logs.py``'s rows, one dict per run: client -> its row."""
    runs: list[Run] = []
    for row in data["results"]:
        if not runs or row["client"] in runs[-1]:
            runs.append({})
        runs[-1][row["client"]] = row
    return runs


def collect(args: argparse.Namespace, out: Path) -> dict[str, list[Run]]:
    runs: dict[str, list[Run]] = {"exchange": [], "json": [], "mux": [], "go": [], "logs": []}
    for i in range(args.runs):
        runs["exchange"].append(
            bench("bench_exchange.py", "--size", "32", "--runs", "3", out=out / f"ex{i}.json")
        )
        runs["json"].append(
            bench("bench_jsonstream.py", "--size", "16", "--repeat", "3", out=out / f"js{i}.json")
        )
        runs["mux"].append(
            bench("bench_mux.py", "--size", "64", "--mix", "log", out=out / f"mux{i}.json")
        )
        if (HERE / "bench_go.py").exists():
            found = bench("bench_go.py", out=out / f"go{i}.json")
            if not found.get("missing"):
                runs["go"].append(found)
    if args.host:
        data: Run = bench(
            "bench_logs.py", "-H", args.host, "--mib", "191", "--attach-mib", "0",
            "--clients", "wireproto,Client.stream,docker,curl", "--runs", str(args.runs),
            out=out / "logs.json",
        )  # fmt: skip
        runs["logs"] = logs_runs(data)
    return runs


def cell(values: list[float], digits: int = 0) -> str:
    middle = median(values)
    if len(values) == 1:
        return f"{middle:,.{digits}f}"
    return f"{middle:,.{digits}f} [{min(values):,.{digits}f}-{max(values):,.{digits}f}]"


def verdict(row: Row, ratios: list[float]) -> str:
    held = sum(r <= row.goal if row.at_most else r >= row.goal for r in ratios)
    if held == len(ratios):
        return "met in every run"
    return f"met in {held} of {len(ratios)} runs" if held else "not met"


def table(runs: dict[str, list[Run]]) -> str:
    lines = [
        "| path | wireproto | anchor, same run | ratio | goal | |",
        "|---|---:|---|---:|---|---|",
    ]
    for row in ROWS:
        picked = runs.get(row.source) or []
        if not picked:
            continue
        values = [row.value(run) for run in picked]
        anchors = [row.anchor(run) for run in picked]
        ratios = [v / a for v, a in zip(values, anchors, strict=True)]
        digits = 1 if row.unit != "MB/s" else 0
        sign = "<=" if row.at_most else ">="
        lines.append(
            f"| {row.path} | {cell(values, digits)} {row.unit} | {row.anchor_name} "
            f"{cell(anchors, digits)} | {cell(ratios, 2)}x | {sign} {row.goal:g}x "
            f"| {verdict(row, ratios)} |"
        )
    return "\n".join(lines)


def concurrency(runs: int, out: Path) -> str:
    """Peak RSS per stream, asyncio against trio, at 100 and 1,000 streams (medians [ranges])."""
    rows: list[Run] = bench(
        "bench_concurrency.py", "--streams", "100,1000", "--total", "32",
        "--clients", "asyncio,trio", "--runs", str(runs), out=out / "concurrency.json",
    )  # fmt: skip
    by = {(row["client"], row["streams"]): row for row in rows}
    lines = []
    for streams in (100, 1000):
        a, t = by[("asyncio", streams)], by[("trio", streams)]
        lines.append(
            f"| asyncio adapter, {streams:,} streams, peak RSS per stream "
            f"| {_ranged(a, 'rss_per_stream_KiB')} KiB at {_ranged(a, 'MiB_per_s')} MiB/s "
            f"| trio adapter {_ranged(t, 'rss_per_stream_KiB')} KiB at "
            f"{_ranged(t, 'MiB_per_s')} MiB/s | | <= trio's, at no lower rate | |"
        )
    return "\n".join(lines)


def _ranged(row: Run, figure: str) -> str:
    low, high = row.get(figure + "_range", [row[figure], row[figure]])
    return f"{row[figure]:,.1f} [{low:,.1f}-{high:,.1f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("-H", "--host", help="a real engine, for the logs rows")
    parser.add_argument("--out", type=Path, help="keep the runs' JSON here")
    parser.add_argument("--concurrency", action="store_true", help="also the asyncio memory rows")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        out = args.out or Path(scratch)
        out.mkdir(parents=True, exist_ok=True)
        print(table(collect(args, out)))
        if args.concurrency:
            print(concurrency(args.runs, out))


if __name__ == "__main__":
    main()
