"""docker-py on wireproto against stock docker-py: logs of 100-byte lines.

The engine sends logs as one HTTP chunk per frame; a loopback peer in this
process serves exactly those bytes (a prebuilt answer, one ``sendall``) to
both clients, so the figures are the client's: CPU of the reading thread
(``time.thread_time``) and wall, medians of ``repeat`` runs, side by side.

    python -m wireproto.bench.dockerpy [MEGABYTES] [REPEAT]
"""

from __future__ import annotations

import json
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from wireproto import mux

LINE = 100
CONTAINER = "bench"


def logs_answer(size: int) -> bytes:
    """A logs answer of ``size`` bytes of 100-byte lines, a chunk per frame (30% stderr)."""
    lines = size // LINE
    out = mux.encode(1, b"o" * (LINE - 1) + b"\n")
    err = mux.encode(2, b"e" * (LINE - 1) + b"\n")
    chunk = b"%x\r\n" % len(out)
    pattern = [chunk + (err if i % 10 < 3 else out) + b"\r\n" for i in range(10)]
    body = b"".join(pattern * (lines // 10)) + b"0\r\n\r\n"
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
    return head + b"Transfer-Encoding: chunked\r\n\r\n" + body


def inspect_answer(container: str, tty: bool) -> bytes:
    """An inspect answer: what docker-py's logs and attach read first (is it a TTY?)."""
    body = json.dumps({"Id": container, "Config": {"Tty": tty}}).encode()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    return head + b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


Script = dict[str, bytes]  # request path (without the version) -> the whole answer


def _request_path(head: bytes) -> str:
    """The request line's path, without the query or a ``/v1.NN`` prefix."""
    path = head.split(b" ", 2)[1].decode("latin-1").split("?")[0]
    return "/" + path.split("/", 2)[2] if path.startswith("/v1.") else path


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def _serve(conn: socket.socket, script: Script) -> None:
    buffer = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in buffer:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            length = _content_length(head)
            while len(buffer) < length:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            buffer = buffer[length:]  # a request body is read and not looked at
            answer = script.get(_request_path(head))
            if answer is None:
                answer = b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}"
            conn.sendall(answer)
            # After an upgrade the stream is the answer; a closing answer ends here too.
            if answer.startswith(b"HTTP/1.1 101") or b"Connection: close" in answer:
                conn.shutdown(socket.SHUT_WR)
                return


@contextmanager
def scripted(script: Script) -> Iterator[str]:
    """A loopback HTTP peer that answers each request with ``script``'s bytes for its
    path (404 for others), one ``sendall`` each, so that any two clients read exactly
    the same bytes.  Yields docker-py's base_url."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # so the accept loop sees stop soon
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            threading.Thread(target=_serve, args=(conn, script), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def peer(logs: bytes) -> AbstractContextManager[str]:
    """The bench's peer: ``logs`` for the container's logs, and its inspect answer."""
    base = f"/containers/{CONTAINER}"
    return scripted({f"{base}/logs": logs, f"{base}/json": inspect_answer(CONTAINER, False)})


def _streamed(client: Any) -> int:
    return sum(len(item) for item in client.logs(CONTAINER, stream=True))


def _buffered(client: Any) -> int:
    return len(client.logs(CONTAINER))


CASES: dict[str, Callable[[Any], int]] = {
    "logs(stream=True)": _streamed,
    "logs(stream=False)": _buffered,
}


def measure(size: int, repeat: int) -> list[dict[str, Any]]:
    """Rows: case, contender, bytes, median wall and CPU, and CPU / wall ratios to stock."""
    import docker

    from wireproto.integrations import docker_py

    contenders = {"docker-py": docker.APIClient, "docker-py on wireproto": docker_py.APIClient}
    rows = []
    with peer(logs_answer(size)) as url:
        for case, call in CASES.items():
            walls: dict[str, list[float]] = {name: [] for name in contenders}
            cpus: dict[str, list[float]] = {name: [] for name in contenders}
            sizes: dict[str, int] = {}
            for _ in range(repeat):  # side by side: the contenders take turns
                for name, cls in contenders.items():
                    client = cls(base_url=url, version="1.41")
                    wall, cpu = time.perf_counter(), time.thread_time()
                    sizes[name] = call(client)
                    walls[name].append(time.perf_counter() - wall)
                    cpus[name].append(time.thread_time() - cpu)
                    client.close()
            stock_wall = statistics.median(walls["docker-py"])
            stock_cpu = statistics.median(cpus["docker-py"])
            for name in contenders:
                wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
                row = {"case": case, "contender": name, "bytes": sizes[name],
                       "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                       "cpu_x_stock": round(cpu / stock_cpu, 2),
                       "wall_x_stock": round(wall / stock_wall, 2)}
                rows.append(row)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'case':20} {'contender':24} {'bytes':>10} {'wall s':>7} {'CPU s':>7} "
             f"{'CPU x stock':>11} {'wall x stock':>12}"]
    for r in rows:
        lines.append(f"{r['case']:20} {r['contender']:24} {r['bytes']:>10} {r['wall_s']:>7} "
                     f"{r['cpu_s']:>7} {r['cpu_x_stock']:>11} {r['wall_x_stock']:>12}")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    megabytes = int(argv[0]) if argv else 50
    repeat = int(argv[1]) if len(argv) > 1 else 3
    print(table(measure(megabytes * 1_000_000, repeat)))


if __name__ == "__main__":
    main(sys.argv[1:])
