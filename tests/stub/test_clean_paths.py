"""Paths with empty, ``.`` or ``..`` segments: the router's 301 to the cleaned path.

dockerd's router (gorilla/mux, in docker v1.0.0 as in 20.10) answers such a
path 301 with the cleaned path (query kept) in ``Location``, before any
handler: no Api-Version or Server header.  The same table runs against the
real engine in tests/real_engine/test_clean_paths.py.
"""

from __future__ import annotations

import pytest

from tests.support.cleanpaths import MOVED
from tests.support.stub import raw
from wireproto.engine import StubEngine
from wireproto.engine.protocol import clean_path
from wireproto.versions import ApiVersion


@pytest.mark.parametrize(("method", "target", "location"), MOVED)
@pytest.mark.parametrize("version", [ApiVersion(1, 41), ApiVersion(1, 5)])
def test_unclean_paths_are_moved_permanently(
    method: str, target: str, location: str, version: ApiVersion
) -> None:
    with StubEngine(api_version=version) as engine:
        request = f"{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        events = len(engine.world.events)
        status, head, body = raw(engine, request)
        assert (status, body) == (301, b"")
        headers = dict(
            line.split(": ", 1) for line in head.decode().split("\r\n")[1:] if ": " in line
        )
        assert headers["Location"] == location
        assert "Api-Version" not in headers and "Server" not in headers
        assert len(engine.world.events) == events  # nothing ran
        assert engine.received[-1].target == target


def test_the_connection_stays_open_after_the_redirect() -> None:
    with StubEngine() as engine:
        request = "GET //_ping HTTP/1.1\r\nHost: x\r\n\r\nGET /_ping HTTP/1.1\r\nHost: x\r\n\r\n"
        status, _, body = raw(engine, request, until_close=True)
        assert status == 301
        assert body.endswith(b"\r\n\r\nOK")


@pytest.mark.parametrize(
    ("path", "clean"),
    [("", "/"), ("/", "/"), ("//", "/"), ("/a//b/", "/a/b/"), ("/..", "/"), ("/a/./b/..", "/a")],
)
def test_clean_path_is_gos_path_clean_keeping_a_trailing_slash(path: str, clean: str) -> None:
    assert clean_path(path) == clean
