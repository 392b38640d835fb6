"""The verbs of the ``wireproto`` command, over the blocking adapter."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone

from wireproto import __version__, api, mux
from wireproto.adapters.blocking import Client, Session
from wireproto.cli.errors import UsageError
from wireproto.cli.output import Collector, FdWriter, same_file, write_pieces
from wireproto.codec.sinks import Writable
from wireproto.exchange import EndOfMessage
from wireproto.versions import ApiVersion

EXEC_EXIT_POLL = 0.05  # seconds between exec inspections while it still runs
EXEC_EXIT_TRIES = 100


def dispatch(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    try:
        client = Client(args.host)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    with client:
        if args.verb == "ping":
            return ping(client, pinned)
        client.negotiate(pinned)
        if args.verb == "version":
            return version(client)
        if args.verb == "logs":
            return logs(client, args)
        return exec_(client, args)
    raise AssertionError(args.verb)


def ping(client: Client, pinned: ApiVersion | None) -> int:
    reply = client.request(api.ping(pinned))
    out = reply.data.decode("utf-8", "replace")
    announced = reply.response.api_version
    print(f"{out} (API version {announced})" if announced else out)
    return 0


def version(client: Client) -> int:
    document = client.request(api.engine_version(client.api_version)).document
    assert isinstance(document, dict)
    used = client.api_version or "engine default"
    lines = [
        f"Client: wireproto {__version__}",
        f" API version:     {used} (negotiated)",
        f" Backend:         {mux.BACKEND}",
        "Server:",
    ]
    for key in ("Version", "ApiVersion", "MinAPIVersion", "GoVersion", "Os", "Arch"):
        if key in document:
            lines.append(f" {key + ':':16} {document[key]}")
    print("\n".join(lines))
    return 0


def inspect(client: Client, container: str) -> dict[str, object]:
    document = client.request(api.inspect_container(container, client.api_version)).document
    assert isinstance(document, dict)
    return document


def config_value(document: dict[str, object], key: str) -> object:
    config = document.get("Config")
    return config.get(key) if isinstance(config, dict) else None


def output_sinks() -> tuple[list[Writable] | None, Collector]:
    """Sinks for container output, or None when stdout and stderr are one file.

    Into one file (``2>&1``), the order of stdout and stderr pieces matters,
    so output goes through ordered events instead of per-stream sinks.
    """
    systemerr = Collector()
    stdout, stderr = FdWriter(1), FdWriter(2)
    if same_file(1, 2):
        return None, systemerr
    # stdin frames (0) go to stdout, as the docker CLI's stdcopy does.
    return [stdout, stdout, stderr, systemerr], systemerr


def logs(client: Client, args: argparse.Namespace) -> int:
    tty = bool(config_value(inspect(client, args.container), "Tty"))
    now = time.time()
    call = api.logs(
        args.container,
        client.api_version,
        follow=args.follow,
        timestamps=args.timestamps,
        tail=args.tail,
        since=timestamp(args.since, now) if args.since else None,
        until=timestamp(args.until, now) if args.until else None,
        tty=tty,
    )
    sinks, systemerr = output_sinks()
    events = client.stream(call, sinks=sinks)  # paced unless it follows: Call.bulk
    if sinks is None:
        write_pieces(events, systemerr)
    else:
        for _ in events:
            pass
    return systemerr_status(systemerr)


def systemerr_status(systemerr: Collector) -> int:
    if systemerr.data:
        message = systemerr.data.decode("utf-8", "replace").strip()
        sys.stderr.write(f"wireproto: error from the engine: {message}\n")
        return 1
    return 0


@contextlib.contextmanager
def raw_terminal(enabled: bool) -> Iterator[None]:
    """Puts the terminal on stdin in raw mode (for a TTY session), restored after."""
    if not enabled or not os.isatty(0):
        yield
        return
    import termios
    import tty

    saved = termios.tcgetattr(0)
    try:
        tty.setraw(0)
        yield
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, saved)


def pump(session: Session, systemerr: Collector, sinks: list[Writable] | None) -> None:
    """Copies a session's output to stdout/stderr until the stream ends."""
    if sinks is None:
        write_pieces(session.events(), systemerr)
    else:
        for event in session.events():
            if isinstance(event, EndOfMessage):
                break


def exec_(client: Client, args: argparse.Namespace) -> int:
    created = client.request(
        api.exec_create(
            args.container,
            args.command,
            client.api_version,
            stdin=args.interactive,
            tty=args.tty,
            env=exec_env(args.env, os.environ),
            user=args.user,
            workdir=args.workdir,
        )
    ).document
    assert isinstance(created, dict)
    exec_id = str(created["Id"])
    sinks, systemerr = output_sinks()
    call = api.exec_start(exec_id, client.api_version, tty=args.tty)
    with client.hijack(call, sinks=sinks) as session, raw_terminal(args.tty and args.interactive):
        if args.interactive:
            session.forward_stdin(0)
        pump(session, systemerr, sinks)
    return systemerr_status(systemerr) or exec_exit_code(client, exec_id)


def exec_env(items: list[str], environ: Mapping[str, str]) -> list[str]:
    """``-e`` values as the docker CLI sends them: ``K=V`` as is; ``K`` alone becomes
    ``K=$K`` when the variable is set here, and stays ``K`` otherwise."""
    values: list[str] = []
    for item in items:
        if not item.partition("=")[0]:
            raise UsageError(f"bad --env {item!r}: expected NAME=VALUE or NAME")
        if "=" not in item and item in environ:
            item = f"{item}={environ[item]}"
        values.append(item)
    return values


def exec_exit_code(client: Client, exec_id: str) -> int:
    """The command's exit code, once the engine has recorded it."""
    for _ in range(EXEC_EXIT_TRIES):
        document = client.request(api.exec_inspect(exec_id, client.api_version)).document
        if isinstance(document, dict) and not document.get("Running"):
            code = document.get("ExitCode")
            return code if isinstance(code, int) else 1
        time.sleep(EXEC_EXIT_POLL)
    sys.stderr.write("wireproto: the command's stream ended but it still runs\n")
    return 1


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION = re.compile(rf"(?:{_DURATION_PART.pattern})+")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def timestamp(value: str, now: float) -> str:
    """A --since/--until value as the engine takes it: Unix seconds.

    As the docker CLI: a Go duration (``42m``, ``1h30m``) counts back from
    now; an RFC 3339 date or date-time (no zone: local time) is converted;
    Unix seconds pass through.
    """
    if _NUMBER.fullmatch(value):
        return value
    if _DURATION.fullmatch(value):
        seconds = sum(float(n) * _UNITS[u] for n, u in _DURATION_PART.findall(value))
        return f"{now - seconds:.9f}"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(
            f"{value!r} is neither a timestamp (RFC 3339, Unix seconds) nor a duration (42m)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # local time, as the docker CLI reads it
    return f"{moment.astimezone(timezone.utc).timestamp():.9f}"
