"""``wireproto serve``: the stub engine as a command (unix socket or loopback TCP)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from wireproto.cli.errors import UsageError
from wireproto.engine import LogSpec, Script, StubEngine
from wireproto.engine.script import MIXES, Container, default_containers
from wireproto.errors import InvalidVersion
from wireproto.versions import ApiVersion, parse

DESCRIPTION = """\
The stub engine: a Docker Engine API peer built from wireproto's own core; nothing
runs on the host and no Docker is needed.

It answers as an engine of any API version from 1.0 to 1.12, or 1.41 (the default),
as --api-version says, and holds state: containers (create, start, attach, logs,
wait, stop, kill, pause, remove; a small interpreter runs cat, echo, printf, sleep
and sh -c '...; exit N'), exec, images (pull, push, tag, build from a Dockerfile,
save, load, commit) and events for all of it. At 1.41 the docker CLI and docker-py
work against it: docker -H unix://PATH run --rm -i busybox cat.

Without --socket or --tcp it listens on a new unix socket in a private temporary
directory ($TMPDIR, else /tmp: wireproto-stub-XXXXXXXX/docker.sock), prints
"listening on unix://..." and removes it at exit (SIGINT or SIGTERM).
"""


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = verbs.add_parser(
        "serve",
        help="run the stub engine (no Docker needed)",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = serve.add_mutually_exclusive_group()
    where.add_argument("--socket", metavar="PATH", help="unix socket to listen on")
    where.add_argument("--tcp", metavar="HOST:PORT", help="loopback address to listen on")
    serve.add_argument(
        "--log-size", type=int, metavar="BYTES", help="output size of the bench container"
    )
    serve.add_argument("--mix", choices=sorted(MIXES), default="line", help="frame-size mix")
    serve.add_argument(
        "--stderr-ratio",
        type=float,
        default=0.3,
        metavar="FRACTION",
        help="share of the bench container's output on stderr, 0 to 1 (default 0.3)",
    )
    serve.add_argument("--tty", action="store_true", help="the bench container has a TTY")
    serve.add_argument("--rate", type=float, help="bytes per second (default: unpaced)")
    serve.add_argument(
        "--running",
        action="store_true",
        help="the bench container is running (logs --follow stays open, attach works)",
    )
    serve.add_argument(
        "--header-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="close a connection whose request head has not arrived in full by then",
    )
    serve.add_argument(
        "--api-version",
        dest="engine_api_version",
        metavar="X.Y",
        default="1.41",
        help="answer as an engine of this API version: 1.0 to 1.12, or 1.41 (the default)",
    )
    serve.set_defaults(handler=run_serve)


def engine_version(text: str) -> ApiVersion:
    """``serve --api-version``'s value; UsageError for a version the stub cannot be."""
    from wireproto.engine.world import VERSIONS

    try:
        version = parse(text)
    except InvalidVersion:
        version = None
    if version not in VERSIONS:
        known = "1.0 to 1.12, or 1.41"
        raise UsageError(f"serve --api-version wants {known}, not {text!r}")
    assert version is not None
    return version


def script_from(args: argparse.Namespace) -> Script:
    """The default containers, plus a ``bench`` container when --log-size is given."""
    containers = list(default_containers())
    if args.log_size is not None:
        spec = LogSpec(
            size=args.log_size, mix=args.mix, stderr_ratio=args.stderr_ratio, rate=args.rate
        )
        bench = Container("b" * 64, "bench", tty=args.tty, output=spec, running=args.running)
        containers.append(bench)
    return Script(containers=tuple(containers))


def run_serve(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    from wireproto.engine.server import SocketPathTaken  # asyncio: only when serving

    tcp = None
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not host or not port.isdigit():
            raise UsageError(f"--tcp wants HOST:PORT, not {args.tcp!r}")
        tcp = (host.strip("[]"), int(port))
    if args.header_timeout <= 0:
        raise UsageError(f"--header-timeout wants seconds > 0, not {args.header_timeout}")
    engine = StubEngine(
        script_from(args),
        api_version=engine_version(args.engine_api_version),
        socket_path=args.socket,
        tcp=tcp,
        header_timeout=args.header_timeout,
    )
    try:
        engine.listen()
    except ValueError as exc:  # not a loopback address
        raise UsageError(str(exc)) from None
    except SocketPathTaken as exc:
        print(f"wireproto: cannot listen on {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"wireproto: cannot listen on {args.tcp or args.socket}: {exc}", file=sys.stderr)
        return 1
    log_to_stderr()
    # SIGTERM stops as SIGINT does: the server removes its own socket on the way out.
    signal.signal(signal.SIGTERM, lambda *_: engine.stop_soon())
    print(f"listening on {engine.host}", flush=True)
    try:
        engine.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        engine.stop()
    sys.stdout.flush()
    return 0


def log_to_stderr() -> None:
    """The engine's log lines (one per client fault) on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("wireproto serve: %(message)s"))
    logger = logging.getLogger("wireproto.engine")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
