"""The C feeder of JSON streams (native/jsonfeed.c) against the Python path it stands in for.

``wireproto._jsonfeed`` decodes whole-line feeds and lets a cut line wait
for its newline; the Python path (``_feed_lines``, ``_tail_waits``) does the
same.  Here both run side by side on the same input and the same splits,
with either backend selected: every feed must give the same values, or the
same error (class, offset, values before it), and the same ``offset``.
``open_value`` (Python) and ``wp_json_open`` (C) must answer alike for any
bytes.  Skipped only when the C module is not built.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.support.jsonparsers import installed
from wireproto import jsonstream
from wireproto.errors import JSONStreamError, JSONValuesError, StreamFailed
from wireproto.jsonstream import JSONStreamDecoder
from wireproto.progress import MessageDecoder

try:
    _jsonfeed: Any = importlib.import_module("wireproto._jsonfeed")
except ImportError:  # pragma: no cover - a build without a compiler
    _jsonfeed = None

pytestmark = [
    pytest.mark.skipif(_jsonfeed is None, reason="wireproto._jsonfeed is not built"),
    pytest.mark.skipif(not installed("msgspec"), reason="the C feeder runs msgspec"),
]


@contextmanager
def feeder(native: bool) -> Iterator[None]:
    """Decoders built inside take the C feeder (native) or the Python path, whatever
    WIREPROTO_BACKEND says."""
    chosen = _jsonfeed.Feeder if native else None
    with patch.object(jsonstream, "native_feeder", lambda: chosen):
        yield


def make(kind: str, native: bool, **limits: int) -> Any:
    with feeder(native):
        if kind == "values":
            decoder: Any = JSONStreamDecoder(parser="msgspec", **limits)
        else:
            decoder = MessageDecoder(parser="msgspec", **limits)
    feeds_in_c = getattr(decoder.feed, "__self__", None).__class__.__name__ == "Feeder"
    # Typed messages nest at most BULK_DEPTH: a lower limit keeps to dicts, in Python.
    structs = kind == "values" or limits.get("max_depth", 512) >= jsonstream.BULK_DEPTH
    assert feeds_in_c == (native and structs)
    return decoder


def trace(decoder: Any, pieces: list[bytes]) -> list[tuple[str, object, int]]:
    """Per feed (and the close): what it gave, or its error, and the offset after it."""
    out: list[tuple[str, object, int]] = []
    steps: list[Callable[[], list[Any]]] = [lambda p=p: decoder.feed(p) for p in pieces]
    steps.append(decoder.close)
    for step in steps:
        try:
            got = step()
        except JSONValuesError as exc:  # the stream's errors, and MalformedMessage
            offset = exc.offset if isinstance(exc, JSONStreamError) else decoder.offset
            out.append((type(exc).__name__, [_plain(v) for v in exc.values], offset))
            try:
                decoder.feed(b"{}\n")
            except StreamFailed:
                out.append(("StreamFailed", None, -1))
            return out
        out.append(("", [_plain(v) for v in got], decoder.offset))
    return out


def _plain(value: object) -> object:
    raw = getattr(value, "raw", None)  # a typed message: compare what it holds
    return (type(value).__name__ == "_StructMessage", raw) if raw is not None else value


def cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)])]


MESSAGE = [
    b'{"status":"Downloading","progressDetail":{"current":1,"total":2},"id":"ab"}',
    b'{"stream":"Step 1/2 : FROM x\\n"}',
    b'{"status":"Pulling fs layer","progressDetail":{},"id":"a3"}',
    b'{"errorDetail":{"code":3,"message":"failed"},"error":"failed"}',
    b'{"aux":{"ID":"sha256:cd"}}',
    b'{"unknownField":1}',
    b'{"status":null}',
    b"[1,[2,{}]]",
    b'"s"',
    b"12",
    b"{",
    b"}",
    b"]",
    b"[",
    b'"',
    b"\\",
    b",",
    b" ",
    b"\r\n",
    b"\n",
    b"\x1e",
    b"\xff",
    b'"\\ud800"',
    b"12345678901234567890",
    b"1e400",
    b"[[[[[[[[[[",
    b"]]]]]]]]]]",
    b"true",
]


@settings(max_examples=500, deadline=None)
@given(
    kind=st.sampled_from(["values", "messages"]),
    tokens=st.lists(st.sampled_from(MESSAGE), max_size=24),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=8),
    limits=st.sampled_from([{}, {"max_size": 64}, {"max_depth": 9}, {"max_depth": 3}]),
)
@example(kind="values", tokens=[b'{"a":1}', b"\n", b'{"b":[1'], cuts=[12], limits={})
def test_the_c_feeder_decides_as_the_python_path(
    kind: str, tokens: list[bytes], cuts: list[int], limits: dict[str, int]
) -> None:
    data = b"".join(tokens)
    pieces = cut(data, cuts)
    python = trace(make(kind, False, **limits), pieces)
    assert trace(make(kind, True, **limits), pieces) == python


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(["values", "messages"]),
    lines=st.lists(st.sampled_from(MESSAGE[:8]), min_size=1, max_size=40),
    size=st.integers(min_value=1, max_value=600),
)
def test_engine_lines_at_any_read_size_decode_alike(
    kind: str, lines: list[bytes], size: int
) -> None:
    # What the C feeder is for: whole messages a line, in reads of one size.
    data = b"\r\n".join(lines) + b"\r\n"
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    python = trace(make(kind, False), pieces)
    assert trace(make(kind, True), pieces) == python


def test_a_message_decoder_failed_on_a_non_object_refuses_the_c_path() -> None:
    decoder = make("messages", True)
    assert len(decoder.feed(b'{"status":"a"}\n')) == 1
    with pytest.raises(JSONValuesError):
        decoder.feed(b"[1]\n")
    with pytest.raises(StreamFailed):
        decoder.feed(b'{"status":"b"}\n')  # whole lines the C feeder would take


SCAN_BYTES = st.lists(
    st.sampled_from(
        [b"{", b"}", b"[", b"]", b'"', b"\\", b" ", b"\r", b"\t", b"\x1e", b"\n", b"a"]
    ),
    max_size=60,
).map(b"".join)


@settings(max_examples=2000, deadline=None)
@given(data=SCAN_BYTES, limit=st.integers(min_value=1, max_value=12))
@example(data=b'{"\\', limit=1)
@example(data=b"[{]", limit=4)
@example(data=b"{}", limit=4)
@example(data=b"[[]", limit=1)
def test_open_value_twins_agree(data: bytes, limit: int) -> None:
    assert _jsonfeed.open_value(data, limit) == jsonstream.open_value(data, limit)


@pytest.mark.parametrize(
    ("data", "limit", "expected"),
    [
        (b'{"a":[1,{"b":"}]"', 512, True),  # brackets in a string close nothing
        (b' \x1e[{"a":1},', 512, True),
        (b'{"a":1}', 512, False),  # closed: the scanner delivers it now
        (b'{"a":[1}', 512, False),  # the wrong closer: the scanner refuses it now
        (b"[[[", 2, False),  # past max_depth: NestingTooDeep now
        (b"[[[", 3, True),
        (b'{"a":1,\n', 512, False),  # a newline: not a cut line
        (b'"s', 512, False),  # not an object or array
        (b"", 512, False),
    ],
)
def test_open_value(data: bytes, limit: int, expected: bool) -> None:
    assert jsonstream.open_value(data, limit) is expected
    assert _jsonfeed.open_value(data, limit) is expected
