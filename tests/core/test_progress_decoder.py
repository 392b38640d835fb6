"""MessageDecoder: struct-backed and dict-backed messages answer every accessor alike."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.jsonparsers import INSTALLED
from wireproto import progress
from wireproto.errors import (
    BuildError,
    MalformedJSON,
    MalformedMessage,
    StreamFailed,
    TruncatedJSON,
)
from wireproto.jsonstream import JSONStreamDecoder
from wireproto.progress import DictMessage, JSONMessage, MessageDecoder, Progress, check

needs_msgspec = pytest.mark.skipif(not progress.HAVE_MSGSPEC, reason="msgspec is not installed")


# --- messages: the engine's fields (well typed or not), and unknown ones ------------------------

text = st.text(max_size=12)
count = st.integers(0, 2**70)  # past 2**64 too: msgspec keeps big ints exact
scalar = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)
any_json = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
WELL_TYPED: dict[str, st.SearchStrategy[Any]] = {
    "stream": text,
    "status": text,
    "progressDetail": st.fixed_dictionaries(
        {},
        optional={
            "current": count,
            "total": count,
            "start": count,
            "hidecounts": st.booleans(),
            "units": text,
        },
    ),
    "progress": text,
    "id": text,
    "from": text,
    "time": count,
    "timeNano": count,
    "errorDetail": st.fixed_dictionaries({}, optional={"code": count, "message": text}),
    "error": text,
    "aux": any_json.filter(lambda value: value is not None),
}
clean_message = st.fixed_dictionaries({}, optional=WELL_TYPED)  # in any order
# Go's declared field orders (jsonmessage.JSONMessage, JSONProgress, JSONError).
ORDERS = {
    "": list(WELL_TYPED),
    "progressDetail": ["current", "total", "start", "hidecounts", "units"],
    "errorDetail": ["code", "message"],
}


def go_ordered(value: dict[str, Any], order: str = "") -> dict[str, Any]:
    """``value`` as dockerd writes it: known fields in Go's order, then any others."""
    rank = {key: at for at, key in enumerate(ORDERS[order])}
    ordered = {key: value[key] for key in sorted(value, key=lambda k: rank.get(k, len(rank)))}
    for key in ("progressDetail", "errorDetail") if order == "" else ():
        if isinstance(ordered.get(key), dict):
            ordered[key] = go_ordered(ordered[key], key)
    return ordered


def go_order(value: dict[str, Any]) -> bool:
    """Whether ``value`` comes in Go's orders, where raw keeps the order (and so repr)."""
    return json.dumps(value) == json.dumps(go_ordered(value))


engine_message = clean_message.map(go_ordered)  # as dockerd writes them


# One field of any JSON type (null, another type, or still a good one), maybe unknown fields.
dirty_message = st.tuples(
    clean_message,
    st.sampled_from(list(WELL_TYPED)),
    any_json,
    st.dictionaries(text.filter(lambda key: key not in WELL_TYPED), any_json, max_size=2),
).map(lambda parts: {**parts[0], parts[1]: parts[2], **parts[3]})


def _insert(parts: tuple[list[dict[str, Any]], dict[str, Any] | None, int]) -> list[dict[str, Any]]:
    clean, dirty, at = parts
    return clean if dirty is None else [*clean[:at], dirty, *clean[at:]]


# Engine-shaped messages, half the time with one dirty message among them.
stream = st.tuples(
    st.lists(clean_message, max_size=8), st.none() | dirty_message, st.integers(0, 8)
)
stream = stream.map(_insert)
SEPARATORS = [b"\n", b"\r\n", b"", b" ", b"\n\n"]


def serialise(values: list[dict[str, Any]], separator: bytes, ascii_only: bool) -> bytes:
    return b"".join(
        json.dumps(value, separators=(",", ":"), ensure_ascii=ascii_only).encode() + separator
        for value in values
    )


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def decode(data: list[bytes], parser: str) -> list[JSONMessage]:
    decoder = MessageDecoder(parser=parser)
    out: list[JSONMessage] = []
    for piece in data:
        out += decoder.feed(piece)
    return out + decoder.close()


def reference(data: bytes) -> list[JSONMessage]:
    """The stdlib's careful values, each wrapped in a DictMessage."""
    decoder = JSONStreamDecoder(parser="json")
    return [DictMessage(value) for value in decoder.feed(data) + decoder.close()]  # type: ignore[arg-type]


ACCESSORS = (
    "raw",
    "status",
    "id",
    "progress",
    "progress_detail",
    "stream",
    "aux",
    "error",
    "error_detail",
    "is_error",
)


def answers(message: JSONMessage) -> dict[str, object]:
    """Every accessor's value, or the MalformedMessage it raises (as its text)."""
    out: dict[str, object] = {}
    for name in ACCESSORS:
        try:
            out[name] = getattr(message, name)
        except MalformedMessage as exc:
            out[name] = f"raises {exc}"
    try:
        out["counts"] = message.counts()
    except MalformedMessage as exc:
        out["counts"] = f"raises {exc}"
    return out


@settings(max_examples=200, deadline=None)
@given(
    stream,
    st.sampled_from(SEPARATORS),
    st.booleans(),
    st.lists(st.integers(0, 10_000), max_size=6),
    st.sampled_from(INSTALLED),
)
def test_every_accessor_agrees_with_the_dict_backed_reference(
    values: list[dict[str, Any]], separator: bytes, ascii_only: bool, cuts: list[int], parser: str
) -> None:
    data = serialise(values, separator, ascii_only)
    got = decode(split(data, cuts), parser)
    expected = reference(data)
    assert [answers(message) for message in got] == [answers(message) for message in expected]
    assert got == expected
    # raw is the same dict; its order too (and so repr) when the fields come in Go's order.
    for value, message, wanted in zip(values, got, expected, strict=True):
        if go_order(value):
            assert repr(message) == repr(wanted)


@needs_msgspec
@settings(max_examples=100, deadline=None)
@given(
    st.lists(engine_message, min_size=1, max_size=8),
    st.sampled_from(SEPARATORS),
    st.lists(st.integers(0, 10_000), max_size=6),
)
def test_engine_shaped_messages_are_untracked_structs(
    values: list[dict[str, Any]], separator: bytes, cuts: list[int]
) -> None:
    data = serialise(values, separator, ascii_only=False)
    got = decode(split(data, cuts), "msgspec")
    assert [type(message).__name__ for message in got] == ["_StructMessage"] * len(values)
    assert not any(map(gc.is_tracked, got))
    # raw gives the fields back in the order dockerd wrote them.
    assert [list(message.raw.items()) for message in got] == [list(v.items()) for v in values]


@needs_msgspec
def test_raw_keeps_the_engine_order_and_unknown_fields_fall_back() -> None:
    sent = b'{"status":"Downloading","progressDetail":{"current":1,"total":4},"id":"ab"}\r\n'
    extra = b'{"status":"Downloading","id":"ab","progressDetail":{},"new":[1,{"x":null}]}\r\n'
    first, second, third = decode([sent, extra, sent], "msgspec")  # three reads, three runs
    assert json.dumps(first.raw, separators=(",", ":")).encode() == sent.strip()
    assert isinstance(second, DictMessage) and second.raw["new"] == [1, {"x": None}]
    assert (second.progress_detail, second.counts()) == (progress.ProgressDetail(), (None, None))
    assert type(third).__name__ == "_StructMessage"  # only the run with the new field fell back
    together = decode([sent + extra + sent], "msgspec")  # one run: all dict-backed, all kept
    assert [type(message) for message in together] == [DictMessage] * 3
    assert together == [first, second, third]
    null = decode([b'{"status":null,"id":"x"}\n'], "msgspec")[0]
    assert null.raw == {"status": None, "id": "x"} and null.status is None
    null_aux = decode([b'{"id":"x","aux":null}\n'], "msgspec")[0]
    assert null_aux.raw == {"id": "x", "aux": None} and null_aux.aux is None


@pytest.mark.parametrize("parser", INSTALLED)
def test_in_band_error_and_aggregation_through_the_decoder(parser: str) -> None:
    text = "The command '/bin/sh -c exit 3' returned a non-zero code: 3"
    failed = {"errorDetail": {"code": 3, "message": text}, "error": text}
    (message,) = decode([serialise([failed], b"\r\n", True)], parser)
    with pytest.raises(BuildError) as built:
        check(message, BuildError)
    assert (built.value.exit_code, built.value.message) == (3, text)
    pull = [
        {"status": "Pulling fs layer", "progressDetail": {}, "id": "l1"},
        {"status": "Downloading", "progressDetail": {"current": 5, "total": 10}, "id": "l1"},
        {"status": "Extracting", "progressDetail": {"current": 7, "total": 10}, "id": "l1"},
    ]
    state = Progress()
    for typed in decode(split(serialise(pull, b"\r\n", True), [30, 61]), parser):
        state.update(typed)
    layer = state.layers["l1"]
    assert (layer.phase, layer.current, layer.total, layer.extracted) == ("extracting", 5, 10, 7)


@pytest.mark.parametrize("parser", INSTALLED)
def test_stream_errors_carry_typed_messages(parser: str) -> None:
    data = b'{"status":"a"}\n{"status":"b"}\n{"status":}\n'
    with pytest.raises(MalformedJSON) as bad:
        MessageDecoder(parser=parser).feed(data)
    assert [message.status for message in bad.value.values] == ["a", "b"]  # type: ignore[attr-defined]
    assert bad.value.offset == data.index(b"}\n", 30)  # the byte where a value should be
    cut = MessageDecoder(parser=parser)
    assert [m.id for m in cut.feed(b'{"id":"x"}{"id":')] == ["x"]
    with pytest.raises(TruncatedJSON):
        cut.close()
    with pytest.raises(MalformedMessage, match="message"):
        MessageDecoder(parser=parser).feed(b'{"status":"a"}\n[1]\n')


def test_without_msgspec_the_decoder_gives_dict_backed_messages() -> None:
    script = (
        "import sys; sys.modules['msgspec'] = None\n"
        "from wireproto import progress, jsonstream\n"
        "assert not progress.HAVE_MSGSPEC and jsonstream.PARSER != 'msgspec'\n"
        "d = progress.MessageDecoder()\n"
        'm = d.feed(b\'{"status":"a","progressDetail":{"current":1}}\\r\\n{"x":\')\n'
        "assert [type(x).__name__ for x in m] == ['DictMessage'] and m[0].counts() == (1, None)\n"
        "assert [x.raw for x in d.feed(b'1}\\n')] == [{'x': 1}]\n"
        "print('ok')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert run.stdout == "ok\n", run.stderr


def test_a_failed_decoder_refuses_whole_lines_too(parser: str) -> None:
    # A non-object fails the decoder; a later feed of whole engine lines (the
    # shortcut's input) must not slip past the failure.
    decoder = MessageDecoder(parser=parser)
    with pytest.raises(MalformedMessage):
        decoder.feed(b'{"status":"a"}\n[1]\n')
    with pytest.raises(StreamFailed):
        decoder.feed(b'{"status":"b"}\r\n')
