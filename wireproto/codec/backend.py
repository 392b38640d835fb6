"""Which implementation of the decoders runs: the one switch.

``WIREPROTO_BACKEND=native`` or ``=python`` forces one; unset (or empty)
means native when the C module was built, else python.  An unknown value,
or native forced but not built, is a loud error: never a silent fallback.
The choice is made once, at import (``BACKEND``); :func:`classes` hands out
either backend's decoder classes, typed by the Protocols of
:mod:`wireproto.codec.views` so that mypy checks both backends against them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from wireproto.codec.native import BUILD_HINT as BUILD_HINT
from wireproto.codec.native import load_native as load_native
from wireproto.codec.views import BodyDecoding, ChunkedDemuxing, Decoder

ENV_VAR = "WIREPROTO_BACKEND"
BACKENDS = ("native", "python")


def choose(value: str | None) -> str:
    """The backend for a WIREPROTO_BACKEND value (None or "" for the default)."""
    if not value:
        return "native" if load_native() is not None else "python"
    if value not in BACKENDS:
        raise ValueError(
            f"{ENV_VAR}={value!r} is not a backend; valid values: {', '.join(BACKENDS)}"
        )
    if value == "native" and load_native() is None:
        raise ImportError(BUILD_HINT)
    return value


BACKEND = choose(os.environ.get(ENV_VAR))


@dataclass(frozen=True, slots=True)
class Classes:
    """One backend's decoder classes (named as the classes themselves)."""

    name: str
    Demuxer: type[Decoder]
    ChunkedDecoder: type[BodyDecoding]
    ChunkedDemuxer: type[ChunkedDemuxing]


_loaded: dict[str, Classes] = {}


def classes(backend: str | None = None) -> Classes:
    """The decoder classes of ``backend`` ("native" or "python"); of
    ``BACKEND`` for None or ""."""
    name = choose(backend) if backend else BACKEND
    found = _loaded.get(name)
    if found is None:
        found = _loaded[name] = _load(name)
    return found


def _load(name: str) -> Classes:
    # Imported here, not at the top: the native backend needs the C module,
    # which only a choice of "native" may require.
    if name == "native":
        from wireproto.codec.native import chunked, mux
    else:
        from wireproto.codec.python import chunked, mux  # type: ignore[no-redef]
    return Classes(name, mux.Demuxer, chunked.ChunkedDecoder, chunked.ChunkedDemuxer)
