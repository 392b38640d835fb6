"""``wireproto bench``: the benchmark suite, against the stub engine or a real one."""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

from wireproto.cli.errors import UsageError
from wireproto.versions import ApiVersion

SECTIONS = ("kernels", "json", "e2e", "concurrency")
# Sections run only when asked for: docker-py against wireproto's docker-py integration reads
# 50 MB through stock docker-py, which alone takes longer than the default run.
OPT_IN = ("docker-py",)


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = verbs.add_parser(
        "bench", help="benchmark demux, logs and concurrent streams (no Docker needed)"
    )
    bench.add_argument(
        "--host",
        dest="bench_host",
        metavar="HOST",
        help="run the end-to-end part against this engine instead of the stub",
    )
    bench.add_argument("--json", metavar="FILE", help="write the results as JSON")
    bench.add_argument(
        "--plot",
        metavar="FILE.png",
        help="draw every section against its baseline and limit (needs matplotlib: "
        "pip install '.[plot]')",
    )
    bench.add_argument("--size", type=int, default=32, metavar="MiB", help="MiB per case")
    bench.add_argument("--repeat", type=int, default=2, help="passes per figure (best kept)")
    bench.add_argument(
        "--only",
        action="append",
        choices=(*SECTIONS, *OPT_IN),
        help="run only this section (repeatable; docker-py runs only when named: stock "
        "docker-py against wireproto.integrations.docker_py, 50 MB of log lines)",
    )
    bench.add_argument("--image", default="busybox", help="image for --host (default busybox)")
    bench.set_defaults(handler=run_bench)


def run_bench(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    from wireproto.bench import report, runner

    if args.plot and importlib.util.find_spec("matplotlib") is None:
        raise UsageError("--plot needs matplotlib: pip install '.[plot]' (or matplotlib)")
    if args.size < 1 or args.repeat < 1:
        raise UsageError("--size and --repeat must be at least 1")
    mib = runner.MIB
    options = runner.Options(
        host=args.bench_host,
        kernel_size=args.size * mib,
        e2e_size=args.size * mib,
        concurrency_total=args.size * mib,
        json_size=max(mib, args.size * mib // 2),
        slow_size=max(mib, args.size * mib // 4),
        docker_size=max(mib // 2, args.size * mib // 16),
        repeat=args.repeat,
        sections=tuple(args.only or SECTIONS),
    )
    results = runner.run(options, image=args.image)
    print(report.table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    if args.plot:
        report.plot(results, args.plot)
    return 0
