"""The ``wireproto`` command: argument parsing, exit codes, error reporting.

Exit codes (docs/architecture.md): 0 success, 1 an error reported by the engine or the
stream, 2 usage, 3 cannot connect; ``attach`` and ``exec`` exit with the
container's or the command's own code once the stream has run to its end.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from wireproto import __version__, versions
from wireproto.cli.errors import UsageError
from wireproto.errors import APIError, EngineUnreachable, LocalProtocolError, WireprotoError

OK, ERROR, USAGE, UNREACHABLE = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wireproto", description="Speak the Docker Engine API wire protocol."
    )
    parser.add_argument("--version", action="version", version=f"wireproto {__version__}")
    parser.add_argument(
        "-H",
        "--host",
        help="engine address: unix:///path, tcp://host:port or host:port (TCP, as docker "
        "takes it; port 2375 if none; TLS from $DOCKER_TLS_VERIFY and $DOCKER_CERT_PATH) "
        "(default: $DOCKER_HOST, else unix:///var/run/docker.sock)",
    )
    parser.add_argument(
        "--api-version",
        metavar="X.Y",
        help="API version to speak (default: $DOCKER_API_VERSION, else negotiate)",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    verbs.add_parser("ping", help="check that the engine answers (GET /_ping)")
    verbs.add_parser("version", help="the engine's version and the API version in use")
    logs = verbs.add_parser("logs", help="a container's output, byte for byte")
    logs.add_argument("-f", "--follow", action="store_true", help="keep streaming new output")
    logs.add_argument("-t", "--timestamps", action="store_true", help="prefix timestamps")
    logs.add_argument("-n", "--tail", metavar="N", help='lines from the end ("all" or N)')
    logs.add_argument("--since", metavar="T", help="since a timestamp or relative (42m)")
    logs.add_argument("--until", metavar="T", help="until a timestamp or relative (42m)")
    logs.add_argument("container")
    from wireproto.cli import attach  # its own module: signals and detach keys

    attach.add_parser(verbs)
    exec_ = verbs.add_parser("exec", help="run a command in a running container")
    exec_.add_argument("-i", "--interactive", action="store_true", help="forward stdin")
    exec_.add_argument("-t", "--tty", action="store_true", help="allocate a TTY")
    exec_.add_argument(
        "-e",
        "--env",
        action="append",
        default=[],
        metavar="K=V",
        help="set a variable (repeatable; K alone takes $K; API 1.25+)",
    )
    exec_.add_argument("-u", "--user", help="user[:group] to run as (API 1.19+)")
    exec_.add_argument("-w", "--workdir", metavar="DIR", help="working directory (API 1.35+)")
    exec_.add_argument("container")
    exec_.add_argument("command", nargs=argparse.REMAINDER, metavar="CMD...")
    from wireproto.cli import streams  # pull, push, build, events: each sets a handler

    streams.add_parsers(verbs)
    from wireproto.cli import build  # build: the context, the steps, the exit code

    build.add_parser(verbs)
    from wireproto.cli import login  # login, logout: config.json and credential helpers

    login.add_parsers(verbs)
    from wireproto.cli import containers, images, running  # run, ps, images, rm... as docker's

    running.add_parser(verbs)
    containers.add_parsers(verbs)
    images.add_parsers(verbs)
    from wireproto.cli import bench, serve  # the stub engine and the benchmark harness

    serve.add_parser(verbs)
    bench.add_parser(verbs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.verb == "exec" and not args.command:
        parser.error("exec needs a command to run")
    try:
        pinned = versions.parse(args.api_version) if args.api_version else None
        pinned = pinned or versions.from_environment(os.environ)
    except LocalProtocolError as exc:
        parser.error(str(exc))
    return run(args, pinned)


# Verbs that speak to no engine given by -H (the stub engine, the benchmark's own).
NO_ENGINE_VERBS = ("serve", "bench")


def run(args: argparse.Namespace, pinned: versions.ApiVersion | None) -> int:
    from wireproto.cli import hosts, verbs

    try:
        if args.verb not in NO_ENGINE_VERBS:
            args.host = hosts.docker_host(args.host, os.environ)
        handler = getattr(args, "handler", None)
        return handler(args, pinned) if handler is not None else verbs.dispatch(args, pinned)
    except EngineUnreachable as exc:
        report(str(exc))
        return UNREACHABLE
    except UsageError as exc:
        report(str(exc))
        return USAGE
    except APIError as exc:
        report(f"Error response from daemon: {exc.message}")
        return ERROR
    except LocalProtocolError as exc:
        report(str(exc))
        return USAGE
    except BrokenPipeError as exc:
        if stdout_closed():
            raise  # our reader left (`| head`): the entry point ends quietly, as shell tools do
        report(str(exc) or type(exc).__name__)
        return ERROR
    except (WireprotoError, OSError) as exc:
        report(str(exc) or type(exc).__name__)
        return ERROR
    except KeyboardInterrupt:
        return 130


def report(message: str) -> None:
    sys.stderr.write(f"wireproto: {message}\n")
    sys.stderr.flush()


def stdout_closed() -> bool:
    """True when our stdout is a pipe or socket whose reader has gone (writes give EPIPE)."""
    import select

    if not hasattr(select, "poll"):
        return False
    poller = select.poll()
    try:
        poller.register(1, select.POLLOUT)
        events = poller.poll(0)
    except (OSError, ValueError):
        return False
    return any(mask & (select.POLLERR | select.POLLHUP) for _, mask in events)
