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

``PARSER`` says which JSON parser runs: ``msgspec`` or else ``orjson`` when
installed, else the stdlib's ``json``; ``WIREPROTO_JSON=json|orjson|msgspec``
forces one (an unknown value, or a parser forced but missing, is an error).
All accept exactly the same input: what orjson or msgspec refuses is retried
with the stdlib parser, which is the reference (``NaN`` and ``Infinity`` are
refused by all, as JSON has none).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from typing import Any

from wireproto.errors import (
    LocalProtocolError,
    MalformedJSON,
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
# speed.  Found by mapping every digit to "0" and searching for a run: a
# regular expression backtracks at every digit and is 50x slower.
_ALL_ZERO = bytes.maketrans(b"123456789", b"000000000")
_RUN20 = b"0" * 20
_NEG19 = b"-" + b"0" * 19


def _risky(data: bytes | bytearray | memoryview) -> bool:
    if len(data) < 20:
        return False
    zeroed = bytes(data).translate(_ALL_ZERO)
    return _RUN20 in zeroed or _NEG19 in zeroed


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


def _bulk_stdlib(region: bytes) -> list[object] | None:
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
            value, end = scan(text, end)
            append(value)
            end = skip(text, end).end()  # type: ignore[union-attr]
    except (StopIteration, ValueError):  # StopIteration: no value starts here
        return None
    return values if _delimited(values) else None


def _bulk_msgspec() -> Bulk:
    decode_lines = _msgspec_decoder().decode_lines

    def bulk(region: bytes) -> list[object] | None:
        # decode_lines takes values separated by whitespace or nothing, as the stream does.
        try:
            values: list[object] = decode_lines(region)
        except ValueError:
            return None
        return values if _delimited(values) else None

    return bulk


def bulk_loader(parser: str) -> Bulk | None:
    """``bulk(region) -> values | None`` for ``parser`` (None: it has none, see above)."""
    name = choose(parser)
    if name == "json":
        return _bulk_stdlib
    return _bulk_msgspec() if name == "msgspec" else None


class JSONStreamDecoder:
    """Decodes concatenated JSON values from bytes split anywhere.

    ``feed(data)`` returns the values completed by ``data``, in order;
    ``close()`` says the stream ended (a value cut short raises
    :class:`~wireproto.errors.TruncatedJSON`; a number waiting for its
    delimiter is delivered).  Malformed input raises
    :class:`~wireproto.errors.MalformedJSON`, a value over ``max_size`` bytes
    :class:`~wireproto.errors.ObjectTooLarge`; the error carries the values
    decoded before it (``values``), and any later call raises StreamFailed.
    ``bulk`` replaces the parser's run decoder (see ``_fast_lines``);
    progress.MessageDecoder passes one that gives typed messages.
    """

    def __init__(
        self, *, max_size: int = MAX_SIZE, parser: str | None = None, bulk: Bulk | None = None
    ) -> None:
        if max_size < 1:
            raise LocalProtocolError(f"max_size must be at least 1 byte, not {max_size}")
        self.max_size = max_size
        self.parser = choose(parser) if parser else PARSER
        self._load, self._fast = loaders(self.parser)
        # ``bulk`` replaces the parser's own run decoder (``bulk_loader``): it
        # may hand back objects standing one for one for the values (typed
        # messages, see progress.MessageDecoder), or None for the careful path.
        # Such a decoder also gets each value the scanner delimits first, so
        # that every value comes out of it (a read's last line, cut by the
        # read, is finished by the scanner in the next feed).
        self._bulk = bulk if bulk is not None else bulk_loader(self.parser)
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
        self._check_sizes = False
        self._line_end = 0
        # Scanner state for the value in progress (_start >= 0).
        self._start = -1
        self._scan = 0
        self._stack = bytearray()  # the closing brackets the value still owes
        self._in_string = False
        self._error: Exception | None = None
        self._closed = False

    @property
    def offset(self) -> int:
        """Stream offset of the first byte not yet part of a delivered value."""
        return self._base + self._pos

    def feed(self, data: bytes | bytearray | memoryview) -> list[object]:
        """Appends ``data``; returns the JSON values it completed."""
        self._check_open()
        self._buf += data
        out: list[object] = []
        try:
            self._run(out, at_end=False)
        except (MalformedJSON, ObjectTooLarge) as exc:
            exc.values = out
            self._error = exc
            raise
        self._compact()
        return out

    def close(self) -> list[object]:
        """The stream ended: returns a last value (a bare number), or raises TruncatedJSON."""
        self._check_open()
        out: list[object] = []
        try:
            self._run(out, at_end=True)
            if self._start >= 0:
                start = self._start
                raise TruncatedJSON(
                    "stream ended inside a JSON value", self._base + start, self._excerpt(start)
                )
        except (MalformedJSON, ObjectTooLarge, TruncatedJSON) as exc:
            exc.values = out
            self._error = exc
            raise
        self._closed = True
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
            self._check_sizes = len(region) > self.max_size
            self._load_lines = self._load
            if self._fast is not None and not _risky(region):
                self._load_lines = self._fast  # checked once for all the lines
        load = self._load_lines
        while i < len(lines):
            done = len(out)
            try:
                if self._check_sizes:
                    for line in it:
                        if len(line) > self.max_size:
                            raise ValueError("longer than max_size")
                        out.append(load(line))
                else:
                    # The hot loop, in C: every line parsed, or a ValueError at
                    # the first that is not one value (those before it are in out).
                    out.extend(map(load, it))
            except ValueError:
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
            match = _STRUCTURAL.search(buf, scan)
            if match is None:
                scan = size
                break
            at = match.start()
            byte = buf[at]
            scan = at + 1
            if byte == 0x22:
                in_string = True
            elif byte in _OPEN:
                stack.append(_CLOSER[byte])
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
        data = self._buf[start:end]
        if self._one is not None:
            values = self._one(bytes(data))
            if values is not None and len(values) == 1:
                return values[0]
        try:
            return self._load(data)
        except ValueError as exc:
            raise self._malformed(start + _error_byte(data, exc), _reason(exc)) from exc

    def _excerpt(self, at: int) -> bytes:
        return bytes(self._buf[max(0, at - EXCERPT) : at + EXCERPT])

    def _malformed(self, at: int, reason: str) -> MalformedJSON:
        return MalformedJSON(f"malformed JSON ({reason})", self._base + at, self._excerpt(at))

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
