"""Deep JSON: a nesting limit (``max_depth``) that every parser and every path honours.

Each case runs on every installed parser (stdlib json, orjson, msgspec) and,
through the ``split`` fixture, fed whole, byte by byte and at random splits;
the expected values and error offsets are computed here from the input, so
all parsers give the same values and the same typed error at the same byte.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

import pytest

from wireproto.body import document
from wireproto.errors import (
    JSONStreamError,
    LocalProtocolError,
    MalformedMessage,
    NestingTooDeep,
    StreamFailed,
)
from wireproto.http import Response, api_error, error_message
from wireproto.jsonstream import MAX_DEPTH, JSONStreamDecoder, first_too_deep, may_nest_deeper
from wireproto.progress import EngineEvent, JSONMessage, MessageDecoder

Splitter = Callable[[bytes], list[bytes]]
BEFORE = b'{"a":1}\r\n{"b":[2]}\n'
AFTER = b'\n{"c":3}\n'


# --- deep values and where they go too deep -----------------------------------------------------


def array(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def obj(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def mixed(depth: int) -> bytes:
    opens = [b'{"k":' if level % 2 else b"[" for level in range(depth)]
    closes = [b"}" if level % 2 else b"]" for level in reversed(range(depth))]
    return b"".join(opens) + b'"x"' + b"".join(closes)


def string_decoy(depth: int) -> bytes:
    """Brackets in strings (with escaped quotes) do not count; the value is ``depth`` deep."""
    decoy = b'"]]]\\"}}}\\\\"'  # closes nothing: a string, an escaped quote, an escaped backslash
    return b"[" + decoy + b"," + array(depth - 1) + b"]"


SHAPES = {"array": array, "object": obj, "mixed": mixed, "string_decoy": string_decoy}


def opener_offset(data: bytes, level: int) -> int:
    """The offset of the bracket opening ``level`` (1-based) outside strings, computed plainly."""
    depth, in_string, escaped = 0, False, False
    for at, byte in enumerate(data):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in b"[{":
            depth += 1
            if depth == level:
                return at
        elif byte in b"]}":
            depth -= 1
    raise AssertionError(f"no level {level}")


def feed_all(
    decoder: JSONStreamDecoder | MessageDecoder, data: bytes, split: Splitter
) -> list[object]:
    out: list[object] = []
    for piece in split(data):
        out += decoder.feed(piece)
    out += decoder.close()
    return out


def feed_until_error(
    decoder: JSONStreamDecoder | MessageDecoder, data: bytes, split: Splitter
) -> tuple[list[object], Exception]:
    out: list[object] = []
    try:
        for piece in split(data):
            out += decoder.feed(piece)
        out += decoder.close()
    except (JSONStreamError, MalformedMessage) as exc:
        return out + exc.values, exc
    raise AssertionError(f"no error; decoded {len(out)} values")


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, MAX_DEPTH])
def test_within_the_limit_decodes(shape: str, depth: int, parser: str, split: Splitter) -> None:
    deep = SHAPES[shape](depth)
    data = BEFORE + deep + AFTER
    expected = [{"a": 1}, {"b": [2]}, json.loads(deep), {"c": 3}]
    assert feed_all(JSONStreamDecoder(parser=parser), data, split) == expected


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 600, 1000, 100_000])
def test_past_the_limit_raises_with_the_values_before(
    shape: str, depth: int, parser: str, split: Splitter
) -> None:
    data = BEFORE + SHAPES[shape](depth) + AFTER
    if split.__name__ == "byte_by_byte" and depth > 1000:
        data = data[: len(BEFORE) + 4 * MAX_DEPTH * 6]  # the error comes long before the end
    decoder = JSONStreamDecoder(parser=parser)
    values, error = feed_until_error(decoder, data, split)
    assert values == [{"a": 1}, {"b": [2]}]
    assert isinstance(error, NestingTooDeep)
    assert error.offset == len(BEFORE) + opener_offset(SHAPES[shape](depth), MAX_DEPTH + 1)
    assert error.max_depth == MAX_DEPTH
    assert "nested deeper than 512 levels" in str(error)
    assert len(repr(error)) < 300
    # Failed as after any malformed value: the next call says so, with the cause.
    with pytest.raises(StreamFailed) as failed:
        decoder.feed(b'{"d":4}\n')
    assert failed.value.cause is error


@pytest.mark.parametrize("limit", [1, 2, 7, 8, 9, 40])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_max_depth_is_settable(limit: int, shape: str, parser: str, split: Splitter) -> None:
    ok = SHAPES[shape](limit) if shape != "string_decoy" or limit > 1 else b'"[["'
    assert feed_all(JSONStreamDecoder(parser=parser, max_depth=limit), ok + b"\n", split) == [
        json.loads(ok)
    ]
    deep = SHAPES[shape](limit + 1)
    decoder = JSONStreamDecoder(parser=parser, max_depth=limit)
    values, error = feed_until_error(decoder, BEFORE + deep + AFTER, split)
    assert isinstance(error, NestingTooDeep)
    if limit == 1:  # {"b":[2]} is 2 deep
        assert values == [{"a": 1}]
        assert error.offset == BEFORE.index(b"[")
    else:
        assert values == [{"a": 1}, {"b": [2]}]
        assert error.offset == len(BEFORE) + opener_offset(deep, limit + 1)


def test_max_depth_below_one_is_refused() -> None:
    with pytest.raises(LocalProtocolError):
        JSONStreamDecoder(max_depth=0)
    with pytest.raises(LocalProtocolError):
        MessageDecoder(max_depth=0)


def test_many_feeds_of_short_lines_past_the_limit(parser: str) -> None:
    """One line per read (as engines flush), each too short alone: the scanner keeps the depth."""
    decoder = JSONStreamDecoder(parser=parser)
    assert decoder.feed(b'{"a":1}\n') == [{"a": 1}]
    with pytest.raises(NestingTooDeep) as caught:
        for _ in range(MAX_DEPTH + 1):
            assert decoder.feed(b"[\n") == []
    assert caught.value.offset == 8 + 2 * MAX_DEPTH


def test_pretty_printed_deep_value_in_one_read(parser: str) -> None:
    """A deep value spread over short lines, in one read, goes past the run decoders too."""
    deep = b"[\n" * 600 + b"]\n" * 600
    decoder = JSONStreamDecoder(parser=parser)
    with pytest.raises(NestingTooDeep) as caught:
        decoder.feed(BEFORE + deep + AFTER)
    assert caught.value.values == [{"a": 1}, {"b": [2]}]
    assert caught.value.offset == len(BEFORE) + 2 * MAX_DEPTH


@pytest.mark.parametrize("length", [100_000, 1_000_000])
def test_brackets_inside_strings_do_not_count(length: int, parser: str) -> None:
    strings = [
        b'"' + b"[" * length + b'"',
        b'{"s":"' + b"{" * length + b'\\"' + b"[" * 10 + b'"}',
        b'["\\\\", "' + b"[{" * (length // 2) + b'"]',
    ]
    data = b"\n".join(strings) + b"\n"
    assert JSONStreamDecoder(parser=parser).feed(data) == [json.loads(s) for s in strings]


def test_engine_lines_with_many_brackets_decode(parser: str, split: Splitter) -> None:
    """Lines longer than the limit with more brackets than it, all shallow: no false alarm."""
    lines = [json.dumps({"aux": [[i] for i in range(600)], "id": "x"}).encode()] * 3
    lines.append(json.dumps([{"a": [1, {"b": "[[[["}]}] * 300).encode())
    data = b"\r\n".join(lines) + b"\r\n"
    assert feed_all(JSONStreamDecoder(parser=parser), data, split) == [
        json.loads(line) for line in lines
    ]


def test_deep_value_in_a_long_run_of_engine_lines(parser: str) -> None:
    """A 64 KiB read of progress lines with one deep line in the middle (the run decoders' case)."""
    line = b'{"status":"Downloading","progressDetail":{"current":1,"total":2},"id":"l"}\r\n'
    head = line * 400
    data = head + b'{"status":"x","aux":' + array(700) + b"}\r\n" + line * 400
    for cls in (JSONStreamDecoder, MessageDecoder):
        decoder = cls(parser=parser)
        with pytest.raises(NestingTooDeep) as caught:
            decoder.feed(data)
        assert len(caught.value.values) == 400
        assert caught.value.offset == len(head) + len(b'{"status":"x","aux":') + MAX_DEPTH - 1


def test_deeper_than_the_run_decoders_but_within_the_limit(parser: str, split: Splitter) -> None:
    """msgspec's typed runs stop at BULK_DEPTH levels: deeper values still decode, and type."""
    aux = {"a": [[[[[[[[[["deep"]]]]]]]]]]}
    values: list[object] = [{"aux": aux, "status": "s"}, {"status": "t"}]
    data = b"".join(json.dumps(v).encode() + b"\n" for v in values) * 50
    assert feed_all(JSONStreamDecoder(parser=parser), data, split) == values * 50
    messages = feed_all(MessageDecoder(parser=parser), data, split)
    assert [m.raw for m in messages] == values * 50  # type: ignore[attr-defined]
    assert messages[0].aux == aux  # type: ignore[attr-defined]


def test_message_decoder_past_the_limit(parser: str, split: Splitter) -> None:
    deep = b'{"status":"x","aux":' + obj(MAX_DEPTH) + b"}"  # one more level than the limit
    decoder = MessageDecoder(parser=parser)
    values, error = feed_until_error(decoder, BEFORE + deep + AFTER, split)
    assert isinstance(error, NestingTooDeep)
    assert [m.raw for m in values] == [{"a": 1}, {"b": [2]}]  # type: ignore[attr-defined]
    assert all(isinstance(m, JSONMessage) for m in values)
    assert error.offset == len(BEFORE) + opener_offset(deep, MAX_DEPTH + 1)
    with pytest.raises(StreamFailed):
        decoder.feed(b"{}\n")


def test_no_recursion_error_from_a_deep_caller_stack(parser: str) -> None:
    """Within the limit, but called with little stack left: a typed error or the value."""
    data = BEFORE + array(MAX_DEPTH) + AFTER

    def nested(levels: int) -> list[object]:
        if levels:
            return nested(levels - 1)
        return JSONStreamDecoder(parser=parser).feed(data)

    try:
        got = nested(sys.getrecursionlimit() - 700)
    except NestingTooDeep as exc:
        assert exc.values == [{"a": 1}, {"b": [2]}]
        assert "ran out of Python stack" in str(exc)
    else:
        assert got == [{"a": 1}, {"b": [2]}, json.loads(array(MAX_DEPTH)), {"c": 3}]


# --- MessageDecoder: a value that is not an object ----------------------------------------------


@pytest.mark.parametrize("bad", [b"[1]", b'"text"', b"42 ", b"null", b"[[[]]]"])
def test_non_object_keeps_the_messages_before(bad: bytes, parser: str, split: Splitter) -> None:
    data = b'{"status":"a"}\n{"status":"b","aux":{"x":[1]}}\n' + bad + b'\n{"status":"c"}\n'
    decoder = MessageDecoder(parser=parser)
    values, error = feed_until_error(decoder, data, split)
    assert isinstance(error, MalformedMessage)
    assert [m.raw for m in values] == [  # type: ignore[attr-defined]
        {"status": "a"},
        {"status": "b", "aux": {"x": [1]}},
    ]
    assert error.value == json.loads(bad)
    with pytest.raises(StreamFailed) as failed:
        decoder.feed(b'{"status":"d"}\n')
    assert failed.value.cause is error


def test_non_object_before_a_json_error_in_the_same_feed(parser: str) -> None:
    decoder = MessageDecoder(parser=parser)
    with pytest.raises(MalformedMessage) as caught:
        decoder.feed(b'{"status":"a"}\n[1]\n{"status":' + array(600) + b"}\n")
    assert [m.raw for m in caught.value.values] == [{"status": "a"}]  # type: ignore[attr-defined]
    assert isinstance(caught.value.__cause__, NestingTooDeep)


# --- reprs --------------------------------------------------------------------------------------


def deep_list(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth):
        value = [value]
    return value


def test_reprs_do_not_recurse_or_grow() -> None:
    deep, big = deep_list(100_000), {"s": "x" * 10_000_000, "n": list(range(100_000))}
    error = MalformedMessage("(message)", deep)
    assert len(str(error)) < 200
    assert len(repr(error)) < 200
    for value in (deep, big):
        for shown in (
            repr(JSONMessage.from_value({"aux": value})),
            repr(EngineEvent({"a": value})),
        ):
            assert len(shown) <= 300


# --- documents and error bodies -----------------------------------------------------------------


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 100_000])
def test_deep_document_is_a_typed_error(shape: str, depth: int) -> None:
    deep = SHAPES[shape](depth)
    with pytest.raises(NestingTooDeep) as caught:
        document(deep)
    assert caught.value.offset == opener_offset(deep, MAX_DEPTH + 1)
    assert document(SHAPES[shape](MAX_DEPTH)) == json.loads(SHAPES[shape](MAX_DEPTH))


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 30_000])
def test_deep_json_error_body_is_a_typed_api_error(shape: str, depth: int) -> None:
    body = b'{"message":' + SHAPES[shape](depth) + b"}"
    response = Response(
        status=500,
        reason="Internal Server Error",
        http_version="1.1",
        headers=(("Content-Type", "application/json"),),
        hijacked=False,
    )
    error = api_error(response, body, "/version")
    assert error.status == 500
    assert error.message.startswith('{"message":')
    assert len(error.message) <= 200
    assert error.body == body
    shallow = b'{"message":' + json.dumps(json.loads(SHAPES[shape](40))).encode() + b"}"
    assert error_message(shallow, "application/json") == shallow.decode()  # not a string


# --- the cheap scan -----------------------------------------------------------------------------


def test_scan_agrees_with_a_plain_walk() -> None:
    cases = [array(5), obj(5), mixed(9), string_decoy(7), b'["\\\\"]' * 3, b'"\\"[[[[', b"]]][[["]
    for data in cases:
        for limit in range(1, 10):
            try:
                expected = opener_offset(data, limit + 1)
            except AssertionError:
                expected = -1
            if data == b"]]][[[":
                expected = -1  # a parser stops at the first stray closer
            assert first_too_deep(data, limit) == expected, (data, limit)
            assert may_nest_deeper(data, limit) or expected == -1


@pytest.mark.parametrize(
    "data",
    [
        b'"\\"[' * 40_000,  # unterminated strings of escaped quotes: a naive regex is quadratic
        b"[" * 400_000,
        b'["' + b"\\" * 400_001,
    ],
)
def test_scan_is_linear(data: bytes) -> None:
    start = time.perf_counter()
    first_too_deep(data, MAX_DEPTH)
    first_too_deep(data * 4, MAX_DEPTH)
    assert time.perf_counter() - start < 5
