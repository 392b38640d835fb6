"""``wireproto attach``: a running container's stdio, with docker's signal proxy and detach keys.

Strategy, as ``docker attach``:

- Signals: without a TTY, SIGINT, SIGTERM and the other signals a user sends
  to the command are forwarded to the container (``POST
  /containers/(id)/kill?signal=``) and the command keeps running until the
  container's stream ends: its exit code is the container's.  The handler
  only queues the signal; a thread sends the kill on its own connection, so
  a signal never re-enters the connection the main thread is reading.  With
  a TTY, Ctrl-C is a byte on the terminal's stdin (raw mode), as in docker.
- Detach keys (default ctrl-p,ctrl-q; TTY only, as the engine and the docker
  CLI honour them only there): the engine is told the sequence and ends the
  stream when it reads it on stdin; the stdin forwarder watches for the same
  sequence, so the command knows the end was a detach, not an exit: it does
  not wait for the container and exits 1 saying "read escape sequence", as
  the docker CLI does.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from wireproto import api
from wireproto.adapters.blocking import Client, Session
from wireproto.api import gates
from wireproto.cli import verbs
from wireproto.cli.errors import UsageError
from wireproto.cli.streams import client_for
from wireproto.errors import WireprotoError
from wireproto.versions import ApiVersion

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
ESCAPE_MESSAGE = "read escape sequence"  # the docker CLI's words (term.EscapeError)
# What `docker attach` forwards: every signal a user sends, not those of job control,
# of the terminal's size, or of children (and SIGKILL/SIGSTOP cannot be caught).
PROXIED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM")
_CTRL = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def add_parser(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    attach = verbs.add_parser("attach", help="attach stdin, stdout and stderr to a container")
    attach.add_argument("--no-stdin", action="store_true", help="do not forward stdin")
    attach.add_argument(
        "--sig-proxy",
        nargs="?",
        const=True,
        default=True,
        type=go_bool,
        metavar="BOOL",
        help="forward signals to the container (default true; no TTY only, as docker)",
    )
    attach.add_argument(
        "--detach-keys",
        metavar="KEYS",
        help=f"keys that detach from a TTY container, leaving it running "
        f"(default {DEFAULT_DETACH_KEYS}; sent to the engine from API 1.22)",
    )
    attach.add_argument("container")
    attach.set_defaults(handler=run)


def go_bool(text: str) -> bool:
    """A bool flag's value as Go's strconv.ParseBool reads it (``--sig-proxy=false``)."""
    if text in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if text in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean value {text!r}")


def detach_sequence(keys: str) -> bytes:
    """``ctrl-p,ctrl-q`` as the bytes typed (docker's ``term.ToBytes``): each item is one
    character, or ``ctrl-`` and one of a-z @ [ \\ ] ^ _."""
    codes = bytearray()
    for key in keys.split(","):
        if len(key) == 1 and key.isascii():
            codes.append(ord(key))
            continue
        name = key.lower()[5:] if key.lower().startswith("ctrl-") else ""
        if len(name) == 1 and "a" <= name <= "z":
            codes.append(ord(name) - ord("a") + 1)
        elif len(name) == 1 and name in _CTRL:
            codes.append(_CTRL[name])
        else:
            raise UsageError(f"invalid detach keys {keys!r}: unknown key {key!r}")
    return bytes(codes)


# --- stdin, watched for the detach keys --------------------------------------------------------


class EscapeWatch:
    """Finds ``sequence`` in a byte stream fed piece by piece (split anywhere)."""

    def __init__(self, sequence: bytes) -> None:
        self.sequence = sequence
        self.matched = 0
        self.seen = False

    def feed(self, data: bytes) -> None:
        for byte in data:
            if self.seen:
                return
            if byte == self.sequence[self.matched]:
                self.matched += 1
            else:
                # As the engine: a byte that breaks the sequence restarts it (it may begin one).
                self.matched = 1 if byte == self.sequence[0] else 0
            if self.matched == len(self.sequence):
                self.seen = True


def forward_stdin(session: Session, fd: int, watch: EscapeWatch | None) -> threading.Thread:
    """Copies ``fd`` to the container's stdin in a daemon thread, half-closing at EOF;
    ``watch`` (a TTY session) looks for the detach keys on the way."""

    def copy() -> None:
        try:
            while data := os.read(fd, 65536):
                if watch is not None:
                    watch.feed(data)
                session.send(data)
                if watch is not None and watch.seen:
                    return  # the engine ends the stream; nothing more goes up
            session.close_stdin()
        except OSError as exc:  # the stream closed under us, or stdin failed
            session.stdin_error = exc

    thread = threading.Thread(target=copy, daemon=True)
    thread.start()
    return thread


# --- signals -----------------------------------------------------------------------------------


class SignalProxy:
    """Forwards the signals this process receives to ``container`` (see the module notes)."""

    def __init__(self, host: str | None, container: str, version: ApiVersion | None) -> None:
        self.host = host
        self.container = container
        self.version = version
        self.pending: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._forward, daemon=True)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.pending.put(signum)

    def _forward(self) -> None:
        while (signum := self.pending.get()) is not None:
            name = signal.Signals(signum).name
            value: str | int = name
            if not gates.has("containers.kill.signal_name", self.version):
                value = signum  # before 1.9 the engine takes numbers only
            try:
                with Client(self.host) as client:
                    client.request(api.kill(self.container, self.version, signal=value))
            except (WireprotoError, OSError) as exc:
                sys.stderr.write(f"wireproto: could not forward {name}: {exc}\n")

    @contextmanager
    def installed(self) -> Iterator[None]:
        signals = [getattr(signal, name) for name in PROXIED if hasattr(signal, name)]
        saved = {signum: signal.signal(signum, self._handle) for signum in signals}
        self.thread.start()
        try:
            yield
        finally:
            for signum, handler in saved.items():
                signal.signal(signum, handler)
            self.pending.put(None)
            self.thread.join(5)


# --- the verb ----------------------------------------------------------------------------------


def run(args: argparse.Namespace, pinned: ApiVersion | None) -> int:
    with client_for(args, pinned) as client:
        return run_attach(client, args)


def run_attach(client: Client, args: argparse.Namespace) -> int:
    document = verbs.inspect(client, args.container)
    state = document.get("State")
    if not (isinstance(state, dict) and state.get("Running")):
        sys.stderr.write("wireproto: You cannot attach to a stopped container, start it first\n")
        return 1
    tty = bool(verbs.config_value(document, "Tty"))
    with_stdin = bool(verbs.config_value(document, "OpenStdin")) and not args.no_stdin
    keys = args.detach_keys
    sequence = detach_sequence(keys or DEFAULT_DETACH_KEYS)  # checked even where unused
    watch = EscapeWatch(sequence) if tty and with_stdin else None
    # The wait goes out first, on its own connection, so the exit status is
    # caught even if the container is removed (--rm) as soon as it stops.
    waiting = client.begin(api.wait(args.container, client.api_version))
    call = api.attach(
        args.container, client.api_version, stdin=with_stdin, tty=tty, detach_keys=keys
    )
    proxy = SignalProxy(client.host, args.container, client.api_version)
    sinks, systemerr = verbs.output_sinks()
    try:
        with (
            proxy.installed() if args.sig_proxy and not tty else _nothing(),
            client.hijack(call, sinks=sinks) as session,
            verbs.raw_terminal(tty and with_stdin),
        ):
            if with_stdin:
                forward_stdin(session, 0, watch)
            verbs.pump(session, systemerr, sinks)
        if watch is not None and watch.seen:
            sys.stderr.write(f"{ESCAPE_MESSAGE}\n")
            return 1  # as the docker CLI: the container runs on
        reply = waiting.result()
    finally:
        waiting.close()
    status = verbs.systemerr_status(systemerr)
    code = reply.document.get("StatusCode") if isinstance(reply.document, dict) else None
    return status or (code if isinstance(code, int) else 1)


@contextmanager
def _nothing() -> Iterator[None]:
    yield
