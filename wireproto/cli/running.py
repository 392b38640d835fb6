"""``wireproto run`` and ``start -a``: create, attach BEFORE start (so no byte is lost),
start, wait; the exit code is the container's, 125 for run's own errors (as docker).

The attach and stdin code is :mod:`wireproto.cli.attach`'s; only the order differs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from wireproto import api
from wireproto.adapters.blocking import Client
from wireproto.api import gates
from wireproto.cli import attach, verbs
from wireproto.cli.streams import client_for
from wireproto.errors import APIError, WireprotoError
from wireproto.versions import ApiVersion

RUN_ERROR = 125  # the docker CLI's code when run itself fails (not the container)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = subparsers.add_parser("run", help="create a container, attach, start, wait")
    run.add_argument("-d", "--detach", action="store_true", help="print the id, do not attach")
    run.add_argument("-i", "--interactive", action="store_true", help="forward stdin")
    run.add_argument("-t", "--tty", action="store_true", help="allocate a TTY")
    run.add_argument("--rm", action="store_true", help="remove the container when it exits")
    run.add_argument("--name", help="the container's name")
    run.add_argument("--network", metavar="NET", help="network mode (none, host, bridge...)")
    run.add_argument(
        "-e",
        "--env",
        action="append",
        default=[],
        metavar="K=V",
        help="set a variable (repeatable; K alone takes $K)",
    )
    run.add_argument("image")
    run.add_argument("command", nargs=argparse.REMAINDER, metavar="CMD...")
    run.set_defaults(handler=run_verb)


def run_verb(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    try:
        client = client_for(args, pinned)
    except WireprotoError as exc:
        sys.stderr.write(f"wireproto: {exc}\n")
        return RUN_ERROR
    with client:
        try:
            container = create(client, args)
        except APIError as exc:
            sys.stderr.write(f"wireproto: Error response from daemon: {exc.message}\n")
            return RUN_ERROR
        if args.detach:
            start(client, container, args)
            print(container)
            return 0
        try:
            return attached(client, container, args.interactive, args.tty, args)
        finally:
            if args.rm:
                client.request(api.remove_container(container, client.api_version, force=True))


def create(client: Client, args: argparse.Namespace) -> str:
    attached_io = not args.detach
    config: dict[str, object] = {
        "Image": args.image,
        "Tty": args.tty,
        "OpenStdin": args.interactive,
        "StdinOnce": args.interactive and attached_io,
        "AttachStdin": args.interactive and attached_io,
        "AttachStdout": attached_io,
        "AttachStderr": attached_io,
        "Env": verbs.exec_env(args.env, os.environ),
        "HostConfig": host_config(args),
    }
    if args.command:
        config["Cmd"] = args.command
    reply = client.request(api.create_container(config, client.api_version, name=args.name))
    document = reply.document
    assert isinstance(document, dict)
    return str(document["Id"])


def host_config(args: argparse.Namespace) -> dict[str, object]:
    return {"NetworkMode": args.network} if args.network else {}


def start(client: Client, container: str, args: argparse.Namespace | None) -> None:
    # Before 1.24 the host config went with start; the engine ignores it in create there.
    config = host_config(args) if args is not None else None
    if not gates.has("containers.start.host_config", client.api_version):
        config = None
    client.request(api.start(container, client.api_version, host_config=config or None))


def attached(
    client: Client, container: str, stdin: bool, tty: bool, args: argparse.Namespace | None
) -> int:
    """Attach, then start, then pump output to its end; the container's exit code."""
    sinks, systemerr = verbs.output_sinks()
    call = api.attach(container, client.api_version, stdin=stdin, tty=tty)
    next_exit = gates.has("wait.condition", client.api_version)
    waiting = None
    # As docker run: without a TTY the signals this process gets go to the container.
    proxy = attach.SignalProxy(client.host, container, client.api_version)
    try:
        with (
            proxy.installed() if not tty else contextlib.nullcontext(),
            client.hijack(call, sinks=sinks) as session,
            verbs.raw_terminal(tty and stdin),
        ):
            if next_exit:  # "not-running" would answer at once for a created container
                waiting = client.begin(
                    api.wait(container, client.api_version, condition="next-exit")
                )
            start(client, container, args)
            if stdin:
                attach.forward_stdin(session, 0, None)
            verbs.pump(session, systemerr, sinks)
        if waiting is None:
            waiting = client.begin(api.wait(container, client.api_version))
        reply = waiting.result()
    finally:
        if waiting is not None:
            waiting.close()
    status = verbs.systemerr_status(systemerr)
    code = reply.document.get("StatusCode") if isinstance(reply.document, dict) else None
    return status or (code if isinstance(code, int) else 1)


def start_attached(args: argparse.Namespace, pinned: ApiVersion | None, container: str) -> int:
    """``start -a``: the container's own stdin/TTY settings, attached before the start."""
    with client_for(args, pinned) as client:
        document = verbs.inspect(client, container)
        tty = bool(verbs.config_value(document, "Tty"))
        return attached(client, container, False, tty, None)
