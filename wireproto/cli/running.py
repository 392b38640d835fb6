"""``wireproto run`` and ``start -a``: create, attach BEFORE start (so no byte is lost),
start, wait; the exit code is the container's, 125 for run's own errors (as docker).

An image the engine lacks is pulled as ``docker run`` pulls it (``--pull missing``, the
default): create answers 404, "Unable to find image 'REF' locally" and the pull's progress
go to stderr (stdout carries only the container's output or id), then create runs again.
``--pull always`` pulls first; ``--pull never`` reports the 404.

The attach and stdin code is :mod:`wireproto.cli.attach`'s; only the order differs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys

from wireproto import api
from wireproto.adapters.blocking import Client
from wireproto.api import gates, registry
from wireproto.api.auth import DOCKER_HUB, Reference, parse_reference
from wireproto.api.credentials import Credentials
from wireproto.cli import attach, verbs
from wireproto.cli.streams import PlainDisplay, TerminalDisplay, client_for, run_messages
from wireproto.errors import (
    APIError,
    LocalProtocolError,
    PullError,
    StreamMessageError,
    WireprotoError,
)
from wireproto.progress import Progress
from wireproto.versions import ApiVersion

RUN_ERROR = 125  # the docker CLI's code when run itself fails (not the container)
PULL_POLICIES = ("always", "missing", "never")
# What docker's ParseAnyReference takes for an image id, not a name: nothing to pull.
IMAGE_ID = re.compile(r"(sha256:)?[0-9a-f]{64}")


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
    run.add_argument(
        "--pull",
        default="missing",
        metavar="POLICY",
        help='pull the image first: "always", "missing" (when absent, the default), "never"',
    )
    run.add_argument("image")
    run.add_argument("command", nargs=argparse.REMAINDER, metavar="CMD...")
    run.set_defaults(handler=run_verb)


def run_verb(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    if args.pull not in PULL_POLICIES:
        choices = ", ".join(f'"{policy}"' for policy in PULL_POLICIES[:-1])
        return run_failed(
            f"invalid pull option: '{args.pull}': must be one of {choices} or \"never\""
        )
    try:
        client = client_for(args, pinned)
    except WireprotoError as exc:
        sys.stderr.write(f"wireproto: {exc}\n")
        return RUN_ERROR
    with client:
        try:
            container = create_pulling(client, args)
        except APIError as exc:
            return run_failed(f"Error response from daemon: {exc.message}")
        except StreamMessageError as exc:
            return run_failed(pull_failure(exc))
        except LocalProtocolError as exc:
            return run_failed(str(exc))
        if args.detach:
            start(client, container, args)
            print(container)
            return 0
        try:
            return attached(client, container, args.interactive, args.tty, args)
        finally:
            if args.rm:
                client.request(api.remove_container(container, client.api_version, force=True))


def run_failed(message: str) -> int:
    """docker's reportError: the message ending in one full stop, and where to get help."""
    text = message.removesuffix(".") + "."
    sys.stderr.write(f"wireproto: {text}\nSee 'wireproto run --help'.\n")
    sys.stderr.flush()
    return RUN_ERROR


def pull_failure(exc: StreamMessageError) -> str:
    """An error inside the pull's stream, as docker's jsonmessage says it (401 by name)."""
    return "authentication is required" if exc.code == 401 else exc.message


def create_pulling(client: Client, args: argparse.Namespace) -> str:
    """create, pulling the image first or on create's 404 as ``--pull`` says."""
    if args.pull == "always":
        pull(client, args.image)
    try:
        return create(client, args)
    except APIError as exc:
        name = familiar_reference(args.image)
        if exc.status != 404 or name is None or args.pull != "missing":
            raise
        sys.stderr.write(f"Unable to find image '{name}' locally\n")
        sys.stderr.flush()
    pull(client, args.image)
    return create(client, args)


def familiar_reference(image: str) -> str | None:
    """The name docker says it could not find (``reference.FamiliarString`` of the name
    with ``latest`` added when it has no tag or digest), None for an image id."""
    if IMAGE_ID.fullmatch(image):
        return None
    name, at, digest = image.partition("@")
    repository, colon, tag = name.rpartition(":")
    if not colon or "/" in tag:
        repository, tag = name, ""
    suffix = f":{tag}" if tag else ""
    suffix += f"@{digest}" if at else ""
    return familiar_name(repository) + (suffix or ":latest")


def familiar_name(repository: str) -> str:
    """Without docker.io/ and library/ (docker's splitDockerDomain, then familiarizeName)."""
    first, slash, rest = repository.partition("/")
    # A first part is a registry when it has "." or ":", is localhost, or has capitals.
    if slash and ("." in first or ":" in first or first == "localhost" or first.lower() != first):
        if first not in (DOCKER_HUB, "index.docker.io"):
            return repository
        repository = rest
    path = repository.split("/")
    return path[1] if len(path) == 2 and path[0] == "library" else repository


def pull(client: Client, image: str) -> None:
    """Pulls ``image`` with the credentials config.json has for its registry, the progress
    on stderr, drawn for a terminal when stdout is one (as docker decides it)."""
    given = parse_reference(image)
    # docker asks for the familiar name (busybox, not docker.io/library/busybox)
    reference = Reference(familiar_name(given.repository), given.tag, given.digest)
    auth = Credentials().get(reference.registry)
    if not gates.has("registry_auth", client.api_version):
        auth = None
    call = registry.pull(reference, client.api_version, auth=auth)
    display = TerminalDisplay(sys.stderr) if sys.stdout.isatty() else PlainDisplay(sys.stderr)
    progress = Progress()
    for message in run_messages(client, call, PullError):
        progress.update(message)
        display.show(message, progress)


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
