"""The ``eras`` rows no other stub test held at their boundary, each on both sides, over sockets.

A row decided at the engine's own version is tested with engines of both
versions; one decided at the request's version with one engine and two prefixes.
"""

from __future__ import annotations

import json
import socket

import pytest

from tests.stub.imagesupport import engine_at, get_json, send
from wireproto.engine import StubEngine

CREATE = b'{"Image": "busybox", "Cmd": ["true"]}'
JSON = {"Content-Type": "application/json"}


def created(engine: StubEngine) -> str:
    status, _, reply = send(engine, "POST", "/containers/create", CREATE, JSON)
    assert status == 201, reply
    document = json.loads(reply)
    return str(document.get("Id") or document.get("ID"))


SAME = "client and server don't have same version (client : {}, server: {})\n"
TOO_NEW = '{{"message":"client version {} is too new. Maximum supported API version is {}"}}\n'


@pytest.mark.row("paths.too_new.silent", "paths.too_new.same_version", "paths.too_new.bad_request")
@pytest.mark.parametrize(
    ("engine", "prefix", "status", "body"),
    [
        ("1.8", "/v1.95", 404, b""),
        ("1.9", "/v1.95", 404, SAME.format("1.95", "1.9").encode()),
        ("1.12", "/v1.13", 404, SAME.format("1.13", "1.12").encode()),
        ("1.41", "/v1.42", 400, TOO_NEW.format("1.42", "1.41").encode()),
    ],
)
def test_a_too_new_prefix_per_engine(engine: str, prefix: str, status: int, body: bytes) -> None:
    with engine_at(engine) as stub:
        assert send(stub, "GET", prefix + "/info")[::2] == (status, body)


@pytest.mark.row("containers.inspect.ip_address")
def test_network_settings_say_ip_address_from_engines_of_1_1() -> None:
    for version, key, other in (
        ("1.0", "IpAddress", "IPAddress"),
        ("1.1", "IPAddress", "IpAddress"),
    ):
        with engine_at(version) as engine:
            document = get_json(engine, f"/containers/{created(engine)}/json")
            assert isinstance(document, dict)
            network = document["NetworkSettings"]
            assert key in network and other not in network, version
            assert (key.replace("Address", "PrefixLen") in network) is True, version


@pytest.mark.row("containers.list.modern")
def test_list_rows_gain_state_image_id_and_labels_from_engines_of_1_41() -> None:
    modern = {"State", "ImageID", "Labels"}
    for version, present in (("1.12", False), ("1.41", True)):
        with engine_at(version) as engine:
            ident = created(engine)
            rows = get_json(engine, "/containers/json?all=1")
            assert isinstance(rows, list)
            row = next(r for r in rows if r["Id"] == ident)
            assert (modern <= set(row)) is present and (modern & set(row) == set()) is not present


def _events_end(engine: StubEngine, prefix: str) -> bool:
    """Whether GET /events with an until in the past ends its answer within a second."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(engine.socket_path or "")
        sock.sendall(f"GET {prefix}/events?since=1&until=2 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        sock.settimeout(1)
        data = b""
        try:
            while not data.endswith(b"0\r\n\r\n"):
                piece = sock.recv(65536)
                if not piece:
                    break
                data += piece
        except TimeoutError:
            return False
    assert data.startswith(b"HTTP/1.1 200"), data
    return True


@pytest.mark.row("events.until")
def test_until_ends_the_events_stream_from_1_11() -> None:
    with engine_at("1.12") as engine:
        assert not _events_end(engine, "/v1.10")  # until not read: a stream held open
        assert _events_end(engine, "/v1.11")


@pytest.mark.row("images.get.names")
def test_get_of_several_images_from_1_16() -> None:
    with StubEngine() as engine:
        target = "/images/get?names=busybox&names=alpine:3.19"
        assert send(engine, "GET", "/v1.15" + target)[0] == 404
        status, head, body = send(engine, "GET", "/v1.16" + target)
        assert status == 200 and b"application/x-tar" in head and body


@pytest.mark.row("build.remote")
def test_remote_is_read_from_1_2_before_the_tar_context() -> None:
    """A context URL needs no upload: an engine of 1.2 read it although it took no tar yet."""
    remote = "/build?remote=http://127.0.0.1/ctx.tar"
    with engine_at("1.1") as engine:
        status, _, body = send(engine, "POST", remote)
        assert (status, body) == (500, b"request Content-Type isn't multipart/form-data\n")
    with engine_at("1.2") as engine:
        status, _, body = send(engine, "POST", remote)
        assert status == 200 and b"does not fetch http://127.0.0.1/ctx.tar" in body


@pytest.mark.row("containers.inspect.exec_driver")
def test_exec_driver_went_away_after_engines_of_1_12() -> None:
    """The appearance at 1.10 is held by test_versions_container_shapes; this is the other end."""
    for version, present in (("1.12", True), ("1.41", False)):
        with engine_at(version) as engine:
            document = get_json(engine, f"/containers/{created(engine)}/json")
            assert isinstance(document, dict) and ("ExecDriver" in document) is present, version
