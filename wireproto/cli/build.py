"""``wireproto build``: the classic builder's face, as ``DOCKER_BUILDKIT=0 docker build``.

Strategy: the context goes out as a tar stream counted on its way
(:class:`ContextMeter`), which prints docker's "Sending build context to
Docker daemon" line once the last byte is sent; the engine's JSON stream
is then shown as ``docker build`` shows it: ``stream`` text as is, pull
statuses (a ``FROM`` image being pulled) with their layer IDs through the
pull display, and a failing step's ``errorDetail.code`` as the exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import IO

from wireproto.adapters.blocking import Client
from wireproto.api import build as build_api
from wireproto.api.auth import AuthConfig
from wireproto.api.buildcontext import tar_context
from wireproto.api.credentials import Credentials
from wireproto.cli.errors import UsageError
from wireproto.cli.streams import client_for, display_for, run_messages
from wireproto.errors import BuildContextError, BuildError, CredentialsError
from wireproto.http import Call
from wireproto.progress import Progress
from wireproto.versions import ApiVersion

SENDING = "Sending build context to Docker daemon"
REDRAW_EVERY = 0.1  # seconds between redraws of the sending line on a terminal


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    build = verbs.add_parser("build", help="build an image from a directory (or - for a tar)")
    build.add_argument("-t", "--tag", help="name:tag of the image")
    build.add_argument(
        "-f",
        "--file",
        dest="dockerfile",
        help="the Dockerfile (default PATH/Dockerfile); relative to the current directory "
        "and inside the context, as docker build takes it (with - : a name in the tar)",
    )
    build.add_argument(
        "--build-arg",
        action="append",
        default=[],
        metavar="K=V",
        help="a build-time variable (repeatable; K alone takes $K; API 1.21+)",
    )
    build.add_argument(
        "--label", action="append", default=[], metavar="K=V", help="an image label (API 1.23+)"
    )
    build.add_argument("--target", help="the build stage to stop at (API 1.38+)")
    build.add_argument("--forcerm", action="store_true", help="remove containers even on failure")
    build.add_argument("--no-cache", action="store_true", help="do not use the build cache")
    build.add_argument("-q", "--quiet", action="store_true", help="print only the image id")
    build.add_argument("--network", help="network of RUN steps (e.g. none)")
    build.add_argument("path", metavar="PATH")
    build.set_defaults(handler=run_build)


# --- options -----------------------------------------------------------------------------------


def build_args(items: list[str], environ: Mapping[str, str]) -> dict[str, str | None]:
    """``--build-arg`` values as the docker CLI reads them: ``K=V``; ``K`` alone takes
    ``$K`` when set, else None (the engine then uses the Dockerfile's default)."""
    values: dict[str, str | None] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key:
            raise UsageError(f"bad --build-arg {item!r}: expected NAME=VALUE or NAME")
        values[key] = value if sep else environ.get(key)
    return values


def labels(items: list[str]) -> dict[str, str]:
    """``--label`` values: ``K=V``, or ``K`` alone for an empty value (as the docker CLI)."""
    values: dict[str, str] = {}
    for item in items:
        key, _, value = item.partition("=")
        if not key:
            raise UsageError(f"bad --label {item!r}: expected KEY=VALUE")
        values[key] = value
    return values


def dockerfile_in_context(context: str, dockerfile: str | None) -> str | None:
    """``-f`` as the docker CLI resolves it for a directory context: a path from the
    current directory, sent as its path inside the context.

    A Dockerfile that does not exist is an error (exit 1, as docker's "unable to
    prepare context"); one outside the context is refused (docker would splice
    it into the tar under a random name).
    """
    if dockerfile is None:
        return None
    path = os.path.realpath(dockerfile)
    if not os.path.isfile(path):
        raise BuildContextError(f"unable to prepare context: no Dockerfile at {dockerfile}")
    relative = os.path.relpath(path, os.path.realpath(context))
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        raise UsageError(
            f"the Dockerfile {dockerfile} is outside the build context {context}: "
            "move it inside, or pass the context as a tar on stdin (-)"
        )
    return relative.replace(os.sep, "/")


# --- the context on its way --------------------------------------------------------------------


def human_size(size: float) -> str:
    """Go's ``units.HumanSize`` (4 significant digits, powers of 1000), as docker prints sizes."""
    units = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
    index = 0
    while size >= 1000 and index < len(units) - 1:
        size /= 1000
        index += 1
    return f"{size:.4g}{units[index]}"


class ContextMeter:
    """The context's pieces, passed through and counted; docker's sending line at the end.

    As the docker CLI: on a terminal the line is redrawn in place as bytes go;
    elsewhere only the last count is written (``\\r`` then ``\\r\\n``: the
    progress line, then the end of it).
    """

    def __init__(self, pieces: Iterable[bytes], out: IO[str]) -> None:
        self.pieces = pieces
        self.out = out
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        terminal = self.out.isatty()
        shown = 0.0
        for piece in self.pieces:
            self.sent += len(piece)
            if terminal and time.monotonic() - shown >= REDRAW_EVERY:
                self._line("\r")
                shown = time.monotonic()
            yield piece
        self._line("\r\r\n")

    def _line(self, end: str) -> None:
        self.out.write(f"{SENDING} {human_size(self.sent):>8}{end}")
        self.out.flush()


# --- the build ---------------------------------------------------------------------------------


def _context(args: argparse.Namespace) -> tuple[Iterable[bytes], str | None]:
    """The context's pieces and the Dockerfile's name inside it."""
    if args.path == "-":
        return _stdin_tar(), args.dockerfile
    dockerfile = dockerfile_in_context(args.path, args.dockerfile)
    return tar_context(args.path, dockerfile=dockerfile or "Dockerfile"), dockerfile


def _stdin_tar() -> Iterator[bytes]:
    while block := os.read(0, 64 * 1024):
        yield block


def _registry_configs() -> dict[str, AuthConfig]:
    try:
        return Credentials().all()
    except CredentialsError as exc:  # FROM images may be public: build without them
        sys.stderr.write(f"wireproto: warning: no registry credentials for the build: {exc}\n")
        return {}


def run_build(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    buildargs = build_args(args.build_arg, os.environ)
    image_labels = labels(args.label)
    context, dockerfile = _context(args)
    if not args.quiet:
        context = ContextMeter(context, sys.stdout)
    configs = _registry_configs()
    with client_for(args, pinned) as client:
        call = build_api.build(
            context,
            client.api_version,
            tag=args.tag,
            quiet=args.quiet,
            nocache=args.no_cache,
            forcerm=args.forcerm,
            dockerfile=dockerfile,
            networkmode=args.network,
            buildargs=buildargs,
            labels=image_labels,
            target=args.target,
            registry_config=configs or None,
        )
        try:
            show_build(client, call, quiet=args.quiet)
        except BuildError as exc:
            # As the docker CLI: the engine's message, and the failing step's exit code.
            sys.stdout.flush()
            sys.stderr.write(f"wireproto: {exc.message}\n")
            return exc.code or 1
    return 0


def show_build(client: Client, call: Call, *, quiet: bool) -> None:
    """Writes the build's output as ``docker build`` does (``-q``: the image id only)."""
    display = display_for(sys.stdout)
    progress = Progress()
    image_id, wrote = None, False
    for message in run_messages(client, call, BuildError):
        if message.stream is not None:
            # With q=1 the engine's only output is the image id, as a stream.
            display.text(message.stream)
            wrote = True
        elif message.status is not None and not quiet:
            progress.update(message)
            display.show(message, progress)
        aux = message.aux
        if isinstance(aux, dict) and isinstance(aux.get("ID"), str):
            image_id = aux["ID"]
    if quiet and image_id and not wrote:
        print(image_id)
