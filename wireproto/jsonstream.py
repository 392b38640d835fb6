"""JSON streams: a sequence of JSON values in bytes split anywhere.

Pull, push, build, events and import answer with concatenated JSON values:
one per line (``\\n`` or ``\\r\\n``, what engines send today), separated by
any whitespace, with no separator at all (``}{``, as old engines sent), or as
``application/json-seq`` records (RFC 7464: RS ``0x1E`` before each value).

Strategy: bytes are kept as bytes until a whole value has arrived, so a UTF-8
character split across chunks is never decoded in halves.  Two paths find
where values end:

* The fast path takes every complete *line* of the buffer and parses each as
  one value (the JSON parser is C: stdlib ``json`` or ``orjson``).  A line that
  parses is one value; this is the engine's format and nearly all the bytes.
* Anything else (a line that does not parse, a value cut by a read, bytes with
  no newline yet) goes through the scanner: it walks the bytes once with two
  regular expressions (structural characters outside strings; quotes and
  backslashes inside) keeping depth and string state between feeds, so a huge
  value trickling in byte by byte costs O(n), never O(n^2) (docker-py re-parses
  its whole buffer per chunk).  When the scanner has the exact extent of a
  value, the parser decodes that slice; the parser's error is the error.

A line that fails the fast path hands the scanner everything up to its end,
so a long line of ``}{``-concatenated values is not re-parsed per value.

With msgspec and the native backend, what an engine sends never reaches
Python code: ``feed`` is the C feeder's (``wireproto._jsonfeed``, built
from native/jsonfeed.c), which hands a line start left waiting plus the
feed's whole lines to msgspec in one call and lets the feed's cut line wait
when ``wp_json_open`` (native/jsonscan.h; ``open_value`` is its Python twin)
proves the scanner would deliver and refuse nothing in it.  Anything else
goes back to the Python path, which takes the state over: the C feeder is
exactly ``_feed_lines`` and ``_tail_waits`` (a differential test holds them
to it), so the two backends decide alike.

Before splitting a feed's lines, the stdlib and msgspec parsers try the
whole run of complete lines in one go (``_bulk_stdlib``, ``_bulk_msgspec``):
one C call for msgspec, one UTF-8 decode and one C scan per value for the
stdlib.  That reads the run with the stream's own rules (values separated by
whitespace or nothing), so it gives exactly what the line and scanner paths
give, as long as every value is an object, array or string: a top-level
scalar (``1-2``, ``truefalse`` glued together) or any error sends the whole
run to the careful path, which delivers the values before an error and says
where it is.  orjson has no multi-value call; joining lines with commas into
one array is not exact (``1,2`` on one line and a value spread over two
lines can make up the count), so orjson parses line by line.

Nesting is limited (``max_depth``, 512 by default): a value nested deeper
raises :class:`~wireproto.errors.NestingTooDeep` at the bracket that goes
past the limit, whatever the parser, because the stdlib and msgspec parsers
recurse once per level and would raise RecursionError near 1000 levels (and
accept what lies between).  No parser is ever handed bytes that could nest
deeper than the limit:

* the scanner counts the depth it already keeps (its stack), so it finds the
  bracket exactly, in linear time, without recursion;
* the line path parses a line directly only when it cannot nest deeper: no
  longer than ``max_depth`` bytes (checked once per feed, for the longest
  line), or with at most ``max_depth`` opening brackets, or with a depth
  measured below the limit by ``may_nest_deeper`` (strings cut out by one
  regular expression, then a running sum over the brackets left, all in C);
  any other line goes to the scanner, which raises the error at its byte;
* the run decoders cannot go deep either: msgspec decodes into a type that
  allows ``BULK_DEPTH`` levels, the stdlib's loop refuses a value longer than
  ``2 * max_depth + 1`` characters (the shortest value nested deeper); a run
  they refuse goes line by line, as above.

A parser that still runs out of stack (a caller already deep in recursion)
gives NestingTooDeep too, never RecursionError.

``PARSER`` says which JSON parser runs: ``msgspec`` or else ``orjson`` when
installed, else the stdlib's ``json``; ``WIREPROTO_JSON=json|orjson|msgspec``
forces one (an unknown value, or a parser forced but missing, is an error).
All accept exactly the same input: what orjson or msgspec refuses is retried
with the stdlib parser, which is the reference (``NaN`` and ``Infinity`` are
refused by all, as JSON has none).
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import re
from collections.abc import Callable, Iterator
from itertools import accumulate
from typing import Any, Union

from wireproto.errors import (
    JSONStreamError,
    LocalProtocolError,
    MalformedJSON,
    NestingTooDeep,
    ObjectTooLarge,
    StreamFailed,
    TruncatedJSON,
)

ENV_VAR = "WIREPROTO_JSON"
PARSERS = ("json", "orjson", "msgspec")
_PREFERRED = ("msgspec", "orjson")  # the default: the first installed, else json

# Largest single JSON value accepted.  Engines send progress messages of a few
# hundred bytes, events of ~1 KiB and build output in pieces of at most 32 KiB
# (a pipe read); a build's `aux` or an import's status is small too.  Go's
# jsonmessage decoder has no limit at all; 16 MiB bounds memory against a
# broken peer while leaving room for any message an engine sends.
MAX_SIZE = 16 * 1024 * 1024
EXCERPT = 24  # bytes shown each side of an error
# Deepest nesting accepted.  Engines send 3 or 4 levels (an event's
# Actor.Attributes); the stdlib and msgspec parsers recurse once per level and
# fail near Python's recursion limit (1000), so the limit stays well below it.
MAX_DEPTH = 512
# Levels the run decoders (msgspec's typed decode) accept: msgspec builds a
# decoder node per union member per level, 2**levels in all, so this stays small.
BULK_DEPTH = 8

# A line cut by a read waits for its newline (the line path, in C) when it is
# at most this long; longer, the scanner takes it at once.  Engine messages
# are far shorter; the bound keeps the one check per line start cheap.
WAIT_LIMIT = 64 * 1024

RS = 0x1E  # RFC 7464 record separator
_SKIP = re.compile(rb"[ \t\r\n\x1e]*")
_STRUCTURAL = re.compile(rb'[\[\]{}"]')
_IN_STRING = re.compile(rb'["\\]')
_SCALAR = re.compile(rb"[-+.0-9A-Za-z]*")
_OPEN = frozenset(b"{[")
_CLOSE = frozenset(b"}]")
_CLOSER = {0x7B: 0x7D, 0x5B: 0x5D}


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


_STDLIB = json.JSONDecoder(parse_constant=_refuse_constant)


def _load_stdlib(data: bytes | bytearray | memoryview) -> object:
    # Strict UTF-8 first: json.loads(bytes) would guess UTF-16/32 from NULs.
    return _STDLIB.decode(str(data, "utf-8"))


def _orjson_loads() -> Callable[[Any], object] | None:
    try:
        import orjson
    except ImportError:
        return None
    loads: Callable[[Any], object] = orjson.loads
    return loads


def _msgspec_decoder() -> Any:
    """msgspec's JSON decoder to plain dicts and lists (unknown fields kept), or None."""
    try:
        import msgspec
    except ImportError:
        return None
    return msgspec.json.Decoder()


_IMPORTS: dict[str, Callable[[], object]] = {
    "orjson": _orjson_loads,
    "msgspec": _msgspec_decoder,
}


def _installed(name: str) -> bool:
    return name == "json" or _IMPORTS[name]() is not None


def choose(value: str | None) -> str:
    """The parser for a WIREPROTO_JSON value (None or "": the fastest installed)."""
    if not value:
        return next((name for name in _PREFERRED if _installed(name)), "json")
    if value not in PARSERS:
        raise ValueError(f"{ENV_VAR}={value!r} is not a parser; valid values: {', '.join(PARSERS)}")
    if not _installed(value):
        raise ImportError(f"{ENV_VAR}={value} but {value} is not installed (pip install {value})")
    return value


PARSER = choose(os.environ.get(ENV_VAR))


# orjson turns integers outside [-2**63, 2**64) into floats, where the stdlib
# keeps them exact: bytes with a digit run that long (20 digits, or "-" and
# 19) go to the stdlib parser.  A false alarm (digits in a string) only costs
# speed.  Found by mapping every digit to "0" and searching for a run, not
# by a regular expression, which backtracks at every digit (figures in
# docs/performance.md).
# "-" maps to "0" too, so one search finds both (a "-" after digits is a
# false alarm, as rare as it is cheap).
_ALL_ZERO = bytes.maketrans(b"-123456789", b"0000000000")
_RUN20 = b"0" * 20


def _risky(data: bytes | bytearray | memoryview) -> bool:
    if len(data) < 20:
        return False
    if isinstance(data, memoryview):
        data = bytes(data)
    return _RUN20 in data.translate(_ALL_ZERO)


# --- nesting depth ------------------------------------------------------------------------------

# A string, to its closing quote or (unterminated) to the end: it never fails
# to match from a quote, so the regular expression never rescans (linear).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*\\?(?:"|\Z)', re.DOTALL)
_NOT_BRACKET = bytes(sorted(set(range(256)) - set(b"[]{}")))
_STEP = [0] * 256
_STEP[0x5B] = _STEP[0x7B] = 1
_STEP[0x5D] = _STEP[0x7D] = -1
_TOKEN = re.compile(_STRING.pattern + rb"|[\[\]{}]", re.DOTALL)


def may_nest_deeper(data: bytes, limit: int) -> bool:
    """False when ``data`` certainly nests no deeper than ``limit`` (no recursion, linear).

    True means it may: over the limit, or bytes that are not JSON and confuse
    the count (the scanner or ``first_too_deep`` then decides).  Up to the
    first byte a parser refuses, the count is exactly the parser's nesting,
    so a parser never recurses deeper than this says.
    """
    if len(data) <= limit or data.count(b"[") + data.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKET)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > limit


def open_value(data: bytes, limit: int) -> bool:
    """True when ``data`` (a line cut by a read) starts an object or array still open
    at its end, with nothing a scanner would deliver or refuse on the way.

    After the separators `` \t\r\x1e`` the first byte is ``{`` or ``[``, no
    ``\n`` follows, every closing bracket outside strings closes one of its own
    kind opened after the first (so the first stays open), and the nesting
    never goes past ``limit``.  The Python twin of native/jsonscan.h's
    ``wp_json_open``: both answer alike for every input (a differential test
    checks it).  Linear, no recursion.
    """
    tail = data.lstrip(b" \t\r\x1e")
    if tail[:1] not in (b"{", b"[") or b"\n" in tail:
        return False
    # With no closing bracket the depth at the end is the deepest: the brackets
    # outside strings, at most all of them and at most every byte.
    if tail.count(b"}") + tail.count(b"]") == 0 and (
        len(tail) <= limit or tail.count(b"{") + tail.count(b"[") <= limit
    ):
        return True
    stack: list[int] = []
    for token in _TOKEN.finditer(tail):
        byte = tail[token.start()]
        if byte in _OPEN:
            stack.append(_CLOSER[byte])
            if len(stack) > limit:
                return False
        elif byte in _CLOSE and (stack.pop() != byte or not stack):
            return False  # the wrong kind, or the first bracket closed
    return True


def first_too_deep(data: bytes, limit: int) -> int:
    """The offset of the first bracket nested deeper than ``limit`` in ``data``, or -1.

    Linear and without recursion; stops at a closing bracket with nothing
    open (a parser stops there too).
    """
    if not may_nest_deeper(data, limit):
        return -1
    depth = 0
    for token in _TOKEN.finditer(data):
        first = data[token.start()]
        if first in _OPEN:
            depth += 1
            if depth > limit:
                return token.start()
        elif first in _CLOSE:
            depth -= 1
            if depth < 0:
                return -1
    return -1


def too_deep(
    data: bytes | bytearray, limit: int, at: int, *, base: int = 0, detail: str = ""
) -> NestingTooDeep:
    """The error for ``data`` (at stream offset ``base``) whose bracket at ``at`` is too deep."""
    excerpt = bytes(data[max(0, at - EXCERPT) : at + EXCERPT])
    return NestingTooDeep(limit, base + at, excerpt, detail)


def check_depth(data: bytes, limit: int = MAX_DEPTH) -> None:
    """Raises NestingTooDeep if ``data`` (one JSON document) nests deeper than ``limit``."""
    at = first_too_deep(data, limit)
    if at >= 0:
        raise too_deep(data, limit, at)


def loaders(parser: str) -> tuple[Callable[[Any], object], Callable[[Any], object] | None]:
    """``(load, fast)`` for ``parser``: ``load(bytes-like) -> value`` raises ValueError
    on bad input; ``fast`` (None for the stdlib) is the raw parser, exact only
    for input without a long digit run (see ``_risky``)."""
    name = choose(parser)
    if name == "json":
        return _load_stdlib, None
    fast: Callable[[Any], object]
    if name == "msgspec":
        fast = _msgspec_decoder().decode
    else:
        found = _orjson_loads()
        assert found is not None
        fast = found

    def load(data: bytes | bytearray | memoryview) -> object:
        if _risky(data):
            return _load_stdlib(data)
        try:
            return fast(data)
        except ValueError:
            # orjson and msgspec refuse some JSON the stdlib takes (lone
            # surrogate escapes, 1e400): the stdlib parser decides.
            return _load_stdlib(data)

    return load, fast


# --- many lines in one call ---------------------------------------------------------------------

Bulk = Callable[[bytes], "list[object] | None"]
# Values that cannot run into their neighbours: a scalar can (``1-2`` is one
# bad token to the scanner, two numbers to a parser that stops at the "-").
_DELIMITED = frozenset((dict, list, str))
_WHITESPACE = re.compile(r"[ \t\r\n]*")
# The decoder's C scanner (set by JSONDecoder.__init__, not in typeshed):
# scan_once(text, index) -> (value, end), StopIteration where no value starts.
_SCAN_ONCE: Callable[[str, int], tuple[object, int]] = _STDLIB.scan_once  # type: ignore[attr-defined]


def _delimited(values: list[object]) -> bool:
    return set(map(type, values)) <= _DELIMITED


def _bulk_stdlib(max_depth: int) -> Bulk:
    # A value nested deeper than max_depth has that many brackets open and
    # closed: one of at most this many characters cannot.
    longest = 2 * max_depth + 1

    def bulk(region: bytes) -> list[object] | None:
        """The values of ``region`` by the stdlib's C scanner, or None for the careful path."""
        try:
            text = str(region, "utf-8")
        except UnicodeDecodeError:
            return None
        skip, scan = _WHITESPACE.match, _SCAN_ONCE
        values: list[object] = []
        append = values.append
        end, size = skip(text).end(), len(text)  # type: ignore[union-attr]
        try:
            while end < size:
                value, stop = scan(text, end)
                if stop - end > longest:
                    return None  # maybe too deep: the line path measures it
                append(value)
                end = skip(text, stop).end()  # type: ignore[union-attr]
        except (StopIteration, ValueError, RecursionError):  # StopIteration: no value here
            return None
        return values if _delimited(values) else None

    return bulk


def bounded_json(levels: int) -> Any:
    """The type of a JSON value nested at most ``levels`` deep, for a typed msgspec decoder."""
    value: Any = Union[str, int, float, bool, None]  # noqa: UP007 (a runtime type, built up)
    for _ in range(levels):
        value = Union[dict[str, value], list[value], str, int, float, bool, None]  # noqa: UP007
    return value


@functools.cache
def _bounded_decoder(levels: int) -> Any:
    import msgspec

    return msgspec.json.Decoder(bounded_json(levels))


def _bulk_msgspec(max_depth: int) -> Bulk:
    # A typed decode stops at the first level past the type's: never deep,
    # never RecursionError.  Deeper values (none from an engine) go line by line.
    decode_lines = _bounded_decoder(min(max_depth, BULK_DEPTH)).decode_lines

    def bulk(region: bytes) -> list[object] | None:
        # decode_lines takes values separated by whitespace or nothing, as the stream does.
        try:
            values: list[object] = decode_lines(region)
        except (ValueError, RecursionError):
            return None
        return values if _delimited(values) else None

    return bulk


def bulk_loader(parser: str, max_depth: int = MAX_DEPTH) -> Bulk | None:
    """``bulk(region) -> values | None`` for ``parser`` (None: it has none, see above).

    It never decodes a value nested deeper than ``max_depth`` (it gives None).
    """
    name = choose(parser)
    if name == "json":
        return _bulk_stdlib(max_depth)
    return _bulk_msgspec(max_depth) if name == "msgspec" else None


def native_feeder() -> Any:
    """The C feeder's class (``wireproto._jsonfeed.Feeder``), or None.

    None with the Python backend (``WIREPROTO_BACKEND=python``) or without
    the built module: the decoders then run ``_feed_lines`` and
    ``_tail_waits`` in Python, which decide alike.
    """
    from wireproto.codec import backend

    if backend.BACKEND != "native":
        return None
    try:
        return importlib.import_module("wireproto._jsonfeed").Feeder
    except ImportError:
        return None


class JSONStreamDecoder:
    """Decodes concatenated JSON values from bytes split anywhere.

    ``feed(data)`` returns the values completed by ``data``, in order;
    ``close()`` says the stream ended (a value cut short raises
    :class:`~wireproto.errors.TruncatedJSON`; a number waiting for its
    delimiter is delivered).  Malformed input raises
    :class:`~wireproto.errors.MalformedJSON`, a value over ``max_size`` bytes
    :class:`~wireproto.errors.ObjectTooLarge`, one nested deeper than
    ``max_depth`` :class:`~wireproto.errors.NestingTooDeep` (at the first
    bracket past the limit, whatever the parser); the error carries the values
    decoded before it (``values``), and any later call raises StreamFailed.
    ``bulk`` replaces the parser's run decoder (see ``_fast_lines``);
    progress.MessageDecoder passes one that gives typed messages.

    With msgspec and the native backend, ``feed`` is the C feeder's
    (``_jsonfeed``): a feed of whole lines, and the line a read cut when it
    may wait, is decoded there with no Python frame; anything else comes
    back to ``_feed_python``, which first takes the state over.
    """

    # Appends ``data``; returns the JSON values it completed.  An attribute,
    # set per decoder: the C feeder's method, or _feed_python.
    feed: Callable[[bytes | bytearray | memoryview], list[object]]

    def __init__(
        self,
        *,
        max_size: int = MAX_SIZE,
        max_depth: int = MAX_DEPTH,
        parser: str | None = None,
        bulk: Bulk | None = None,
    ) -> None:
        if max_size < 1:
            raise LocalProtocolError(f"max_size must be at least 1 byte, not {max_size}")
        if max_depth < 1:
            raise LocalProtocolError(f"max_depth must be at least 1 level, not {max_depth}")
        self.max_size = max_size
        self.max_depth = max_depth
        self.parser = choose(parser) if parser else PARSER
        self._load, self._fast = loaders(self.parser)
        # ``bulk`` replaces the parser's own run decoder (``bulk_loader``): it
        # may hand back objects standing one for one for the values (typed
        # messages, see progress.MessageDecoder), or None for the careful path.
        # Such a decoder also gets each value the scanner delimits first, so
        # that every value comes out of it (a read's last line, cut by the
        # read, is finished by the scanner in the next feed).  It must give
        # None for a value nested deeper than max_depth, as bulk_loader's do.
        self._bulk = bulk if bulk is not None else bulk_loader(self.parser, max_depth)
        self._one = bulk
        self._buf = bytearray()
        self._base = 0  # stream offset of _buf[0]
        self._pos = 0  # next unconsumed byte in _buf
        self._slow_until = 0  # the scanner owns values starting before this index
        # The fast path's lines, split once per feed: lines[_line_i] starts at _line_at.
        self._lines: list[bytes] = []
        self._line_i = 0
        self._line_at = 0
        self._line_iter: Iterator[bytes] = iter(())
        self._load_lines: Callable[[Any], object] = self._load
        self._check_lines = False  # some line is over max_size, or over max_depth bytes
        self._line_end = 0
        # Scanner state for the value in progress (_start >= 0).
        self._start = -1
        self._scan = 0
        self._stack = bytearray()  # the closing brackets the value still owes
        self._in_string = False
        self._error: Exception | None = None
        self._closed = False
        # Open, no error, no value in progress: a feed's whole lines may take _quick.
        self._idle = True
        self._quick: Bulk = self._bulk if self._bulk is not None else self._quick_lines
        # Stream offset of a line start left waiting for its newline (see _tail_waits).
        self._waited = -1
        # The C feeder while it holds the state (see _take_state); set here for the
        # parser's own run decoder, by progress.MessageDecoder for its structs.
        self._feeder: Any = None
        self.feed = self._feed_python
        feeder = native_feeder() if bulk is None and self.parser == "msgspec" else None
        if feeder is not None:
            decoder = _bounded_decoder(min(max_depth, BULK_DEPTH))
            self.attach(
                feeder(
                    self._feed_python,
                    self._feed_tail,
                    decoder.decode,
                    decoder.decode_lines,
                    max_size,
                    max_depth,
                    WAIT_LIMIT,
                    True,
                )
            )

    def attach(self, feeder: Any) -> None:
        """Lets ``feeder`` (a ``_jsonfeed.Feeder`` built on this decoder's run decoder)
        take the whole-line feeds; its slow paths must end in ``_feed_python`` and
        ``_feed_tail``.  Only while idle (as built)."""
        self._feeder = feeder
        self.feed = feeder.feed

    def detach(self) -> None:
        """Everything through Python from now on (the tests' careful-path reference)."""
        self._take_state()
        self._feeder = None
        self.feed = self._feed_python

    def _take_state(self) -> None:
        # The feeder held at most a line start waiting for its newline.
        if self._feeder is not None and self._feeder.active:
            held, self._base, self._waited = self._feeder.take()
            self._buf[:] = held

    def _give_state(self) -> None:
        # Idle: the buffer is empty or a line start that waits (see _run), which
        # is exactly what the feeder may hold.
        if self._feeder is not None and self._idle and not self._feeder.active:
            self._feeder.give(bytes(self._buf), self._base, self._waited)
            self._buf.clear()

    @property
    def offset(self) -> int:
        """Stream offset of the first byte not yet part of a delivered value."""
        if self._feeder is not None and self._feeder.active:
            return int(self._feeder.base)
        return self._base + self._pos

    def _feed_python(self, data: bytes | bytearray | memoryview) -> list[object]:
        """``feed`` without the C feeder (which calls this for what it leaves)."""
        self._take_state()
        if self._idle:
            values = self._feed_lines(data)
            if values is not None:
                self._give_state()
                return values
        self._check_open()
        self._buf += data
        return self._feed_buffered([])

    def _feed_tail(self, values: list[object]) -> list[object]:
        """The C feeder decoded ``values`` and holds a cut line that may not wait:
        the careful path takes that line now, as _feed_lines would."""
        self._take_state()
        return self._feed_buffered(values)

    def _feed_buffered(self, out: list[object]) -> list[object]:
        """The values the buffer completes after ``out`` (the careful path, any input)."""
        try:
            self._run(out, at_end=False)
        except JSONStreamError as exc:
            exc.values = out
            self._error = exc
            self._idle = False
            raise
        self._compact()
        self._give_state()
        return out

    def _feed_lines(self, data: bytes | bytearray | memoryview) -> list[object] | None:
        """What an engine sends: the whole lines of a feed in one C call, or None.

        Taken only with no value in progress (the buffer holds at most a line
        start that waits for its newline, see _tail_waits): the run of lines
        from there to the feed's last newline is what the line path would
        decode first, and ``_quick`` decodes it alike or gives None, leaving
        everything to the careful path as if this had not run.
        """
        chunk = data if type(data) is bytes else bytes(data)
        last = chunk.rfind(b"\n") + 1
        held = len(self._buf)
        if not last or held + last > self.max_size:
            return None
        region = chunk if last == len(chunk) else chunk[:last]
        values = self._quick(bytes(self._buf) + region if held else region)
        if values is None:
            return None
        self._base += held + last
        if held:
            self._buf.clear()
        if last == len(chunk):
            return values
        self._buf += chunk[last:]
        return values if self._tail_waits() else self._feed_buffered(values)

    def _quick_lines(self, region: bytes) -> list[object] | None:
        """Each line of ``region`` (whole lines) parsed as one value, or None at one that is not.

        The line path's rule, for a parser without a run decoder (orjson);
        None also for a line that needs _fast_lines' checks (long ones).
        """
        lines = region.split(b"\n")
        lines.pop()  # the empty piece after the last newline
        if len(region) > self.max_depth and max(map(len, lines)) > self.max_depth:
            return None
        load = self._fast if self._fast is not None and not _risky(region) else self._load
        try:
            return list(map(load, lines))
        except (ValueError, RecursionError):
            return None  # a blank line, several values, or bad: the careful path

    def close(self) -> list[object]:
        """The stream ended: returns a last value (a bare number), or raises TruncatedJSON."""
        self._take_state()
        self._check_open()
        out: list[object] = []
        try:
            self._run(out, at_end=True)
            if self._start >= 0:
                start = self._start
                raise TruncatedJSON(
                    "stream ended inside a JSON value", self._base + start, self._excerpt(start)
                )
        except JSONStreamError as exc:
            exc.values = out
            self._error = exc
            self._idle = False
            raise
        self._closed = True
        self._idle = False
        return out

    def _check_open(self) -> None:
        if self._error is not None:
            raise StreamFailed(self._error)
        if self._closed:
            raise StreamFailed(LocalProtocolError("JSON stream already closed"))

    def _compact(self) -> None:
        # Drop what was consumed, keeping the buffer at most one value (plus a feed).
        self._reset_lines()
        cut = self._pos if self._start < 0 else self._start
        if cut:
            del self._buf[:cut]
            self._base += cut
            self._pos -= cut
            self._scan -= cut
            self._slow_until = max(0, self._slow_until - cut)
            if self._start >= 0:
                self._start -= cut
        self._idle = self._start < 0 and self._slow_until == 0

    # --- the loop ---------------------------------------------------------

    def _run(self, out: list[object], *, at_end: bool) -> None:
        buf = self._buf
        while True:
            if self._start >= 0 or self._pos < self._slow_until:
                if not self._scan_value(out, at_end=at_end):
                    return
                continue
            if self._pos >= len(buf):
                return
            if not self._fast_lines(out):
                if not at_end and self._slow_until <= self._pos and self._tail_waits():
                    return
                # No complete line at _pos, or one that is not a single value.
                self._slow_until = max(self._slow_until, self._pos + 1)
                if not self._begin_value(at_end=at_end):
                    return

    def _fast_lines(self, out: list[object]) -> bool:
        """Parses complete lines from _pos while each is one value; False at one that is not.

        The lines of the buffer are split once per feed and walked by one
        iterator: after the scanner took a line that is not one value, the
        fast path resumes at the next line, never splitting or copying the
        rest again (so a feed costs O(n) however many lines fail).
        """
        pos = self._pos
        lines, it, i, at = self._lines, self._line_iter, self._line_i, self._line_at
        while i < len(lines) and at + len(lines[i]) < pos:  # consumed by the scanner
            next(it)
            at += len(lines[i]) + 1
            i += 1
        self._line_i, self._line_at = i, at  # the iterator moved: keep the index with it
        if i < len(lines) and at < pos:
            # The scanner stopped inside line i: it takes the rest of the line too.
            next(it)
            self._slow_until = at + len(lines[i])
            self._line_i, self._line_at = i + 1, at + len(lines[i]) + 1
            return False
        if i >= len(lines):
            last = self._buf.rfind(b"\n", pos)
            if last < 0:
                return False
            region = bytes(self._buf[pos:last])
            if self._bulk is not None and len(region) <= self.max_size:
                values = self._bulk(region)
                if values is not None:
                    out += values
                    self._pos = last + 1
                    return True
            lines, i, at = region.split(b"\n"), 0, pos
            it = iter(lines)
            self._lines, self._line_iter = lines, it
            self._line_end = last + 1  # where the fast path stands after the last line
            # Per line, not per feed, only when a line is long: the common
            # case pays one C pass over the lines' lengths.
            self._check_lines = len(region) > self.max_size or (
                len(region) > self.max_depth and max(map(len, lines)) > self.max_depth
            )
            self._load_lines = self._load
            if self._fast is not None and not _risky(region):
                self._load_lines = self._fast  # checked once for all the lines
        load = self._load_lines
        while i < len(lines):
            done = len(out)
            try:
                if self._check_lines:
                    for line in it:
                        self._check_line(line)
                        out.append(load(line))
                else:
                    # The hot loop, in C: every line parsed, or a ValueError at
                    # the first that is not one value (those before it are in out).
                    out.extend(map(load, it))
            except (ValueError, RecursionError):
                for line in lines[i : i + len(out) - done]:
                    at += len(line) + 1
                i += len(out) - done  # lines[i] failed; the iterator is past it
                end = at + len(lines[i])
                if not lines[i].strip(b" \t\r\x1e"):
                    at, i = end + 1, i + 1  # a blank line
                    continue
                # Not one value (several, part of one, too long, or bad): the scanner decides.
                self._slow_until = end
                self._pos = at
                self._line_i, self._line_at = i + 1, end + 1
                return False
            at, i = self._line_end, len(lines)
        self._pos = at
        self._reset_lines()
        return True

    def _tail_waits(self) -> bool:
        """True when the bytes from _pos (the start of a line cut by the read) can wait
        for their newline: the line path then takes the whole line in the next feed.

        That gives what the scanner would, at the same feed, only when the scanner
        would deliver and refuse nothing in these bytes (``open_value``) and they
        are not over max_size.  Checked never twice for the same line start: a
        line still without its newline in the next feed goes to the scanner, so
        a value trickling in stays linear.  The native feeder (``_jsonfeed``)
        makes the same check in C for the lines it decodes.
        """
        buf, pos = self._buf, self._pos
        if self._base + pos == self._waited or len(buf) - pos > min(self.max_size, WAIT_LIMIT):
            return False
        if not open_value(bytes(buf[pos:]), self.max_depth):
            return False
        self._waited = self._base + pos
        return True

    def _check_line(self, line: bytes) -> None:
        """ValueError (the scanner's turn) for a line too long or maybe too deep to parse."""
        if len(line) > self.max_size:
            raise ValueError("longer than max_size")
        if len(line) > self.max_depth and may_nest_deeper(line, self.max_depth):
            raise ValueError("maybe nested deeper than max_depth")

    def _reset_lines(self) -> None:
        self._lines, self._line_iter, self._line_i, self._line_at = [], iter(()), 0, 0

    # --- the scanner --------------------------------------------------------

    def _begin_value(self, *, at_end: bool) -> bool:
        """Skips separators to the next value and starts scanning it; False if none yet."""
        buf = self._buf
        pos = _SKIP.match(buf, self._pos).end()  # type: ignore[union-attr]
        self._pos = pos
        if pos >= len(buf):
            self._slow_until = 0
            return False
        first = buf[pos]
        if first in _CLOSE or first in b",:":
            raise self._malformed(pos, f"unexpected {chr(first)!r} where a JSON value starts")
        self._start = pos
        self._in_string = first == 0x22
        self._stack.clear()
        if first in _OPEN:
            self._stack.append(_CLOSER[first])
        # A number or literal is re-matched from its first byte (checked there).
        self._scan = pos if first not in _OPEN and first != 0x22 else pos + 1
        return True

    def _scan_value(self, out: list[object], *, at_end: bool) -> bool:
        """Scans the value in progress; True when it was delivered, False for more data."""
        if self._start < 0 and not self._begin_value(at_end=at_end):
            return False
        buf = self._buf
        start = self._start
        first = buf[start]
        if first in _OPEN or first == 0x22:
            end = self._scan_container(buf)
        else:
            end = self._scan_scalar(buf, at_end=at_end)
        if end < 0:
            if self._scan - start > self.max_size:
                raise self._too_large(start)
            return False
        if end - start > self.max_size:
            raise self._too_large(start)
        out.append(self._decode(start, end))
        self._start = -1
        # Step over the separator, so the fast path resumes at a line start.
        self._pos = _SKIP.match(buf, end).end()  # type: ignore[union-attr]
        return True

    def _scan_container(self, buf: bytearray) -> int:
        """The end of the object, array or string at _start, or -1 (state kept)."""
        scan, stack, in_string = self._scan, self._stack, self._in_string
        size = len(buf)
        stop = self._start + self.max_size + 1  # scanning further is pointless
        while scan < size and scan <= stop:
            if in_string:
                match = _IN_STRING.search(buf, scan)
                if match is None:
                    scan = size
                    break
                at = match.start()
                if buf[at] == 0x5C:  # backslash: skip the escaped byte
                    if at + 1 >= size:
                        scan = at  # look at the backslash again with more data
                        break
                    scan = at + 2
                    continue
                scan = at + 1
                in_string = False
                if not stack:
                    return self._done(scan)
                continue
            # Bounded like the loop: a fault past the size limit must not outrun
            # ObjectTooLarge, which a feed that ended earlier would have raised.
            match = _STRUCTURAL.search(buf, scan, stop + 1)
            if match is None:
                scan = min(size, stop + 1)
                break
            at = match.start()
            byte = buf[at]
            scan = at + 1
            if byte == 0x22:
                in_string = True
            elif byte in _OPEN:
                stack.append(_CLOSER[byte])
                if len(stack) > self.max_depth:
                    raise self._too_deep(at)
            else:
                expected = stack.pop()
                if expected != byte:
                    raise self._malformed(at, f"{chr(byte)!r} where {chr(expected)!r} closes")
                if not stack:
                    return self._done(scan)
        self._scan, self._in_string = scan, in_string
        return -1

    def _done(self, end: int) -> int:
        self._scan, self._in_string = end, False
        return end

    def _scan_scalar(self, buf: bytearray, *, at_end: bool) -> int:
        """The end of the number or literal at _start, or -1 until its delimiter comes."""
        end = _SCALAR.match(buf, self._scan).end()  # type: ignore[union-attr]
        self._scan = end
        if end == self._start:
            raise self._malformed(self._start, f"unexpected byte {buf[end]:#04x}")
        if end >= len(buf) and not at_end:
            return -1
        return end

    # --- decoding and errors ------------------------------------------------

    def _decode(self, start: int, end: int) -> object:
        # The scanner measured the depth: at most max_depth.
        data = self._buf[start:end]
        if self._one is not None:
            values = self._one(bytes(data))
            if values is not None and len(values) == 1:
                return values[0]
        try:
            return self._load(data)
        except ValueError as exc:
            raise self._malformed(start + _error_byte(data, exc), _reason(exc)) from exc
        except RecursionError as exc:
            # Within max_depth, but the caller's stack was already deep.
            detail = f"the {self.parser} parser ran out of Python stack"
            raise self._too_deep(start, detail) from exc

    def _excerpt(self, at: int) -> bytes:
        return bytes(self._buf[max(0, at - EXCERPT) : at + EXCERPT])

    def _malformed(self, at: int, reason: str) -> MalformedJSON:
        return MalformedJSON(f"malformed JSON ({reason})", self._base + at, self._excerpt(at))

    def _too_deep(self, at: int, detail: str = "") -> NestingTooDeep:
        return too_deep(self._buf, self.max_depth, at, base=self._base, detail=detail)

    def _too_large(self, start: int) -> ObjectTooLarge:
        return ObjectTooLarge(
            f"JSON value longer than {self.max_size} bytes (max_size)",
            self._base + start,
            bytes(self._buf[start : start + EXCERPT]),
        )


def _error_byte(data: bytearray, exc: ValueError) -> int:
    """The byte offset in ``data`` that ``exc`` (from the stdlib parser) points at."""
    if isinstance(exc, UnicodeDecodeError):
        return exc.start
    if isinstance(exc, json.JSONDecodeError):
        return len(exc.doc[: exc.pos].encode("utf-8", "surrogatepass"))
    return 0


def _reason(exc: ValueError) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"invalid UTF-8: {exc.reason}"
    if isinstance(exc, json.JSONDecodeError):
        return exc.msg
    return str(exc)


def encode(value: object, separator: bytes = b"\r\n") -> bytes:
    """One value as an engine sends it in a JSON stream (compact JSON + ``separator``)."""
    return json.dumps(value, separators=(",", ":")).encode() + separator
