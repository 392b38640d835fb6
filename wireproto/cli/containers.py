"""``ps``, ``inspect``, ``rm``, ``start``, ``stop``, ``wait``, ``top``, ``diff``, ``export``:
thin faces over the catalogue, printing what the docker CLI prints.

Each handler negotiates (or pins) the API version; the catalogue refuses what that version
lacks, and ``Reply.document`` comes in today's shape, so the printing is one code path.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from typing import NamedTuple

from wireproto import api
from wireproto.adapters.blocking import Client
from wireproto.body import Data
from wireproto.cli import tables
from wireproto.cli.streams import client_for
from wireproto.errors import APIError
from wireproto.http import Call
from wireproto.versions import ApiVersion

CHANGE_KINDS = {0: "C", 1: "A", 2: "D"}


def add_parsers(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ps = verbs.add_parser("ps", help="list containers (running ones; -a: all)")
    ps.add_argument("-a", "--all", action="store_true", help="every container, not only running")
    ps.add_argument("-q", "--quiet", action="store_true", help="only the ids")
    ps.set_defaults(handler=ps_verb)
    inspect = verbs.add_parser("inspect", help="containers' or images' JSON, as docker inspect")
    inspect.add_argument("names", nargs="+", metavar="NAME")
    inspect.set_defaults(handler=inspect_verb)
    rm = verbs.add_parser("rm", help="remove containers")
    rm.add_argument("-f", "--force", action="store_true", help="kill a running one first")
    rm.add_argument("-v", "--volumes", action="store_true", help="remove anonymous volumes")
    rm.add_argument("containers", nargs="+", metavar="CONTAINER")
    rm.set_defaults(handler=rm_verb)
    start = verbs.add_parser("start", help="start stopped containers")
    start.add_argument("-a", "--attach", action="store_true", help="attach stdout/stderr")
    start.add_argument("containers", nargs="+", metavar="CONTAINER")
    start.set_defaults(handler=start_verb)
    stop = verbs.add_parser("stop", help="stop running containers")
    stop.add_argument("-t", "--time", type=int, metavar="SECONDS", help="wait before killing")
    stop.add_argument("containers", nargs="+", metavar="CONTAINER")
    stop.set_defaults(handler=stop_verb)
    wait = verbs.add_parser("wait", help="wait for containers to stop; print their codes")
    wait.add_argument("containers", nargs="+", metavar="CONTAINER")
    wait.set_defaults(handler=wait_verb)
    top = verbs.add_parser("top", help="a container's processes")
    top.add_argument("container")
    top.add_argument("ps_args", nargs=argparse.REMAINDER, metavar="PS_OPTIONS")
    top.set_defaults(handler=top_verb)
    diff = verbs.add_parser("diff", help="changes to a container's filesystem (A, C, D)")
    diff.add_argument("container")
    diff.set_defaults(handler=diff_verb)
    export = verbs.add_parser("export", help="a container's filesystem as a tar archive")
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    export.add_argument("container")
    export.set_defaults(handler=export_verb)


def each(names: list[str], action: Callable[[str], object]) -> int:
    """Runs ``action`` on every name, as the docker CLI: an error is reported and the
    others still run; the exit code is 1 if any failed."""
    failed = False
    for name in names:
        try:
            action(name)
        except APIError as exc:
            sys.stderr.write(f"wireproto: Error response from daemon: {exc.message}\n")
            failed = True
    return 1 if failed else 0


# --- ps ----------------------------------------------------------------------------------------

PS_HEADER = ("CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES")


def ps_verb(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    with client_for(args, pinned) as client:
        rows = client.request(api.list_containers(client.api_version, all=args.all)).document
    assert isinstance(rows, list)
    if args.quiet:
        sys.stdout.write("".join(tables.short_id(row.get("Id")) + "\n" for row in rows))
        return 0
    now = time.time()
    table = [PS_HEADER, *(ps_row(row, now) for row in rows)]
    sys.stdout.write(tables.tabulate(table, minwidth=10))
    return 0


def ps_row(row: dict[str, object], now: float) -> tuple[str, ...]:
    image = str(row.get("Image") or "")
    if image.startswith("sha256:"):
        image = tables.short_id(image)
    command = json.dumps(tables.ellipsis(str(row.get("Command") or ""), 20), ensure_ascii=False)
    return (
        tables.short_id(row.get("Id")),
        image,
        command,
        tables.ago(row.get("Created"), now),
        str(row.get("Status") or ""),
        ports(row.get("Ports")),
        first_name(row.get("Names")),
    )


def first_name(names: object) -> str:
    """The first name at the top level (``/web``, not ``/other/link``), as ``docker ps``."""
    for name in names if isinstance(names, list) else []:
        bare = str(name).removeprefix("/")
        if "/" not in bare:
            return bare
    return ""


def ports(rows: object) -> str:
    """The PORTS cell as docker's DisplayablePorts (CLI 20.10, the engine's own) writes it:
    sorted by private port, IP, public port, protocol; ports published on the same port
    number of one host IP, or only exposed, merge into ranges (``0.0.0.0:8000-8002->8000-8002/tcp``,
    ``8080-8081/udp``) per IP and protocol, in the order each first appeared, a range cut
    by a gap shown where the gap comes; ports published on another number come last, one
    by one. Before API 1.5 the engine sent the cell as one string: shown as it is."""
    if isinstance(rows, str):
        return rows
    listed = (
        sorted(Port.of(row) for row in rows if isinstance(row, dict))
        if isinstance(rows, list)
        else []
    )
    groups: dict[str, list[int]] = {}  # key -> [first, last]; dicts keep first insertion
    shown: list[str] = []
    remapped: list[str] = []
    for port in listed:
        key = port.type
        if port.ip:
            if port.public != port.private:
                remapped.append(f"{port.ip}:{port.public}->{port.private}/{port.type}")
                continue
            key = f"{port.ip}/{port.type}"
        group = groups.get(key)
        if group is not None and port.private == (group[1] + 1) & 0xFFFF:  # Go's uint16
            group[1] = port.private
            continue
        if group is not None:
            shown.append(port_group(key, *group))
        groups[key] = [port.private, port.private]
    shown += [port_group(key, first, last) for key, (first, last) in groups.items()]
    return ", ".join(shown + remapped)


class Port(NamedTuple):
    """One row of a container's ``Ports``, in the order docker sorts them."""

    private: int
    ip: str
    public: int
    type: str

    @classmethod
    def of(cls, row: dict[str, object]) -> Port:
        def number(key: str) -> int:
            value = row.get(key)
            return value if isinstance(value, int) else 0

        return cls(
            number("PrivatePort"),
            str(row.get("IP") or ""),
            number("PublicPort"),
            str(row.get("Type") or ""),
        )


def port_group(key: str, first: int, last: int) -> str:
    """docker's formGroup: ``key`` is ``type`` or ``ip/type``."""
    parts = key.split("/")
    ip, kind = (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])
    span = str(first) if first == last else f"{first}-{last}"
    return f"{ip}:{span}->{span}/{kind}" if ip else f"{span}/{kind}"


# --- inspect, rm, start, stop, wait -------------------------------------------------------------


def inspect_verb(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    documents: list[object] = []
    with client_for(args, pinned) as client:
        failed = each(args.names, lambda name: documents.append(inspect_any(client, name)))
    sys.stdout.write(tables.go_json(documents) + "\n")
    return failed


def inspect_any(client: Client, name: str) -> object:
    """A container's document, else an image's (as docker inspect without --type)."""
    try:
        return client.request(api.inspect_container(name, client.api_version)).document
    except APIError as exc:
        if exc.status != 404:
            raise
    try:
        return client.request(api.inspect_image(name, client.api_version)).document
    except APIError as exc:
        if exc.status == 404:
            exc.message = f"No such object: {name}"
        raise


def rm_verb(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    with client_for(args, pinned) as client:

        def remove(name: str) -> None:
            call = api.remove_container(
                name, client.api_version, force=args.force, volumes=args.volumes
            )
            client.request(call)
            print(name, flush=True)

        return each(args.containers, remove)


def start_verb(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    if args.attach:
        from wireproto.cli.running import start_attached

        if len(args.containers) != 1:
            sys.stderr.write("wireproto: you cannot start and attach multiple containers at once\n")
            return 1
        return start_attached(args, pinned, args.containers[0])
    with client_for(args, pinned) as client:

        def start(name: str) -> None:
            client.request(api.start(name, client.api_version))
            print(name, flush=True)

        return each(args.containers, start)


def stop_verb(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    with client_for(args, pinned) as client:

        def stop(name: str) -> None:
            client.request(api.stop(name, client.api_version, timeout=args.time))
            print(name, flush=True)

        return each(args.containers, stop)


def wait_verb(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    with client_for(args, pinned) as client:
        return each(args.containers, lambda name: print(wait_code(client, name), flush=True))


def wait_code(client: Client, name: str) -> int:
    document = client.request(api.wait(name, client.api_version)).document
    code = document.get("StatusCode") if isinstance(document, dict) else None
    return code if isinstance(code, int) else 1


# --- top, diff, export -------------------------------------------------------------------------


def top_verb(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    ps_args = " ".join(args.ps_args) or None
    with client_for(args, pinned) as client:
        call = api.top(args.container, client.api_version, ps_args=ps_args)
        document = client.request(call).document
    assert isinstance(document, dict)
    titles = [str(title) for title in document.get("Titles") or []]
    processes = [[str(cell) for cell in row] for row in document.get("Processes") or []]
    sys.stdout.write(tables.tabulate([titles, *processes], minwidth=20))
    return 0


def diff_verb(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    with client_for(args, pinned) as client:
        rows = client.request(api.changes(args.container, client.api_version)).document
    for row in rows if isinstance(rows, list) else []:
        print(f"{CHANGE_KINDS.get(row.get('Kind'), '?')} {row.get('Path')}")
    return 0


def export_verb(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    with client_for(args, pinned) as client:
        return download(client, api.export(args.container, client.api_version), args.output)


def download(client: Client, call: Call, output: str | None) -> int:
    """A tar body to ``output`` (removed again if this created it and the stream fails),
    or to stdout."""
    if output is None and os.isatty(1):
        sys.stderr.write("wireproto: cowardly refusing to write a tar archive to a terminal\n")
        return 1
    created = output is not None and not os.path.exists(output)
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644) if output else 1
    try:
        for event in client.stream(call):
            if isinstance(event, Data):
                _write_all(fd, event.data)
    except BaseException:
        if output and created:
            os.unlink(output)  # a half archive must not pass for a whole one
        raise
    finally:
        if output:
            os.close(fd)
    return 0


def _write_all(fd: int, data: memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
