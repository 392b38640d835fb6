"""What a stub container runs: a tiny interpreter of a few commands, never the host's (sans-IO).

Strategy: a container's ``Cmd`` (or an exec's) becomes a :class:`Program`
that writes output and exits through an :class:`Io` the world gives it, and
waits through the world's scheduler (``sleep 5`` is a timer, not a blocked
thread).  Known: ``cat`` (stdin back to stdout until EOF), ``echo``,
``printf`` (``%s``, ``\\n``, ``\\t``), ``true``, ``false``, ``sleep N``
(``infinity`` too), ``top`` (runs until stopped), and ``sh -c`` over those
joined by ``;`` or ``&&`` with ``exit N``.  Anything else exits 127 with the
shell's "not found" on stderr.  A terminating signal ends any program with
128 + the signal's number, as a shell reports it.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Protocol

from wireproto import mux
from wireproto.engine.hooks import Cancel

SIGNALS = {"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGKILL": 9, "SIGUSR1": 10, "SIGTERM": 15}
FOREVER = float("inf")


class Io(Protocol):
    """What a program may do: write to a stream, exit, and wait."""

    def write(self, stream: int, data: bytes) -> None: ...

    def exit(self, code: int) -> None: ...

    def later(self, delay: float, callback: Callable[[], None]) -> Cancel: ...


class Program:
    """A running command: ``start`` once, then stdin, its EOF and signals as they come."""

    def __init__(self, io: Io) -> None:
        self.io = io
        self.done = False
        self._timer: Cancel | None = None

    def start(self) -> None:
        self.finish(0)

    def stdin(self, data: bytes) -> None:
        """Input nobody reads is dropped, as a pipe's would be once the reader ignores it."""

    def stdin_eof(self) -> None:
        pass

    def signal(self, number: int) -> None:
        self.finish(128 + number)

    def finish(self, code: int) -> None:
        if self.done:
            return
        self.done = True
        if self._timer is not None:
            self._timer.cancel()
        self.io.exit(code)


class Cat(Program):
    def start(self) -> None:
        pass

    def stdin(self, data: bytes) -> None:
        if not self.done:
            self.io.write(mux.STDOUT, data)

    def stdin_eof(self) -> None:
        self.finish(0)


class Write(Program):
    """echo, printf, true, false, exit N, not found: output then an exit code."""

    def __init__(self, io: Io, stream: int, data: bytes, code: int) -> None:
        super().__init__(io)
        self.stream, self.data, self.code = stream, data, code

    def start(self) -> None:
        if self.data:
            self.io.write(self.stream, self.data)
        self.finish(self.code)


class Sleep(Program):
    def __init__(self, io: Io, seconds: float) -> None:
        super().__init__(io)
        self.seconds = seconds

    def start(self) -> None:
        if self.seconds != FOREVER:
            self._timer = self.io.later(self.seconds, lambda: self.finish(0))


class Sequence(Program):
    """``sh -c 'a; b && c'``: each command after the one before exits (``&&``: if it succeeded)."""

    def __init__(self, io: Io, steps: list[tuple[str, list[str]]]) -> None:
        super().__init__(io)
        self.steps = steps
        self.current: Program | None = None
        self.code = 0

    def start(self) -> None:
        self._next()

    def _next(self) -> None:
        while self.steps:
            joiner, argv = self.steps.pop(0)
            if joiner == "&&" and self.code != 0:
                continue
            if argv and argv[0] == "exit":
                self.finish(_int(argv[1:], 0))
                return
            to_stderr = argv[-1:] == [TO_STDERR]
            self.current = build(argv[:-1] if to_stderr else argv, _Step(self, to_stderr))
            self.current.start()
            return
        self.finish(self.code)

    def stdin(self, data: bytes) -> None:
        if self.current is not None:
            self.current.stdin(data)

    def stdin_eof(self) -> None:
        if self.current is not None:
            self.current.stdin_eof()

    def signal(self, number: int) -> None:
        self.steps.clear()
        if self.current is not None and not self.current.done:
            self.current.done = True
        self.finish(128 + number)

    def step_exited(self, code: int) -> None:
        self.code = code
        if not self.done:
            self._next()


class _Step:
    """A ``Sequence`` step's Io: output goes to the sequence's, its exit starts the next step."""

    def __init__(self, sequence: Sequence, to_stderr: bool = False) -> None:
        self.sequence = sequence
        self.to_stderr = to_stderr  # the step ends with ">&2"

    def write(self, stream: int, data: bytes) -> None:
        self.sequence.io.write(mux.STDERR if self.to_stderr else stream, data)

    def exit(self, code: int) -> None:
        self.sequence.io.later(0, lambda: self.sequence.step_exited(code))

    def later(self, delay: float, callback: Callable[[], None]) -> Cancel:
        return self.sequence.io.later(delay, callback)


def build(argv: list[str], io: Io) -> Program:
    """The program for ``argv`` (an empty one exits 0)."""
    if not argv:
        return Program(io)
    name, args = argv[0].rsplit("/", 1)[-1], argv[1:]
    if name in ("sh", "bash", "ash") and len(args) >= 2 and args[0] == "-c":
        return Sequence(io, parse_script(args[1]))
    if name == "cat" and not args:
        return Cat(io)
    if name == "echo":
        newline = not (args and args[0] == "-n")
        text = " ".join(args[0 if newline else 1 :]) + ("\n" if newline else "")
        return Write(io, mux.STDOUT, text.encode(), 0)
    if name == "printf" and args:
        return Write(io, mux.STDOUT, printf(args[0], args[1:]).encode(), 0)
    if name in ("true", "false"):
        return Write(io, mux.STDOUT, b"", int(name == "false"))
    if name == "sleep" and len(args) == 1:
        return Sleep(io, FOREVER if args[0] == "infinity" else _float(args[0]))
    if name == "top":
        return Sleep(io, FOREVER)
    return Write(io, mux.STDERR, f"sh: {argv[0]}: not found\n".encode(), 127)


def parse_script(script: str) -> list[tuple[str, list[str]]]:
    """``a; b && c`` as [(";", a), (";", b), ("&&", c)]; a script that does not parse: not found."""
    try:
        lexer = shlex.shlex(script, posix=True, punctuation_chars=";&")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        return [(";", [script])]
    steps: list[tuple[str, list[str]]] = []
    joiner = ";"
    words: list[str] = []
    for token in tokens:
        if token in (";", "&&"):
            steps.append((joiner, words))
            joiner, words = token, []
        else:
            words.append(token)
    steps.append((joiner, words))
    return [(j, _redirect(w)) for j, w in steps if w]


# A step's stdout sent to stderr: the only redirection the interpreter knows.
TO_STDERR = ">&2"


def _redirect(words: list[str]) -> list[str]:
    """``echo x >&2`` lexes as [..., ">", "&", "2"] ("&" is punctuation): one word again."""
    if words[-3:] == [">", "&", "2"]:
        return [*words[:-3], TO_STDERR]
    return words


def printf(fmt: str, args: list[str]) -> str:
    escaped = fmt.replace("\\n", "\n").replace("\\t", "\t")
    parts = escaped.split("%s")
    out = parts[0]
    for index, part in enumerate(parts[1:]):
        out += (args[index] if index < len(args) else "") + part
    return out


def signal_number(text: str) -> int | None:
    """``SIGTERM``, ``TERM`` or ``15`` as a number; None when unknown."""
    if text.isdigit():
        return int(text)
    name = text.upper()
    return SIGNALS.get(name if name.startswith("SIG") else "SIG" + name)


def _int(args: list[str], default: int) -> int:
    return int(args[0]) if args and args[0].isdigit() else default


def _float(text: str) -> float:
    try:
        return max(0.0, float(text))
    except ValueError:
        return 0.0
