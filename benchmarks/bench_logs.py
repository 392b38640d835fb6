#!/usr/bin/env python3
"""Reading container logs and attach output: wireproto against the usual clients.

Usage: python benchmarks/bench_logs.py [-H HOST] [--mib 256] [--attach-mib 256]
           [--clients wireproto,Client.stream,docker,docker-py,curl] [--json FILE]
           [--runs N] [--before DIR] [--container ID]

A busybox container writes ``--mib`` MiB of mixed stdout/stderr in ~100-byte
lines and exits; then each client reads its whole logs, output to /dev/null,
one after the other in the same run:

* ``wireproto logs`` (this package's command, the backend WIREPROTO_BACKEND picks),
* ``docker logs`` (the Go CLI),
* docker-py (``APIClient.logs(..., stream=True)`` consumed fully),
* ``curl --unix-socket`` reading the raw HTTP body (the floor: no decoding).

For each: client CPU seconds per GB (user+sys of the client process and its
children, from wait4), wall time, peak RSS, and the engine's (dockerd's) CPU
over the same interval from /proc.  Also the chunk sizes the engine sent
(from the first MiBs of the raw body), and attach throughput: a container
writing ``--attach-mib`` MiB as fast as it can, read by ``wireproto attach``
and ``docker attach``.

Needs a running engine with the busybox image (scripts/engine.sh up, or
-H HOST) and the docker CLI; docker-py and curl are skipped when missing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGE = os.environ.get("WIREPROTO_IMAGE", "wireproto-busybox:test")
API = "v1.41"
GB = 1e9
LINE_PAYLOAD = 99  # + newline = 100 bytes a line


@dataclass
class Result:
    client: str
    bytes: int
    wall_s: float
    cpu_s: float
    user_s: float
    sys_s: float
    cpu_s_per_gb: float
    peak_rss_mib: float
    engine_cpu_s: float
    engine_cpu_s_per_gb: float
    mb_per_s: float


def docker(host: str, *args: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["docker", "-H", host, *args], capture_output=True, check=True, **kwargs)  # type: ignore[call-overload]


def engine_pid(socket_path: str) -> int | None:
    """The dockerd serving ``socket_path`` (by its command line), for its CPU time."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            cmdline
            and cmdline[0].endswith(b"dockerd")
            and any(socket_path.encode() in arg for arg in cmdline)
        ):
            return int(entry.name)
    return None


def process_cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


class PeakRSS:
    """The client's peak RSS (VmHWM), polled from /proc while it runs.

    wait4's ru_maxrss would count the benchmark's own memory, which the
    child holds between fork and exec.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.kib = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while not self._done.is_set():
            try:
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.kib = max(self.kib, int(line.split()[1]))
            except (OSError, ValueError):
                pass
            self._done.wait(0.02)

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


def measure(
    name: str, argv: list[str], size: int, dockerd: int | None, stdin: bytes | None = None
) -> Result:
    engine_before = process_cpu(dockerd)
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(
            argv,
            stdout=null,
            stderr=null,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        )
        peak = PeakRSS(proc.pid)
        if stdin is not None:
            assert proc.stdin is not None
            proc.stdin.write(stdin)
            proc.stdin.close()
        _, status, usage = os.wait4(proc.pid, 0)
        peak.stop()
    wall = time.perf_counter() - start
    engine = process_cpu(dockerd) - engine_before
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name} failed: {argv} exited {os.waitstatus_to_exitcode(status)}")
    cpu = usage.ru_utime + usage.ru_stime
    return Result(
        client=name,
        bytes=size,
        wall_s=round(wall, 2),
        cpu_s=round(cpu, 3),
        user_s=round(usage.ru_utime, 3),
        sys_s=round(usage.ru_stime, 3),
        cpu_s_per_gb=round(cpu / size * GB, 2),
        peak_rss_mib=round(peak.kib / 1024, 1),
        engine_cpu_s=round(engine, 2),
        engine_cpu_s_per_gb=round(engine / size * GB, 1),
        mb_per_s=round(size / wall / 1e6, 1),
    )


def make_log_container(host: str, mib: int) -> tuple[str, int]:
    """A finished container that wrote ``mib`` MiB of 100-byte lines, half to stderr."""
    lines = mib * 1024 * 1024 // (LINE_PAYLOAD + 1)
    half = lines // 2
    # Two writers, one per stream, each a fast loop of printf over a 99-byte line.
    line = "x" * (LINE_PAYLOAD - len("out 00000000 "))  # 99 bytes and a newline
    script = (
        f"(i=0; while [ $i -lt {half} ]; do printf 'out %08d {line}\\n' $i; i=$((i+1)); done) & "
        f"(i=0; while [ $i -lt {lines - half} ]; do printf 'err %08d {line}\\n' $i >&2; "
        "i=$((i+1)); done); wait"
    )
    cid = docker(host, "create", "--network", "none", IMAGE, "sh", "-c", script).stdout
    container = cid.decode().strip()
    docker(host, "start", container)
    docker(host, "wait", container, timeout=3600)
    return container, lines * (LINE_PAYLOAD + 1)


def chunk_sizes(socket_path: str, container: str, sample: int = 4 << 20) -> dict[str, float]:
    """Sizes of the HTTP chunks the engine sends for these logs (first ``sample`` bytes)."""
    request = (
        f"GET /{API}/containers/{container}/logs?stdout=1&stderr=1 HTTP/1.1\r\n"
        "Host: docker\r\nConnection: close\r\n\r\n"
    ).encode()
    data = bytearray()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(socket_path)
        sock.sendall(request)
        while len(data) < sample and (chunk := sock.recv(1 << 16)):
            data += chunk
    body = bytes(data[data.index(b"\r\n\r\n") + 4 :])
    sizes, pos = [], 0
    while (end := body.find(b"\r\n", pos)) != -1:
        size = int(body[pos:end].split(b";")[0], 16)
        if size == 0 or end + 2 + size + 2 > len(body):
            break
        sizes.append(size)
        pos = end + 2 + size + 2
    return {
        "count": len(sizes),
        "min": min(sizes),
        "median": statistics.median(sizes),
        "max": max(sizes),
        "mean": round(statistics.fmean(sizes), 1),
    }


def stream_snippet(host: str, container: str) -> str:
    """The blocking ``Client.stream(logs)`` with counting sinks (no output written)."""
    return (
        "from wireproto import api\n"
        "from wireproto.adapters.blocking import Client\n"
        "class Count:\n"
        "    def write(self, data):\n"
        "        return len(data)\n"
        f"with Client({host!r}) as client:\n"
        "    version = client.negotiate()\n"
        f"    call = api.logs({container!r}, version, tty=False)\n"
        "    for _ in client.stream(call, sinks=[Count()] * 4):\n"
        "        pass\n"
    )


def log_clients(
    host: str, socket_path: str, container: str, wanted: list[str], before: str | None = None
) -> dict[str, list[str]]:
    clients = {
        "wireproto": [sys.executable, "-m", "wireproto", "-H", host, "logs", container],
        "Client.stream": [sys.executable, "-c", stream_snippet(host, container)],
        "docker": ["docker", "-H", host, "logs", container],
        "docker-py": [
            sys.executable,
            "-c",
            (
                "import docker, sys\n"
                f"api = docker.APIClient(base_url={host!r}, version={API[1:]!r}, timeout=3600)\n"
                f"for _ in api.logs({container!r}, stream=True): pass\n"
            ),
        ],
        "curl": [
            "curl",
            "-sS",
            "--fail",
            "--unix-socket",
            socket_path,
            "-o",
            "/dev/null",
            f"http://docker/{API}/containers/{container}/logs?stdout=1&stderr=1",
        ],
    }
    if before:  # the same clients from another checkout (a before/after in one run)
        for name in ("wireproto", "Client.stream"):
            clients[f"{name}@before"] = ["env", f"PYTHONPATH={before}", *clients[name]]
            wanted = [*wanted, f"{name}@before"] if name in wanted else wanted
    available = {}
    for name in wanted:
        if name == "curl" and not shutil.which("curl"):
            continue
        if (
            name == "docker-py"
            and subprocess.run(
                [sys.executable, "-c", "import docker"], capture_output=True
            ).returncode
        ):
            continue
        available[name] = clients[name]
    return available


def attach_run(host: str, mib: int, client: str, dockerd: int | None) -> Result:
    size = mib * 1024 * 1024
    # The container waits for one line on stdin, so the client is attached before it writes.
    script = f"read go; head -c {size} /dev/zero"
    cid = docker(host, "create", "-i", "--network", "none", IMAGE, "sh", "-c", script).stdout
    container = cid.decode().strip()
    try:
        docker(host, "start", container)
        argv = (
            [sys.executable, "-m", "wireproto", "-H", host, "attach", container]
            if client == "wireproto"
            else ["docker", "-H", host, "attach", container]
        )
        return measure(f"{client} attach", argv, size, dockerd, stdin=b"go\n")
    finally:
        docker(host, "rm", "-f", container)


def run_logs(
    args: argparse.Namespace, host: str, socket_path: str, dockerd: int | None
) -> tuple[dict[str, float], list[Result]]:
    if args.container:
        container = args.container  # made by an earlier run with the same --mib
        size = args.mib * 1024 * 1024 // (LINE_PAYLOAD + 1) * (LINE_PAYLOAD + 1)
    else:
        print(f"writing {args.mib} MiB of logs...", file=sys.stderr)
        container, size = make_log_container(host, args.mib)
    chunks = chunk_sizes(socket_path, container)
    print(f"engine chunks (first 4 MiB): {chunks}", file=sys.stderr)
    results = []
    clients = log_clients(host, socket_path, container, args.clients.split(","), args.before)
    for run in range(args.runs):  # in turn, so each run's figures share the box's load
        for name, argv in clients.items():
            print(f"run {run + 1}: reading with {name}...", file=sys.stderr)
            results.append(measure(name, argv, size, dockerd))
            print(table(results[-1:]).splitlines()[-1], file=sys.stderr)
    return chunks, results


def medians(results: list[Result]) -> str:
    """Median wall and CPU of each client over the runs, with their ranges and ratios."""
    by_client: dict[str, list[Result]] = {}
    for result in results:
        by_client.setdefault(result.client, []).append(result)
    wall = {c: statistics.median(r.wall_s for r in rs) for c, rs in by_client.items()}
    cpu = {c: statistics.median(r.cpu_s_per_gb for r in rs) for c, rs in by_client.items()}
    lines = [
        "| client | wall s (range) | CPU s/GB (range) | wall / docker logs | CPU / curl |",
        "|---|---:|---:|---:|---:|",
    ]
    for client, rs in by_client.items():
        walls = [r.wall_s for r in rs]
        cpus = [r.cpu_s_per_gb for r in rs]
        to_docker = f"{wall[client] / wall['docker']:.2f}" if "docker" in wall else "-"
        to_curl = f"{cpu[client] / cpu['curl']:.2f}" if "curl" in cpu else "-"
        lines.append(
            f"| {client} | {wall[client]:.2f} ({min(walls):.2f}-{max(walls):.2f}) "
            f"| {cpu[client]:.1f} ({min(cpus):.1f}-{max(cpus):.1f}) | {to_docker} | {to_curl} |"
        )
    return "\n".join(lines)


def table(results: list[Result]) -> str:
    head = (
        "| client | MB/s | wall s | client CPU s/GB (user+sys) | peak RSS MiB "
        "| engine CPU s/GB |\n|---|---:|---:|---:|---:|---:|"
    )
    rows = [
        f"| {r.client} | {r.mb_per_s} | {r.wall_s} | {r.cpu_s_per_gb} "
        f"({r.user_s}+{r.sys_s} s) | {r.peak_rss_mib} | {r.engine_cpu_s_per_gb} |"
        for r in results
    ]
    return "\n".join([head, *rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-H", "--host", default=os.environ.get("DOCKER_HOST"))
    parser.add_argument("--mib", type=int, default=256, help="MiB of logs to read (default 256)")
    parser.add_argument("--attach-mib", type=int, default=256, help="MiB for attach (0: skip)")
    parser.add_argument("--clients", default="wireproto,docker,docker-py,curl")
    parser.add_argument("--container", help="reuse this finished log container")
    parser.add_argument("--runs", type=int, default=1, help="runs of every client (medians)")
    parser.add_argument("--before", metavar="DIR", help="also run wireproto from this checkout")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    host = args.host or "unix:///var/run/docker.sock"
    if not host.startswith("unix://"):
        raise SystemExit("the benchmark reads the engine's unix socket (-H unix:///...)")
    socket_path = host.removeprefix("unix://")
    dockerd = engine_pid(socket_path)
    results = []
    chunks: dict[str, float] = {}
    if args.mib:
        chunks, log_results = run_logs(args, host, socket_path, dockerd)
        results += log_results
    if args.attach_mib:
        for client in ("wireproto", "docker"):
            print(f"attach with {client}...", file=sys.stderr)
            results.append(attach_run(host, args.attach_mib, client, dockerd))
    print(table(results))
    if args.runs > 1:
        print("\nmedians of the runs:\n" + medians(results))
    print(f"\nengine chunks (first 4 MiB of the logs body): {chunks}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "logs_mib": args.mib,
                    "chunks": chunks,
                    "backend": os.environ.get("WIREPROTO_BACKEND", "default"),
                    "results": [asdict(r) for r in results],
                },
                indent=2,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
