"""The C backend and the Python one share their constants: tied here, via the cffi lib."""

from __future__ import annotations

import pytest

from wireproto.codec import backend as _backend
from wireproto.codec import views
from wireproto.codec.python import chunked
from wireproto.errors import InvalidChunk

native = _backend.load_native()
pytestmark = pytest.mark.skipif(native is None, reason="the native module is not built")

# native/wireproto.h name -> the Python constant it must equal
CHUNK_ERRORS = {
    "WP_CHUNK_BAD_SIZE": chunked.BAD_SIZE,
    "WP_CHUNK_SIZE_TOO_LONG": chunked.SIZE_TOO_LONG,
    "WP_CHUNK_LINE_TOO_LONG": chunked.LINE_TOO_LONG,
    "WP_CHUNK_BAD_LINE_END": chunked.BAD_LINE_END,
    "WP_CHUNK_NO_DATA_END": chunked.NO_DATA_END,
    "WP_CHUNK_TRAILER_TOO_LONG": chunked.TRAILER_TOO_LONG,
}


@pytest.mark.parametrize("name", list(CHUNK_ERRORS))
def test_chunk_error_codes_are_the_same_in_c_and_python(name: str) -> None:
    assert native is not None
    code = getattr(native.lib, name)
    assert code == CHUNK_ERRORS[name]
    assert code in InvalidChunk.MESSAGES  # every code C can report has its message


def test_every_chunk_error_message_has_a_c_code() -> None:
    assert native is not None
    codes = {getattr(native.lib, name) for name in CHUNK_ERRORS}
    assert set(InvalidChunk.MESSAGES) == codes


def test_limits_are_the_same_in_c_and_python() -> None:
    assert native is not None
    assert native.lib.WP_CHUNK_MAX_LINE == chunked.MAX_LINE
    assert native.lib.WP_CHUNK_MAX_TRAILER == chunked.MAX_TRAILER
    assert native.lib.WP_COALESCE_BELOW == views.COALESCE_BELOW
