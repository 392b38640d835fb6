"""wireproto's decoders against Go's own, side by side in one run.

    python benchmarks/bench_go.py [--mux-size MiB] [--json-size MB] [--rounds N]
                                  [--json FILE] [--go PATH] [--gopath DIR]

The Go anchors are the docker code that reads the same bytes in the docker
CLI: ``pkg/stdcopy``'s ``StdCopy`` (into counting writers that discard) for
the multiplexed stdout/stderr frames, and ``pkg/jsonmessage``'s
``JSONMessage`` decoded by one ``encoding/json`` Decoder over the stream, as
``DisplayJSONMessagesStream`` does (without displaying).  The harness is
benchmarks/go/anchors, built here in GOPATH mode against Debian's packaged
sources (no network):

    apt-get install -y golang-go golang-github-docker-docker-dev

The inputs are the other benchmarks' own: the log mix of bench_mux.py
(40..200-byte lines, 70/30 stdout/stderr, seeded) and the pull progress of
``wireproto.bench.jsonstreams.make_stream``.  wireproto runs native
``Demuxer.feed`` (pieces) on 64 KiB feeds, and ``progress.MessageDecoder``
on 64 KiB and 4 KiB reads; Go reads the same file through a reader that hands
out reads of the same size.  The contenders take turns round by round (Go:
one process per round, a warm-up pass then a timed one), so load from
elsewhere hits them alike; every pass checks its frame or message count.
Without Go or the sources it says how to install them and runs wireproto only.
A benchmark, not a test: the goals printed at the end are the issue's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: the sibling benchmarks import as a package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import bench_mux
from wireproto import jsonstream
from wireproto.bench import jsonstreams, kernels
from wireproto.codec import backend as _backend

MIB = 1024 * 1024
MB = 1_000_000
READ_64K = 64 * 1024
READ_4K = 4 * 1024
HARNESS = Path(__file__).resolve().parent / "go" / "anchors"
GOPATH = "/usr/share/gocode"
GO_IMPORTS = ("github.com/docker/docker/pkg/stdcopy", "github.com/docker/docker/pkg/jsonmessage")
DEBIAN_PACKAGES = (
    "golang-go",
    "golang-github-docker-docker-dev",
    "golang-github-docker-go-units-dev",
    "golang-github-moby-term-dev",
    "golang-github-morikuni-aec-dev",
)
INSTALL_HINT = "apt-get install -y golang-go golang-github-docker-docker-dev"


@dataclass
class Input:
    """One input: the bytes, what a pass must count, and the file Go reads."""

    name: str
    data: bytes
    units: int  # frames or messages
    payload: int | None  # payload bytes (frames only)
    path: Path


@dataclass(frozen=True)
class Contender:
    name: str
    side: str  # "wireproto" or "go"
    input: str
    read_size: int


@dataclass
class Figure:
    contender: str
    side: str
    bytes: int
    seconds: list[float] = field(default_factory=list)
    median_mb_per_s: float = 0.0
    min_mb_per_s: float = 0.0
    max_mb_per_s: float = 0.0

    def summarise(self) -> None:
        rate = self.bytes / MB
        self.median_mb_per_s = rate / statistics.median(self.seconds)
        self.min_mb_per_s = rate / max(self.seconds)
        self.max_mb_per_s = rate / min(self.seconds)


@dataclass(frozen=True)
class Goal:
    ours: str
    go: str
    at_least: float


FEED = "wireproto Demuxer.feed pieces"
TYPED = "wireproto MessageDecoder"
STDCOPY = "Go stdcopy.StdCopy"
JSONMESSAGE = "Go jsonmessage (json.Decoder)"
CONTENDERS = (
    Contender(f"{FEED}, 64 KiB", "wireproto", "log mix", READ_64K),
    Contender(f"{STDCOPY}, 64 KiB", "go", "log mix", READ_64K),
    Contender(f"{TYPED}, 64 KiB", "wireproto", "progress", READ_64K),
    Contender(f"{JSONMESSAGE}, 64 KiB", "go", "progress", READ_64K),
    Contender(f"{TYPED}, 4 KiB", "wireproto", "progress", READ_4K),
    Contender(f"{JSONMESSAGE}, 4 KiB", "go", "progress", READ_4K),
)
GOALS = (
    Goal(f"{FEED}, 64 KiB", f"{STDCOPY}, 64 KiB", 3.0),
    Goal(f"{TYPED}, 64 KiB", f"{JSONMESSAGE}, 64 KiB", 4.5),
    Goal(f"{TYPED}, 4 KiB", f"{JSONMESSAGE}, 4 KiB", 4.5),
)


# ---- inputs: the other benchmarks' generators --------------------------------


def make_inputs(directory: Path, mux_size: int, json_size: int) -> dict[str, Input]:
    log_mix = next(mix for mix in bench_mux.MIXES if mix.name == "log")
    work = bench_mux.workload(log_mix, mux_size)
    messages, count = jsonstreams.make_stream(json_size)
    progress = b"".join(messages)
    inputs = (
        Input("log mix", work.data, work.frames, work.payload, directory / "logmix.bin"),
        Input("progress", progress, count, None, directory / "progress.jsonl"),
    )
    for item in inputs:
        item.path.write_bytes(item.data)
    return {item.name: item for item in inputs}


# ---- wireproto passes: (units counted, payload bytes or None) ------------------


def wireproto_pass(contender: Contender, item: Input) -> Callable[[], tuple[int, int | None]]:
    if item.payload is not None:
        run_feed = kernels.demux_feed(demux_backend())
        view = memoryview(item.data)
        size = contender.read_size
        feeds = [view[i : i + size] for i in range(0, len(view), size)]
        return lambda: (item.units, run_feed(feeds))
    run_typed = jsonstreams.typed_messages(jsonstream.choose(None))
    reads = jsonstreams.reads(item.data, contender.read_size)
    return lambda: (run_typed(reads), None)


def demux_backend() -> str:
    return "native" if _backend.load_native() is not None else "python"


def timed_wireproto(
    contender: Contender, run: Callable[[], tuple[int, int | None]], item: Input
) -> float:
    start = time.perf_counter()
    units, payload = run()
    elapsed = time.perf_counter() - start
    check(contender, item, units, payload)
    return elapsed


def check(contender: Contender, item: Input, units: int, payload: int | None) -> None:
    if units != item.units or payload != item.payload:
        raise SystemExit(
            f"{contender.name}: saw {units} units and {payload} payload bytes, "
            f"not {item.units} and {item.payload}"
        )


# ---- Go ----------------------------------------------------------------------


@dataclass(frozen=True)
class Toolchain:
    go: str
    gopath: str


def find_toolchain(go: str | None, gopath: str) -> tuple[Toolchain | None, str | None]:
    """The Go toolchain and sources, or None and what is missing."""
    binary = go or shutil.which("go")
    if binary is None or not os.access(binary, os.X_OK):
        return None, f"no Go toolchain ({binary or 'go not on PATH'})"
    for package in GO_IMPORTS:
        if not (Path(gopath) / "src" / package).is_dir():
            return None, f"no sources of {package} under {gopath}/src"
    return Toolchain(binary, gopath), None


def go_env(toolchain: Toolchain, build_dir: Path) -> dict[str, str]:
    # GOPATH mode: the imports resolve to Debian's packaged sources, offline.
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": toolchain.gopath, "GOFLAGS": ""}
    env.setdefault("GOCACHE", str(build_dir / "cache"))
    return env


def build(toolchain: Toolchain, build_dir: Path) -> Path:
    binary = build_dir / "anchors"
    command = [toolchain.go, "build", "-o", str(binary), "."]
    done = subprocess.run(
        command, cwd=HARNESS, env=go_env(toolchain, build_dir), capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"go build failed:\n{done.stderr}")
    return binary


def timed_go(binary: Path, contender: Contender, item: Input) -> float:
    """One process: a warm-up pass, then one timed pass; its seconds."""
    kind = "stdcopy" if item.payload is not None else "jsonmessage"
    command = [str(binary), "-kind", kind, "-passes", "1", "-warmup", "1"]
    command += ["-read", str(contender.read_size), str(item.path)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{contender.name}: {done.stderr.strip()}")
    report = json.loads(done.stdout)
    counts = report["counts"]
    payload = counts["stdout"] + counts["stderr"] if item.payload is not None else None
    check(contender, item, counts["units"], payload)
    seconds: float = report["seconds"][0]
    return seconds


def versions(toolchain: Toolchain | None) -> dict[str, str]:
    """go version and the Debian packages' versions (those installed)."""
    found: dict[str, str] = {}
    if toolchain is not None:
        done = subprocess.run([toolchain.go, "version"], capture_output=True, text=True)
        found["go"] = done.stdout.strip().removeprefix("go version ")
    if shutil.which("dpkg-query"):
        for package in DEBIAN_PACKAGES:
            done = subprocess.run(
                ["dpkg-query", "-W", "-f", "${Version}", package], capture_output=True, text=True
            )
            if done.returncode == 0 and done.stdout:
                found[package] = done.stdout
    return found


# ---- measuring ---------------------------------------------------------------


def measure(
    entrants: list[Contender], inputs: dict[str, Input], binary: Path | None, rounds: int
) -> dict[str, Figure]:
    """Round after round, every contender one pass (after a warm-up round)."""
    runs: dict[str, Callable[[], float]] = {}
    for contender in entrants:
        item = inputs[contender.input]
        if contender.side == "go":
            assert binary is not None
            runs[contender.name] = partial(timed_go, binary, contender, item)
        else:
            run = wireproto_pass(contender, item)
            runs[contender.name] = partial(timed_wireproto, contender, run, item)
    figures = {c.name: Figure(c.name, c.side, len(inputs[c.input].data)) for c in entrants}
    for round_number in range(rounds + 1):
        for name, run_once in runs.items():
            elapsed = run_once()
            if round_number:
                figures[name].seconds.append(elapsed)
        bench_mux.progress(f"  round {round_number or 'warm-up'} done")
    for figure in figures.values():
        figure.summarise()
    return figures


def ratio_rows(figures: dict[str, Figure]) -> list[dict[str, Any]]:
    """Each goal: the ratio of medians, and the range of the rounds' own ratios."""
    rows = []
    for goal in GOALS:
        if goal.go not in figures or goal.ours not in figures:
            continue
        ours, go = figures[goal.ours], figures[goal.go]
        per_round = [g / o * ours.bytes / go.bytes for o, g in zip(ours.seconds, go.seconds)]
        ratio = ours.median_mb_per_s / go.median_mb_per_s
        rows.append(
            {
                **asdict(goal),
                "ratio": ratio,
                "round_median": statistics.median(per_round),
                "round_min": min(per_round),
                "round_max": max(per_round),
                "pass": ratio >= goal.at_least,
            }
        )
    return rows


# ---- output ------------------------------------------------------------------


def print_table(figures: dict[str, Figure], inputs: dict[str, Input]) -> None:
    for item in inputs.values():
        unit = "frames" if item.payload is not None else "messages"
        print(f"\n{item.name}: {len(item.data) / MB:.1f} MB, {item.units:,} {unit}")
        print(f"  {'contender':<44}{'MB/s':>9}  {'[range]':<16}")
        for contender in CONTENDERS:
            figure = figures.get(contender.name)
            if contender.input == item.name and figure is not None:
                span = f"[{figure.min_mb_per_s:,.0f}-{figure.max_mb_per_s:,.0f}]"
                print(f"  {figure.contender:<44}{figure.median_mb_per_s:>9,.1f}  {span:<16}")


def print_goals(rows: list[dict[str, Any]], missing: str | None) -> None:
    print("\ngoals (measured in this run: ratio of the medians; each round's own ratio)")
    if missing is not None:
        print(f"  not measured: {missing}")
        return
    for row in rows:
        verdict = "PASS" if row["pass"] else "FAIL"
        what = f"{row['ours']} >= {row['at_least']:g}x {row['go']}"
        rounds = (
            f"rounds {row['round_median']:.2f}x [{row['round_min']:.2f}-{row['round_max']:.2f}]"
        )
        print(f"  {verdict}  {what:<82} measured {row['ratio']:.2f}x, {rounds}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mux-size", type=int, default=64, help="MiB of log mix (default 64)")
    parser.add_argument(
        "--json-size", type=float, default=20, help="MB of pull progress (default 20)"
    )
    parser.add_argument("--rounds", type=int, default=11, help="timed rounds (default 11)")
    parser.add_argument("--json", metavar="FILE", help="write all figures to FILE")
    parser.add_argument("--go", metavar="PATH", help="the go command (default: go on PATH)")
    parser.add_argument("--gopath", default=GOPATH, help=f"GOPATH with the sources ({GOPATH})")
    args = parser.parse_args(argv)
    if args.mux_size < 1 or args.json_size <= 0 or args.rounds < 1:
        parser.error("--mux-size, --json-size and --rounds must be positive")
    return args


def run(args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    toolchain, missing = find_toolchain(args.go, args.gopath)
    binary = build(toolchain, scratch) if toolchain is not None else None
    found = versions(toolchain)
    print(
        f"wireproto against Go: median of {args.rounds} rounds after a warm-up round, "
        f"wall clock, MB = 10^6 bytes; demux backend {demux_backend()}, "
        f"JSON parser {jsonstream.choose(None)}"
    )
    print("  " + "; ".join(f"{name} {version}" for name, version in found.items()))
    if missing is not None:
        print(f"  Go anchors skipped: {missing}. Install: {INSTALL_HINT}")
    entrants = [c for c in CONTENDERS if c.side == "wireproto" or binary is not None]
    inputs = make_inputs(scratch, args.mux_size * MIB, int(args.json_size * MB))
    figures = measure(entrants, inputs, binary, args.rounds)
    print_table(figures, inputs)
    rows = ratio_rows(figures)
    print_goals(rows, missing)
    return {
        "revision": bench_mux.git_revision(),
        "python": sys.version,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "demux_backend": demux_backend(),
        "json_parser": jsonstream.choose(None),
        "versions": found,
        "missing": missing,
        "rounds": args.rounds,
        "inputs": {i.name: {"bytes": len(i.data), "units": i.units} for i in inputs.values()},
        "figures": {name: asdict(figure) for name, figure in figures.items()},
        "goals": rows,
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_go-") as scratch:
        results = run(args, Path(scratch))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
