"""The JSON-stream verbs: ``pull``, ``push``, ``build``, ``events``.

Strategy: the blocking adapter hands out body bytes (Data events); a
:class:`~wireproto.jsonstream.JSONStreamDecoder` turns them into values and
:mod:`wireproto.progress` into typed messages; an in-band error becomes
PullError, PushError or BuildError, which the command reports with the
engine's message (exit 1).  On a terminal, pull and push redraw one line per
layer; otherwise they print one line per status change (no progress ticks).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO

from wireproto.adapters.blocking import Client
from wireproto.api import events as events_api
from wireproto.api import registry
from wireproto.api.auth import DOCKER_HUB, AuthConfig, Reference, parse_reference
from wireproto.api.credentials import Credentials
from wireproto.cli.errors import UsageError
from wireproto.errors import (
    JSONStreamError,
    PullError,
    PushError,
    StreamMessageError,
)
from wireproto.exchange import Data, EndOfMessage
from wireproto.http import Call
from wireproto.jsonstream import JSONStreamDecoder
from wireproto.progress import JSONMessage, Progress, check
from wireproto.versions import ApiVersion

Handler = Callable[[argparse.Namespace, ApiVersion | None], int]


def add_parsers(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the verbs to the ``wireproto`` parser; each sets ``handler``."""
    pull = verbs.add_parser("pull", help="pull an image from a registry")
    pull.add_argument("image", metavar="IMAGE[:TAG]")
    pull.add_argument("-q", "--quiet", action="store_true", help="print only the reference")
    _auth_arguments(pull)
    pull.set_defaults(handler=run_pull)
    push = verbs.add_parser("push", help="push an image to a registry")
    push.add_argument("image", metavar="IMAGE[:TAG]")
    _auth_arguments(push)
    push.set_defaults(handler=run_push)
    events = verbs.add_parser("events", help="engine events, one JSON object a line")
    events.add_argument("--since", metavar="T", help="since a timestamp or relative (42m)")
    events.add_argument("--until", metavar="T", help="until a timestamp or relative (42m)")
    events.add_argument(
        "--filter", action="append", default=[], metavar="K=V", help="e.g. type=container"
    )
    events.set_defaults(handler=run_events)


def _auth_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-u", "--username", help="registry user (default: config.json)")
    parser.add_argument(
        "--password-stdin", action="store_true", help="read the registry password from stdin"
    )


def client_for(args: argparse.Namespace, pinned: ApiVersion | None) -> Client:

    try:
        client = Client(args.host)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    client.negotiate(pinned)
    return client


def credentials(args: argparse.Namespace, registry_name: str) -> AuthConfig | None:
    """``--username`` with the password on stdin, else config.json / credential helpers."""

    if args.password_stdin and not args.username:
        raise UsageError("--password-stdin needs --username")
    if args.username:
        if not args.password_stdin:
            raise UsageError("--username needs --password-stdin (passwords are not arguments)")
        password = sys.stdin.readline().rstrip("\r\n")
        return AuthConfig(username=args.username, password=password, serveraddress=registry_name)
    return Credentials().get(registry_name)


# --- the stream --------------------------------------------------------------------------------


def json_values(events: Iterable[object]) -> Iterator[object]:
    """The JSON values of a JSONSTREAM call's events (values before a bad byte come first)."""
    decoder = JSONStreamDecoder()
    try:
        for event in events:
            if isinstance(event, Data):
                yield from decoder.feed(event.data)
            elif isinstance(event, EndOfMessage):
                yield from decoder.close()
    except JSONStreamError as exc:
        yield from exc.values
        raise


def run_messages(
    client: Client, call: Call, error: type[StreamMessageError]
) -> Iterator[JSONMessage]:
    """The typed messages of ``call``; an in-band error raises ``error``."""
    for value in json_values(client.stream(call)):
        yield check(JSONMessage.from_value(value), error)


# --- display -----------------------------------------------------------------------------------


class PlainDisplay:
    """One line per status change; progress ticks (bytes moving) are not printed."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.last: dict[str, str] = {}

    def show(self, message: JSONMessage, progress: Progress) -> None:
        status = message.status
        if status is None:
            return
        layer_id = message.id
        detail = message.progress_detail
        if detail is not None and detail.current is not None:
            return  # a tick
        if layer_id is not None and self.last.get(layer_id) == status:
            return
        if layer_id is not None:
            self.last[layer_id] = status
        self.out.write(f"{layer_id}: {status}\n" if layer_id else f"{status}\n")
        self.out.flush()

    def text(self, text: str) -> None:
        """Other output between the statuses (a build's steps), as is."""
        self.out.write(text)
        self.out.flush()


class TerminalDisplay:
    """One line per layer, redrawn in place (as ``docker pull`` on a terminal)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.rows: dict[str, int] = {}  # layer id -> line, counted from the first
        self.lines = 0

    def show(self, message: JSONMessage, progress: Progress) -> None:
        status = message.status
        if status is None:
            return
        layer_id = message.id
        if layer_id is None or layer_id not in progress.layers:
            self._append(f"{layer_id}: {status}" if layer_id else status)
            return
        text = f"{layer_id}: {status}"
        layer = progress.layers[layer_id]
        if layer.phase in ("downloading", "pushing", "extracting") and message.progress:
            text += f" {message.progress}"
        row = self.rows.get(layer_id)
        if row is None:
            self.rows[layer_id] = self.lines
            self._append(text)
            return
        up = self.lines - row
        self.out.write(f"\x1b[{up}A\r\x1b[2K{text}\r\x1b[{up}B")
        self.out.flush()

    def text(self, text: str) -> None:
        """Other output between the statuses (a build's steps): counted, so that
        redrawing a layer's line still finds it."""
        self.out.write(text)
        self.lines += text.count("\n")
        self.out.flush()

    def _append(self, text: str) -> None:
        self.out.write(f"\x1b[2K{text}\n")
        self.lines += 1
        self.out.flush()


def display_for(out: IO[str]) -> PlainDisplay | TerminalDisplay:
    return TerminalDisplay(out) if out.isatty() else PlainDisplay(out)


def _transfer(client: Client, call: Call, error: type[StreamMessageError]) -> Progress:
    progress = Progress()
    display = display_for(sys.stdout)
    for message in run_messages(client, call, error):
        progress.update(message)
        display.show(message, progress)
    return progress


def run_pull(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    """As ``docker pull``: the default tag said, the progress, then the full reference."""
    image = parse_reference(args.image)
    if image.tag is None and image.digest is None and not args.quiet:
        print("Using default tag: latest", flush=True)
    auth = credentials(args, image.registry)
    with client_for(args, pinned) as client:
        call = registry.pull(image, client.api_version, auth=auth)
        if args.quiet:
            for _ in run_messages(client, call, PullError):
                pass
        else:
            _transfer(client, call, PullError)
    print(full_reference(image))
    return 0


def full_reference(image: Reference) -> str:
    """The reference as the docker CLI prints it after a pull (``reference.String()`` of
    the normalised name): registry and ``library/`` spelled out, ``latest`` if no tag."""
    name = image.repository
    first, sep, rest = name.partition("/")
    # docker's splitDockerDomain: a first part is a registry if it has "." or ":", is
    # localhost, or has capitals (a repository path never does).
    if not (
        sep and ("." in first or ":" in first or first == "localhost" or first != first.lower())
    ):
        first, rest = DOCKER_HUB, name
    if first == "index.docker.io":
        first = DOCKER_HUB
    if first == DOCKER_HUB and "/" not in rest:
        rest = f"library/{rest}"
    text = f"{first}/{rest}"
    if image.tag or not image.digest:
        text += f":{image.tag or 'latest'}"
    if image.digest:
        text += f"@{image.digest}"
    return text


def run_push(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    return _run_transfer(args, pinned, registry.push, PushError)


def _run_transfer(
    args: argparse.Namespace,
    pinned: ApiVersion | None,
    endpoint: Callable[..., Call],
    error: type[StreamMessageError],
) -> int:
    """Pull or push ``args.image`` with the credentials for its registry."""
    image = parse_reference(args.image)
    auth = credentials(args, image.registry)
    with client_for(args, pinned) as client:
        _transfer(client, endpoint(image, client.api_version, auth=auth), error)
    return 0


# --- events ------------------------------------------------------------------------------------

# Go's encoding/json escapes these (as `docker events --format '{{json .}}'` prints them).
GO_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def go_json(value: object) -> str:
    """``value`` as Go's json.Marshal writes it (compact, HTML characters escaped)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).translate(GO_ESCAPES)


def parse_filters(items: list[str]) -> dict[str, list[str]]:

    filters: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"bad --filter {item!r}: expected KEY=VALUE")
        filters.setdefault(key, []).append(value)
    return filters


def run_events(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    from wireproto.cli.verbs import timestamp

    now = time.time()
    with client_for(args, pinned) as client:
        call = events_api.events(
            client.api_version,
            since=timestamp(args.since, now) if args.since else None,
            until=timestamp(args.until, now) if args.until else None,
            filters=parse_filters(args.filter),
        )
        for value in json_values(client.stream(call)):
            sys.stdout.write(go_json(value) + "\n")
            sys.stdout.flush()
    return 0
