"""``wireproto bench``: the suite and its results (shown by :mod:`wireproto.bench.report`).

Strategy: the stub engine runs in a subprocess (``wireproto.engine``, built
from the same core as the clients) so that the clients measured do not share
a GIL with it; every client runs in this process's main thread and its CPU
is that thread's CPU time.  Sections: demux kernels in memory, JSON progress
streams in memory, end-to-end logs over a unix socket by frame size, and
concurrent streams on asyncio.
Each figure is the best of ``repeat`` passes, and every pass checks that
it saw every payload byte.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from wireproto import api, mux
from wireproto.bench import chunkedlogs, jsonstreams, kernels
from wireproto.codec import backend as _backend
from wireproto.engine.script import LOG_PIECE, Container, LogSpec, Script, encoded_block

MIB = 1024 * 1024
GIB = 1024 * MIB
E2E_MIXES = {"tiny": 16, "line": 100, "bulk": LOG_PIECE}  # mix -> frame payload bytes


@dataclass
class Row:
    section: str
    case: str
    contender: str
    bytes: int
    wall_s: float
    cpu_s: float
    mb_per_s: float = 0.0
    cpu_s_per_gib: float = 0.0
    x_baseline: float | None = None
    x_limit: float | None = None
    frame_size: int | None = None
    anchors: dict[str, float] = field(default_factory=dict)  # ratio to each anchor (wall)
    baseline: str | None = None  # the contender x_baseline divides by (absent: not installed)
    limit: str | None = None  # the contender x_limit divides by

    def __post_init__(self) -> None:
        self.mb_per_s = round(self.bytes / self.wall_s / 1e6, 1) if self.wall_s else 0.0
        self.cpu_s_per_gib = round(self.cpu_s / self.bytes * GIB, 2) if self.bytes else 0.0


@dataclass
class Options:
    host: str | None = None
    kernel_size: int = 32 * MIB
    e2e_size: int = 32 * MIB
    slow_size: int = 8 * MIB  # python backend, kernels
    docker_size: int = 2 * MIB  # docker-py, end to end and kernels
    concurrency: tuple[int, ...] = (1, 10, 100)
    concurrency_total: int = 32 * MIB
    repeat: int = 2
    json_size: int = 16 * MIB
    sections: tuple[str, ...] = ("kernels", "json", "e2e", "concurrency")
    rows: list[Row] = field(default_factory=list)
    missing: list[dict[str, str]] = field(default_factory=list)  # contenders not installed


class Progress:
    """One status line on a terminal (redrawn), plain lines otherwise, on stderr."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.started = time.perf_counter()

    def __call__(self, message: str) -> None:
        elapsed = time.perf_counter() - self.started
        line = f"[{elapsed:5.1f}s] {message}"
        if self.tty:
            sys.stderr.write("\r\x1b[2K" + line[:120])
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self.tty:
            sys.stderr.write("\r\x1b[2K")
            sys.stderr.flush()


# --- the stub engine, in a subprocess ---------------------------------------------------------


def bench_script(options: Options) -> Script:
    containers = []
    for mix, size in E2E_MIXES.items():
        for label, total in (
            ("full", options.e2e_size),
            ("docker", options.docker_size),
        ):
            spec = LogSpec(size=total, mix=(size,), stderr_ratio=0.3, seed=7)
            containers.append(Container(f"e2e-{mix}-{label}", f"e2e-{mix}-{label}", output=spec))
    for n in options.concurrency:
        for label, total in (("full", options.concurrency_total), ("slow", options.docker_size)):
            spec = LogSpec(size=max(total // n, 64 * 1024), mix=(100,), seed=n)
            containers.append(Container(f"conc-{n}-{label}", f"conc-{n}-{label}", output=spec))
    return Script(containers=tuple(containers))


def serve_spec(path: str, spec: str) -> None:
    """Subprocess entry point: serve the bench script on ``path``."""
    from wireproto.engine import StubEngine

    options = Options(**json.loads(spec))
    script = bench_script(options)
    for container in script.containers:  # encode every block before the clock starts
        encoded_block(container, True, frozenset((mux.STDOUT, mux.STDERR)))
    engine = StubEngine(script, socket_path=path)
    engine.listen()
    print("listening", flush=True)
    engine.serve_forever()


@contextmanager
def stub_engine(options: Options) -> Iterator[str]:
    spec = {
        "e2e_size": options.e2e_size,
        "slow_size": options.slow_size,
        "docker_size": options.docker_size,
        "concurrency": list(options.concurrency),
        "concurrency_total": options.concurrency_total,
    }
    with tempfile.TemporaryDirectory(prefix="wireproto-bench-") as tmp:
        path = os.path.join(tmp, "docker.sock")
        code = (
            "import sys; from wireproto.bench.runner import serve_spec; serve_spec(*sys.argv[1:])"
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", code, path, json.dumps(spec)], stdout=subprocess.PIPE
        )
        try:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != b"listening":
                raise RuntimeError("the stub engine did not start")
            yield f"unix://{path}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


# --- end-to-end clients: each reads one container's logs, returns payload bytes -------------


class Counter:
    def __init__(self) -> None:
        self.count = 0

    def write(self, data: memoryview, /) -> int:
        self.count += len(data)
        return len(data)


def wireproto_logs(backend: str) -> Callable[[str, str], int]:
    def run(host: str, container: str) -> int:
        from wireproto.adapters.blocking import Client
        from wireproto.exchange import Output

        counter = Counter()
        sinks = [counter, counter, counter, counter]
        total = 0
        with Client(host, backend=backend) as client:
            for event in client.stream(api.logs(container, tty=False), sinks=sinks):
                if isinstance(event, Output):
                    total += sum(len(p) for _, p in event.pieces)
        return total + counter.count

    return run


def docker_py_logs(host: str, container: str) -> int:
    import docker

    client = docker.APIClient(base_url=host, version="1.41", timeout=600)
    try:
        return sum(len(piece) for piece in client.logs(container, stream=True))
    finally:
        client.close()


def raw_socket(host: str, container: str) -> int:
    """The limit: the response read into one buffer, nothing decoded (counts body bytes)."""
    path = host.removeprefix("unix://")
    request = (
        f"GET /v1.41/containers/{container}/logs?stdout=1&stderr=1 HTTP/1.1\r\n"
        "Host: docker\r\nConnection: close\r\n\r\n"
    ).encode()
    buffer = bytearray(256 * 1024)
    total = 0
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(path)
        sock.sendall(request)
        while count := sock.recv_into(buffer):
            total += count
    return total


def command_logs(*command: str) -> Callable[[str, str], int]:
    """A logs command (``wireproto logs``, ``docker logs``) run as the user runs it, its
    stdout and stderr one pipe (``2>&1 | ...``) drained here; returns the bytes it wrote.
    Its CPU is the child's (see :func:`best_of`)."""

    def run(host: str, container: str) -> int:
        argv = [*command, "-H", host, "logs", container]
        with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
            assert proc.stdout is not None
            total = 0
            while chunk := os.read(proc.stdout.fileno(), 1 << 20):
                total += len(chunk)
        if proc.returncode:
            raise RuntimeError(f"{argv[0]} logs exited {proc.returncode}")
        return total

    return run


@dataclass(frozen=True)
class E2E:
    name: str
    run: Callable[[str, str], int]
    label: str  # which container size: full, slow, docker
    exact: bool = True  # returns payload bytes (the limit returns wire bytes)
    child: bool = False  # runs a command: the CPU is the child process's


def e2e_contenders(real_engine: bool = False) -> list[E2E]:
    entrants = [E2E("raw socket (limit)", raw_socket, "full", exact=False)]
    if _backend.load_native() is not None:
        entrants.append(E2E("wireproto native", wireproto_logs("native"), "full"))
    entrants.append(E2E("wireproto python", wireproto_logs("python"), "docker"))
    if kernels.have_docker_py():
        entrants.append(E2E("docker-py", docker_py_logs, "docker"))
    if real_engine:  # the commands against each other, on the engine they were made for
        wireproto_cli = command_logs(sys.executable, "-m", "wireproto")
        entrants.append(E2E("wireproto logs (command)", wireproto_cli, "full", child=True))
        docker = shutil.which("docker")
        if docker is not None:
            docker_cli = command_logs(docker)
            entrants.append(E2E("docker logs (command)", docker_cli, "full", child=True))
    return entrants


def best_of(
    repeat: int, run: Callable[[], int], expected: int | None, child: bool = False
) -> tuple[float, float, int]:
    """The fastest of ``repeat`` runs: (wall s, CPU s, bytes seen).  The CPU is this
    thread's, or with ``child`` the child processes' (user + sys) the run waited for."""
    cpu_now = children_cpu if child else time.thread_time
    best: tuple[float, float, int] | None = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), cpu_now()
        seen = run()
        result = (time.perf_counter() - wall, cpu_now() - cpu, seen)
        if expected is not None and seen != expected:
            raise RuntimeError(f"saw {seen} payload bytes, not {expected}")
        if best is None or result[0] < best[0]:
            best = result
    assert best is not None
    return best


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_e2e(options: Options, host: str, progress: Progress, script: Script | None) -> None:
    for mix, frame in E2E_MIXES.items():
        if script is None and mix != "line":
            continue  # a real engine: one container of 100-byte lines (see real_container)
        rows = []
        for entrant in e2e_contenders(real_engine=script is None):
            container = f"e2e-{mix}-{entrant.label}"
            size = {"full": options.e2e_size, "slow": options.slow_size}.get(
                entrant.label, options.docker_size
            )
            if script is None:
                container = options.rows_container  # type: ignore[attr-defined]
                size = options.e2e_size
            progress(f"e2e logs, {frame}-byte frames: {entrant.name}")
            expected = size if entrant.exact else None
            wall, cpu, seen = best_of(
                options.repeat,
                functools.partial(entrant.run, host, container),
                expected,
                entrant.child,
            )
            rows.append(
                Row(
                    "e2e logs",
                    f"{mix} ({frame} B frames)",
                    entrant.name,
                    size if entrant.exact else seen,
                    wall,
                    cpu,
                    frame_size=frame,
                )
            )
        ratios(rows, "docker-py", "raw socket (limit)")
        options.rows += rows


# --- concurrency on asyncio ----------------------------------------------------------------


async def asyncio_streams(host: str, container: str, n: int) -> int:
    from wireproto.adapters.asyncio import Client

    async with Client(host, max_idle=0) as client:

        async def one() -> int:
            counter = Counter()
            call = api.logs(container, tty=False)
            async with client.stream(call, sinks=[counter] * 4) as events:
                async for _event in events:
                    pass
            return counter.count

        return sum(await asyncio.gather(*(one() for _ in range(n))))


async def aiodocker_streams(host: str, container: str, n: int) -> int:
    import aiodocker
    import aiohttp

    connector = aiohttp.UnixConnector(host.removeprefix("unix://"), limit=0)
    docker = aiodocker.Docker(url="unix://localhost", connector=connector, api_version="v1.41")
    try:

        async def one() -> int:
            total = 0
            logs = docker.containers.container(container).log(stdout=True, stderr=True, follow=True)
            async for line in logs:
                total += len(line.encode() if isinstance(line, str) else line)
            return total

        return sum(await asyncio.gather(*(one() for _ in range(n))))
    finally:
        await docker.close()
        await connector.close()  # passed in, so aiodocker leaves it open


def _run_async(
    runner: Callable[[str, str, int], Coroutine[Any, Any, int]], host: str, name: str, n: int
) -> int:
    return asyncio.run(runner(host, name, n))


def run_concurrency(options: Options, host: str, progress: Progress) -> None:
    try:
        import aiodocker  # noqa: F401

        clients = ["wireproto asyncio", "aiodocker"]
    except ImportError:
        clients = ["wireproto asyncio"]
    for n in options.concurrency:
        rows = []
        for name in clients:
            label = "full" if name == "wireproto asyncio" else "slow"  # aiodocker: a slice
            total = options.concurrency_total if label == "full" else options.docker_size
            per = max(total // n, 64 * 1024)
            progress(f"concurrency: {n} streams, {name}")
            runner = asyncio_streams if name == "wireproto asyncio" else aiodocker_streams
            exact = per * n if name == "wireproto asyncio" else None  # aiodocker decodes text
            wall, cpu, _ = best_of(
                options.repeat,
                functools.partial(_run_async, runner, host, f"conc-{n}-{label}", n),
                exact,
            )
            case = f"{n} stream" if n == 1 else f"{n} streams"
            rows.append(Row("concurrency", case, name, per * n, wall, cpu))
        ratios(rows, "aiodocker", None)
        options.rows += rows


# --- kernels -------------------------------------------------------------------------------


def run_kernels(options: Options, progress: Progress) -> None:
    entrants = kernels.contenders(options.slow_size, options.docker_size)
    for mix in kernels.MIXES:
        work = kernels.workload(mix, options.kernel_size)
        rows = []
        for entrant in entrants:
            progress(f"demux kernels, {mix} mix: {entrant.name}")
            piece = kernels.sliced(work, entrant.slice_size) if entrant.slice_size else work
            wall, cpu, size = kernels.timed(entrant, piece, options.repeat)
            rows.append(Row("demux kernels", f"{mix} mix", entrant.name, size, wall, cpu))
        ratios(rows, "docker-py frames_iter", "memcpy (limit)")
        options.rows += rows


# --- JSON streams ----------------------------------------------------------------------------


def run_jsonstreams(options: Options, progress: Progress) -> None:
    messages, _ = jsonstreams.make_stream(options.json_size)
    rows = []
    for entrant in jsonstreams.contenders():
        if entrant.missing:
            options.missing.append(_missing("JSON streams", entrant.name, entrant.missing))
            continue
        progress(f"JSON streams, pull progress: {entrant.name}")
        wall, cpu, size = jsonstreams.timed(entrant, messages, options.repeat)
        rows.append(Row("JSON streams", "pull progress", entrant.name, size, wall, cpu))
    ratios(rows, jsonstreams.BASELINE, jsonstreams.limit(), jsonstreams.ANCHORS)
    options.rows += rows


def run_chunked(options: Options, progress: Progress) -> None:
    """Chunked logs in memory through ``Exchange``, by chunk size (see chunkedlogs)."""
    entrants = chunkedlogs.contenders()
    for entrant in entrants:
        if entrant.missing:
            options.missing.append(_missing("chunked logs", entrant.name, entrant.missing))
    for chunk_size in chunkedlogs.CHUNK_SIZES:
        work = chunkedlogs.workload(chunk_size, options.kernel_size)
        slow = chunkedlogs.workload(chunk_size, options.slow_size)
        rows = []
        for entrant in entrants:
            if entrant.missing:
                continue
            progress(f"chunked logs, {chunk_size} B chunks: {entrant.name}")
            piece = slow if entrant.slow else work
            wall, cpu, size = chunkedlogs.timed(entrant, piece, options.repeat)
            case = f"{chunk_size:,} B chunks, 64 KiB reads"
            rows.append(Row("chunked logs", case, entrant.name, size, wall, cpu))
        ratios(rows, chunkedlogs.BASELINE, chunkedlogs.LIMIT, chunkedlogs.ANCHORS)
        options.rows += rows


def run_dockerpy(options: Options, progress: Progress) -> None:
    """docker-py on wireproto against stock docker-py, logs of 100-byte lines (see dockerpy)."""
    from wireproto.bench import dockerpy

    progress("docker-py logs, 50 MB of 100-byte lines")
    for r in dockerpy.measure(50 * 1_000_000, max(3, options.repeat)):
        row = Row("docker-py", str(r["case"]), str(r["contender"]), int(r["bytes"]),
                  float(r["wall_s"]), float(r["cpu_s"]))
        row.x_baseline = float(r["cpu_x_stock"])  # here: client CPU relative to stock
        options.rows.append(row)


def _missing(section: str, contender: str, hint: str) -> dict[str, str]:
    return {"section": section, "contender": contender, "hint": hint}


def ratios(rows: list[Row], baseline: str, limit: str | None, anchors: Sequence[str] = ()) -> None:
    rates = {row.contender: row.mb_per_s for row in rows}
    for row in rows:
        row.baseline, row.limit = baseline, limit
        if rates.get(baseline):
            row.x_baseline = round(row.mb_per_s / rates[baseline], 2)
        if limit and rates.get(limit):
            row.x_limit = round(row.mb_per_s / rates[limit], 3)
        if row.contender not in anchors and row.contender != limit:
            row.anchors = {a: round(row.mb_per_s / rates[a], 2) for a in anchors if rates.get(a)}


# --- a real engine (--host) ------------------------------------------------------------------


@contextmanager
def real_container(host: str, size: int, image: str) -> Iterator[str]:
    """A finished busybox container that wrote ``size`` bytes of 100-byte lines, 30% stderr."""
    from wireproto.adapters.blocking import Client
    from wireproto.api import containers

    lines = size // 100
    err = lines * 3 // 10
    line = "x" * 99
    script = f"(yes {line} | head -n {lines - err}) & (yes {line} | head -n {err} >&2); wait"
    with Client(host) as client:
        version = client.negotiate()
        config = {"Image": image, "Cmd": ["sh", "-c", script], "Tty": False}
        created = client.request(containers.create_container(config, version)).document
        assert isinstance(created, dict)
        cid = str(created["Id"])
        try:
            client.request(containers.start(cid, version))
            client.begin(containers.wait(cid, version)).result()  # as long as it runs
            yield cid
        finally:
            client.request(containers.remove_container(cid, version, force=True))


# --- the whole run ------------------------------------------------------------------------------


def run(options: Options, image: str = "busybox") -> dict[str, Any]:
    progress = Progress()
    started = time.perf_counter()
    try:
        if "kernels" in options.sections:
            run_kernels(options, progress)
            run_chunked(options, progress)  # in memory too: parsers, not a socket
        if "json" in options.sections:
            run_jsonstreams(options, progress)
        if "docker-py" in options.sections:
            run_dockerpy(options, progress)
        if options.host is None:
            with stub_engine(options) as host:
                if "e2e" in options.sections:
                    run_e2e(options, host, progress, bench_script(options))
                if "concurrency" in options.sections:
                    run_concurrency(options, host, progress)
        elif "e2e" in options.sections:
            options.e2e_size = options.e2e_size // 100 * 100
            options.slow_size = options.docker_size = options.e2e_size
            with real_container(options.host, options.e2e_size, image) as cid:
                options.rows_container = cid  # type: ignore[attr-defined]
                run_e2e(options, options.host, progress, None)
    finally:
        progress.done()
    return {
        "engine": options.host or "stub (wireproto.engine, subprocess)",
        "backend": mux.BACKEND,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "repeat": options.repeat,
        "elapsed_s": round(time.perf_counter() - started, 1),
        "rows": [asdict(row) for row in options.rows],
        "missing": options.missing,
    }
