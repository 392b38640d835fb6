"""copy and export answer real tar streams of the container's modelled files."""

from __future__ import annotations

import io
import json
import tarfile

from tests.support.stub import raw
from wireproto.engine import StubEngine
from wireproto.engine.rootfs import archive
from wireproto.versions import ApiVersion


def call(engine: StubEngine, method: str, path: str, body: str = "") -> tuple[int, bytes]:
    request = (
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    )
    status, _, reply = raw(engine, request)
    return status, reply


def members(data: bytes) -> dict[str, bytes | None]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {
            m.name: (f.read() if (f := tar.extractfile(m)) is not None else None)
            for m in tar.getmembers()
        }


def test_copy_a_file_a_directory_and_a_missing_path() -> None:
    copy = "/v1.6/containers/c/copy"
    with StubEngine(api_version=ApiVersion(1, 12)) as engine:
        created = '{"Image":"busybox"}'
        status, reply = call(engine, "POST", "/v1.6/containers/create?name=c", created)
        assert status == 201
        hostname = json.loads(reply)["Id"][:12].encode() + b"\n"
        status, data = call(engine, "POST", copy, '{"Resource":"/etc/hostname"}')
        assert status == 200 and members(data) == {"hostname": hostname}
        status, data = call(engine, "POST", copy, '{"Resource":"etc/"}')
        got = members(data)
        assert status == 200 and got["etc"] is None and "etc/hosts" in got
        assert got["etc/hostname"] == hostname
        status, reply = call(engine, "POST", copy, '{"Resource":"/nope"}')
        assert status == 500 and reply == b"Could not find the file /nope in container c\n"


def test_export_is_the_whole_tree() -> None:
    with StubEngine() as engine:
        assert call(engine, "POST", "/containers/create?name=c", '{"Image":"busybox"}')[0] == 201
        status, data = call(engine, "GET", "/containers/c/export")
        got = members(data)
        assert status == 200 and {"bin", "etc", "bin/sh", "etc/resolv.conf"} <= set(got)


def test_archive_of_nothing_is_none() -> None:
    assert archive({"/a/b": b"x"}, "/c") is None
    assert set(members(archive({"/a/b": b"x"}, "/a") or b"")) == {"a", "a/b"}
