"""JSONStreamDecoder: every separator, any split, errors with offsets, bounded memory.

Each behavioural test runs on both JSON parsers (the decoder's two backends:
stdlib ``json`` and ``orjson``) and, through the ``split`` fixture, with the
input fed whole, byte by byte and at random split points.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.support.jsonparsers import INSTALLED, installed
from wireproto import jsonstream
from wireproto.errors import (
    JSONStreamError,
    LocalProtocolError,
    MalformedJSON,
    ObjectTooLarge,
    StreamFailed,
    TruncatedJSON,
)
from wireproto.jsonstream import JSONStreamDecoder

Splitter = Callable[[bytes], list[bytes]]


def decode(data: bytes, split: Splitter, parser: str, **kwargs: int) -> list[object]:
    decoder = JSONStreamDecoder(parser=parser, **kwargs)
    out: list[object] = []
    for piece in split(data):
        out += decoder.feed(piece)
    out += decoder.close()
    return out


def decode_until_error(
    data: bytes, split: Splitter, parser: str, **kwargs: int
) -> tuple[list[object], JSONStreamError]:
    decoder = JSONStreamDecoder(parser=parser, **kwargs)
    out: list[object] = []
    try:
        for piece in split(data):
            out += decoder.feed(piece)
        out += decoder.close()
    except JSONStreamError as exc:
        return out + exc.values, exc
    raise AssertionError(f"no error; decoded {out!r}")


PULL = [
    {"status": "Pulling from library/busybox", "id": "latest"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "a3ed95caeb02"},
    {
        "status": "Downloading",
        "progressDetail": {"current": 32768, "total": 2217434},
        "progress": "[>                                                  ]  32.77kB/2.217MB",
        "id": "a3ed95caeb02",
    },
    {"status": "Digest: sha256:" + "ab" * 32},
    {"stream": "Step 1/2 : FROM busybox\n"},
    {"stream": "caf\u00e9 \u2603 \U0001f433 done\n"},  # 2-, 3- and 4-byte UTF-8
    {"errorDetail": {"code": 3, "message": "failed"}, "error": "failed"},
    {"aux": {"ID": "sha256:" + "cd" * 32}},
]


@pytest.mark.parametrize(
    "separator",
    [b"\n", b"\r\n", b" ", b"\t \r\n ", b""],
    ids=["lf", "crlf", "space", "whitespace", "none"],
)
def test_separators(separator: bytes, split: Splitter, parser: str) -> None:
    data = b"".join(json.dumps(m).encode() + separator for m in PULL)
    assert decode(data, split, parser) == PULL


def test_json_seq_records(split: Splitter, parser: str) -> None:
    data = b"".join(b"\x1e" + json.dumps(m).encode() + b"\n" for m in PULL)
    assert decode(data, split, parser) == PULL


def test_pretty_printed_values(split: Splitter, parser: str) -> None:
    data = b"".join(json.dumps(m, indent=2).encode() for m in PULL)
    assert decode(data, split, parser) == PULL


def test_engine_framing_crlf_per_message(split: Splitter, parser: str) -> None:
    # As dockerd 20.10 sends progress: compact JSON, "\r\n" after each.
    data = b"".join(jsonstream.encode(m) for m in PULL * 20)
    assert decode(data, split, parser) == PULL * 20


def test_top_level_scalars_and_arrays(split: Splitter, parser: str) -> None:
    data = b'1 2.5\n"a\\"b"[1,[2]]true null -3e2{"x":"}"}"{"'
    assert decode(data + b" 42", split, parser) == [
        1,
        2.5,
        'a"b',
        [1, [2]],
        True,
        None,
        -300.0,
        {"x": "}"},
        "{",
        42,
    ]


def test_split_utf8_is_kept_whole(parser: str) -> None:
    message = {"stream": "\u00e9\u2603\U0001f433"}
    data = json.dumps(message, ensure_ascii=False).encode() + b"\n"
    for cut in range(1, len(data)):
        decoder = JSONStreamDecoder(parser=parser)
        assert decoder.feed(data[:cut]) + decoder.feed(data[cut:]) + decoder.close() == [message]


def test_escapes_split_anywhere(split: Splitter, parser: str) -> None:
    values = [{"a": 'x\\"}{\\'}, {"b": "\\\\"}, ['\\u00e9"]']]
    data = b"".join(json.dumps(v).encode() for v in values)
    assert decode(data, split, parser) == values


def test_values_come_out_as_soon_as_complete(parser: str) -> None:
    decoder = JSONStreamDecoder(parser=parser)
    assert decoder.feed(b'{"a":1}{"b"') == [{"a": 1}]  # no separator needed
    assert decoder.feed(b":2}") == [{"b": 2}]
    assert decoder.feed(b"12") == []  # a number needs its delimiter
    assert decoder.feed(b"3 ") == [123]
    assert decoder.close() == []


def test_number_at_end_of_stream(parser: str) -> None:
    decoder = JSONStreamDecoder(parser=parser)
    assert decoder.feed(b"{}\n-12.5") == [{}]
    assert decoder.close() == [-12.5]


def test_empty_and_blank_streams(split: Splitter, parser: str) -> None:
    # (conftest's random_splits cannot split b"": it is fed whole.)
    assert decode(b"", lambda d: [d], parser) == []
    assert decode(b" \r\n\t\x1e\n\n", split, parser) == []


def test_offset_counts_consumed_bytes(parser: str) -> None:
    decoder = JSONStreamDecoder(parser=parser)
    decoder.feed(b'{"a":1}\r\n{"b"')
    assert decoder.offset == 9
    decoder.feed(b":2}\n")
    assert decoder.offset == 17


# --- errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "offset", "reason"),
    [
        (b'{"a":1}\n{"b":tru}\n', 13, "Expecting value"),
        (b'{"a":1}\n{"b":1]\n', 14, "']' where '}' closes"),
        (b'{"a":1}\n]', 8, "unexpected ']'"),
        (b'{"a":1}\n,{}', 8, "unexpected ','"),
        (b'{"a":1}\n#', 8, "unexpected byte 0x23"),
        (b'{"a":1}\n{"b":"\xff"}\n', 14, "invalid UTF-8"),
        (b'{"a":1}{"b":1 2}', 14, "Expecting ',' delimiter"),
        (b'{"a":1}\nNaN\n', 8, "NaN is not JSON"),
        (b'{"a":1} truex', 12, "Extra data"),
        (b'{"a":1}\n{"\xc3\xa9":x}', 14, "Expecting value"),  # offsets in bytes, not chars
    ],
)
def test_malformed_input_says_where(
    data: bytes, offset: int, reason: str, split: Splitter, parser: str
) -> None:
    values, exc = decode_until_error(data, split, parser)
    assert isinstance(exc, MalformedJSON)
    assert values == [{"a": 1}]  # what came before the error is not lost
    assert exc.offset == offset
    assert reason in str(exc)
    assert f"offset {offset}" in str(exc)
    assert exc.excerpt and exc.excerpt in data


def test_decoder_fails_for_good_after_an_error(parser: str) -> None:
    decoder = JSONStreamDecoder(parser=parser)
    with pytest.raises(MalformedJSON):
        decoder.feed(b"]")
    with pytest.raises(StreamFailed):
        decoder.feed(b"{}")
    with pytest.raises(StreamFailed):
        decoder.close()


def test_truncated_value_at_close(split: Splitter, parser: str) -> None:
    values, exc = decode_until_error(b'{"a":1}\r\n{"b":"cut \\', split, parser)
    assert isinstance(exc, TruncatedJSON)
    assert values == [{"a": 1}]
    assert exc.offset == 9


def test_closed_decoder_refuses_more(parser: str) -> None:
    decoder = JSONStreamDecoder(parser=parser)
    decoder.close()
    with pytest.raises(StreamFailed):
        decoder.feed(b"{}")


@pytest.mark.parametrize("separator", [b"\n", b""], ids=["lines", "concatenated"])
def test_max_size(separator: bytes, split: Splitter, parser: str) -> None:
    small = {"a": "x" * 10}
    big = {"b": "y" * 100}
    data = json.dumps(small).encode() + separator + json.dumps(big).encode() + separator
    values, exc = decode_until_error(data, split, parser, max_size=64)
    assert isinstance(exc, ObjectTooLarge)
    assert values == [small]
    assert exc.offset == len(json.dumps(small)) + len(separator)
    assert decode(data, split, parser, max_size=len(json.dumps(big))) == [small, big]


def test_max_size_bounds_memory_without_a_value_end(parser: str) -> None:
    decoder = JSONStreamDecoder(parser=parser, max_size=1000)
    decoder.feed(b'{"a":"')
    with pytest.raises(ObjectTooLarge):
        for _ in range(100):
            decoder.feed(b"z" * 100)
    assert len(decoder._buf) < 2000


def test_many_values_on_one_line_longer_than_max_size(split: Splitter, parser: str) -> None:
    values = [{"i": i} for i in range(200)]
    data = b"".join(json.dumps(v).encode() for v in values) + b"\n"
    assert decode(data, split, parser, max_size=20) == values


@pytest.mark.parametrize(
    "text",
    [
        '{"big":123456789012345678901234567890,"s":"\\ud800"}',
        '{"a":[-9223372036854775809,18446744073709551616,-9223372036854775808]}',
        '{"timeNano":1700000000123456789,"f":1e400}',
    ],
)
def test_parsers_decode_alike(text: str, split: Splitter, parser: str) -> None:
    # orjson is an accelerator only: what it refuses or rounds, the stdlib decides.
    data = (text + "\n" + text).encode()
    assert decode(data, split, parser) == [json.loads(text)] * 2


def test_choose_refuses_unknown_parser() -> None:
    with pytest.raises(ValueError, match="WIREPROTO_JSON"):
        jsonstream.choose("simdjson")
    assert jsonstream.choose("json") == "json"
    assert jsonstream.PARSER in jsonstream.PARSERS


def test_bad_max_size() -> None:
    with pytest.raises(LocalProtocolError):
        JSONStreamDecoder(max_size=0)


# --- linear time ----------------------------------------------------------------


class CountingScans(JSONStreamDecoder):
    """Counts the scanner's work (the bytes from where each scan resumes to the end
    of the buffer) and the bytes handed to the parser, summed over the stream."""

    scanned = 0
    parsed = 0

    def __init__(self, parser: str) -> None:
        super().__init__(parser=parser)
        for name in ("_load", "_fast"):
            loader = getattr(self, name)
            if loader is not None:
                setattr(self, name, self._counted(loader))

    def _counted(self, loader: Callable[[bytes], object]) -> Callable[[bytes], object]:
        def load(data: bytes) -> object:
            self.parsed += len(data)
            return loader(data)

        return load

    def _scan_container(self, buf: bytearray) -> int:
        self.scanned += len(buf) - self._scan
        return super()._scan_container(buf)


def _feed_in_pieces(data: bytes, size: int, parser: str) -> CountingScans:
    decoder = CountingScans(parser)
    out: list[object] = []
    for start in range(0, len(data), size):
        out += decoder.feed(data[start : start + size])
    out += decoder.close()
    assert len(out) == 1
    return decoder


@pytest.mark.parametrize("pretty", [False, True], ids=["one-line", "pretty"])
def test_one_huge_value_trickling_in_is_linear(pretty: bool, parser: str) -> None:
    # docker-py re-parses its whole buffer per chunk: O(n^2).  Here each byte is
    # scanned about once and the value parsed once, whatever the size (counted).
    def value(n: int) -> bytes:
        items = [{"id": i, "status": 'Downloading \\"x\\" {}'} for i in range(n)]
        return json.dumps({"items": items}, indent=1 if pretty else None).encode()

    for data in (value(200), value(2_000)):
        decoder = _feed_in_pieces(data, 7, parser)
        assert 0 < decoder.scanned <= 2 * len(data), (len(data), decoder.scanned)
        assert decoder.parsed <= 2 * len(data), (len(data), decoder.parsed)


def test_the_scan_count_sees_a_rescan(parser: str) -> None:
    """The counter above does catch a scanner that starts again at the value's start."""

    class Rescanning(CountingScans):
        def _scan_container(self, buf: bytearray) -> int:
            self._scan, self._stack, self._in_string = self._start, bytearray(), False
            return super()._scan_container(buf)

    data = json.dumps({"items": list(range(2_000))}).encode()
    assert _feed_in_pieces(data, 7, parser).scanned <= 2 * len(data)
    decoder = Rescanning(parser)
    for start in range(0, len(data), 7):
        decoder.feed(data[start : start + 7])
    assert decoder.scanned > 100 * len(data)


# --- round trip -----------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(), json_values, max_size=5)
SEPARATORS = [b"\n", b"\r\n", b" ", b"", b"\t\n ", b"\x1e"]


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(json_objects, max_size=8),
    separator=st.sampled_from(SEPARATORS),
    json_seq=st.booleans(),
    ascii_only=st.booleans(),
    indent=st.sampled_from([None, 1]),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=12),
    parser=st.sampled_from(INSTALLED),
)
def test_round_trip(
    values: list[dict[str, object]],
    separator: bytes,
    json_seq: bool,
    ascii_only: bool,
    indent: int | None,
    cuts: list[int],
    parser: str,
) -> None:
    prefix = b"\x1e" if json_seq else b""
    data = b"".join(
        prefix + json.dumps(v, ensure_ascii=ascii_only, indent=indent).encode() + separator
        for v in values
    )
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces = [data[a:b] for a, b in zip([0, *points], [*points, len(data)])]
    decoder = JSONStreamDecoder(parser=parser)
    out: list[object] = []
    for piece in pieces:
        out += decoder.feed(piece)
    out += decoder.close()
    assert out == values


class CountingSplits(JSONStreamDecoder):
    """Counts the bytes of every run of lines the fast path splits (its ``_lines``):
    a feed split once is linear; re-split at each resume, quadratic."""

    split_bytes = 0

    @property
    def _lines(self) -> list[bytes]:
        lines: list[bytes] = self.__dict__["_lines"]
        return lines

    @_lines.setter
    def _lines(self, lines: list[bytes]) -> None:
        self.__dict__["_lines"] = lines
        self.split_bytes += sum(map(len, lines))


@pytest.mark.parametrize(
    "line",
    [b'{"a":1}{"b":2}\n', b'{"a":\n1}\n', b'{"a":1}\n\r\n'],
    ids=["two-per-line", "split-over-lines", "blank-lines"],
)
def test_many_lines_off_the_fast_path_are_linear(line: bytes, parser: str) -> None:
    # Each such line sends the fast path to the scanner; resuming must not
    # re-split (or copy) the rest of the feed.  Counted, not timed.
    per_line = len(JSONStreamDecoder(parser=parser).feed(line * 2)) // 2
    for lines, bulk in itertools.product((2_000, 20_000), (True, False)):
        data = line * lines
        decoder = CountingSplits(parser=parser)
        if not bulk:  # the line-by-line path, which the whole-run decoders skip
            decoder.detach()
            decoder._bulk = None
            decoder._quick = lambda region: None
        count = len(decoder.feed(data)) + len(decoder.close())
        assert count == lines * per_line
        assert decoder.split_bytes <= len(data), (lines, decoder.split_bytes)
        assert bulk or decoder.split_bytes > 0  # the lines were split, once


def test_the_split_count_sees_a_resplit(parser: str) -> None:
    """The counter of the test above does catch a fast path that splits the rest again."""
    decoder = CountingSplits(parser=parser)
    data = b'{"a":1}{"b":2}\n' * 100
    decoder.feed(data)
    before = decoder.split_bytes
    decoder._lines = data.split(b"\n")  # what a re-split at one resume would cost
    assert decoder.split_bytes - before >= len(data) - 100


def test_a_value_cut_by_a_read_keeps_later_lines_fast(parser: str) -> None:
    decoder = JSONStreamDecoder(parser=parser)
    data = b"".join(jsonstream.encode({"i": i}) for i in range(1000))
    out = decoder.feed(data[:25])  # cuts the third message
    scanned: list[int] = []
    real = decoder._scan_value

    def spy(out: list[object], *, at_end: bool) -> bool:
        scanned.append(decoder._pos)
        return real(out, at_end=at_end)

    decoder._scan_value = spy  # type: ignore[method-assign]
    out += decoder.feed(data[25:])
    assert out == [{"i": i} for i in range(1000)]
    assert len(scanned) <= 2  # the cut value only, not every later line


# --- the two parsers behave alike, errors included ----------------------------------------------

TOKENS = [
    b"{",
    b"}",
    b"[",
    b"]",
    b'"',
    b"\\",
    b":",
    b",",
    b" ",
    b"\n",
    b"\r\n",
    b"\x1e",
    b'"k"',
    b'"\xc3\xa9"',
    b"\xc3",
    b"\xff",
    b"1",
    b"-",
    b"12345678901234567890",
    b"1e400",
    b".5",
    b"true",
    b"null",
    b"NaN",
    b'{"a":1}',
    b'{"s":"x\\"}"}',
    b"[1,2]",
    b'"\\ud800"',
]


def _outcome(
    data: bytes, cuts: list[int], parser: str, *, bulk: bool = True
) -> tuple[list[object], str, int]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    decoder = JSONStreamDecoder(parser=parser, max_size=64)
    if not bulk:
        decoder.detach()  # no C feeder either
        decoder._bulk = None  # lines and scanner only: the careful path
    out: list[object] = []
    try:
        for a, b in zip([0, *points], [*points, len(data)]):
            out += decoder.feed(data[a:b])
        out += decoder.close()
    except JSONStreamError as exc:
        return out + exc.values, type(exc).__name__, exc.offset
    return out, "", -1


@settings(max_examples=600, deadline=None)
@given(
    tokens=st.lists(st.sampled_from(TOKENS), max_size=30),
    cuts=st.lists(st.integers(min_value=0, max_value=1000), max_size=6),
)
# Too large before it is malformed: whole, the bad closer at byte 81 was seen first.
@example(tokens=[b"{", *[b"12345678901234567890"] * 4, b"]"], cuts=[65])
def test_parsers_and_paths_agree_on_any_input(tokens: list[bytes], cuts: list[int]) -> None:
    # orjson and msgspec are only accelerators, and the bulk path (a feed's
    # lines in one call) only a shortcut: values, error class and error
    # offset are the stdlib parser's careful path's, for good and bad input
    # alike, however it is split.
    data = b"".join(tokens)
    reference = _outcome(data, cuts, "json", bulk=False)
    assert _outcome(data, [], "json", bulk=False) == reference  # the split does not matter
    for parser in INSTALLED:
        assert _outcome(data, cuts, parser) == reference, parser
        assert _outcome(data, cuts, parser, bulk=False) == reference, parser


LINE_TOKENS = [b'{"a":1}', b'"s"', b"[1,2]", b"{}", b"1", b"-2", b"true", b",", b" ", b"\r", b"}"]


@settings(max_examples=400, deadline=None)
@given(
    lines=st.lists(st.lists(st.sampled_from(LINE_TOKENS), max_size=4), max_size=12),
    cut=st.integers(min_value=0, max_value=10_000),
)
def test_bulk_path_agrees_on_mostly_good_lines(lines: list[list[bytes]], cut: int) -> None:
    # Engine-like input (whole values a line) with the odd glued, blank or bad
    # line: where the bulk path does most of its work.
    data = b"\n".join(b"".join(line) for line in lines) + b"\n"
    cuts = [cut]
    reference = _outcome(data, cuts, "json", bulk=False)
    for parser in INSTALLED:
        assert _outcome(data, cuts, parser) == reference, parser


@pytest.mark.parametrize("parser_name", ["json", "msgspec"])
def test_bulk_path_takes_engine_lines(parser_name: str) -> None:
    if not installed(parser_name):
        pytest.skip(f"{parser_name} is not installed")
    bulk = jsonstream.bulk_loader(parser_name)
    assert bulk is not None
    lines = b"".join(jsonstream.encode(m) for m in PULL)
    assert bulk(lines.rstrip(b"\n")) == PULL
    assert bulk(b'{"a":1}\n1-2') is None  # glued scalars: the careful path decides
    assert bulk(b'{"a":1}\n\x1e{}') is None  # json-seq records, too
    assert bulk(b'{"a":1}\n{"b":}') is None


def test_pretty_value_ending_after_the_last_newline(split: Splitter, parser: str) -> None:
    # Found by Hypothesis: the scanner's value ends past the feed's last
    # newline, twice in a row (the line cache must stay in step).
    data = b'{\n "": null\n} {} {} '
    assert decode(data, split, parser) == [{"": None}, {}, {}]


@pytest.mark.parametrize(
    ("first", "second", "offset"),
    [
        (b'{"a":1}\n{"b":[1}', b"]}\n", 15),  # a wrong closer in the line a read cut
        (b'{"a":1}\n{"b":1}}', b"\n", 15),  # a closer with nothing open, after a value
    ],
)
def test_a_fault_in_a_cut_line_is_raised_by_the_feed_that_brings_it(
    first: bytes, second: bytes, offset: int, parser: str
) -> None:
    # A cut line may wait for its newline only when nothing in it would fail:
    # the error comes with the same feed as without waiting, values before it kept.
    decoder = JSONStreamDecoder(parser=parser)
    with pytest.raises(MalformedJSON) as caught:
        decoder.feed(first)
    assert caught.value.offset == offset
    assert caught.value.values[:1] == [{"a": 1}]


def test_whole_lines_after_a_waiting_line_decode_alike(parser: str) -> None:
    # The line a read cut, then feeds of whole lines: the waiting start joins its line.
    decoder = JSONStreamDecoder(parser=parser)
    assert decoder.feed(b'{"a":1}\r\n{"b":{"c"') == [{"a": 1}]
    assert decoder.offset == 9
    assert decoder.feed(b':2}}\r\n{"d":3}\r\n') == [{"b": {"c": 2}}, {"d": 3}]
    assert decoder.feed(b'{"e":"}"') == []  # a brace in a string closes nothing
    assert decoder.feed(b"}\r\n[1,\r\n2]\n") == [{"e": "}"}, [1, 2]]
    assert decoder.offset == 52
    assert decoder.close() == []
