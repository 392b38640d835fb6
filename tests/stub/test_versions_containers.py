"""Containers behaviour by the engine's API version: one test per ``eras`` row, over sockets."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from tests.support.stub import raw
from wireproto.engine import StubEngine
from wireproto.versions import ApiVersion

V = ApiVersion

CREATE = '{"Image": "busybox", "Cmd": ["sleep", "1000"]}'


def post(engine: StubEngine, path: str, body: str = "") -> tuple[int, bytes]:
    request = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    )
    status, _, reply = raw(engine, request)
    return status, reply


def get(engine: StubEngine, path: str) -> tuple[int, bytes]:
    status, _, reply = raw(engine, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")
    return status, reply


def followed(engine: StubEngine, path: str) -> bytes:
    """What a followed stream carries in its first half second (chunk framing dropped)."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(engine.socket_path or "")
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        sock.settimeout(0.5)
        data = b""
        try:
            while piece := sock.recv(65536):
                data += piece
        except TimeoutError:
            pass
    lines = data.partition(b"\r\n\r\n")[2].split(b"\r\n")
    return b"\n".join(line for line in lines if line.startswith(b"{"))


def created(engine: StubEngine, prefix: str = "") -> str:
    status, body = post(engine, f"{prefix}/containers/create", CREATE)
    assert status == 201, body
    return str(json.loads(body)["Id"])


@pytest.mark.row("containers.start.no_content")
def test_start_answers_200_before_1_4_and_204_from_it() -> None:
    with StubEngine(api_version=ApiVersion(1, 12)) as engine:
        assert post(engine, f"/v1.3/containers/{created(engine)}/start")[0] == 200
        assert post(engine, f"/v1.4/containers/{created(engine)}/start")[0] == 204


@pytest.mark.row("containers.ports.list")
def test_ports_are_a_string_before_1_5() -> None:
    with StubEngine(api_version=ApiVersion(1, 12)) as engine:
        created(engine)
        old = json.loads(get(engine, "/v1.4/containers/json?all=1")[1])
        new = json.loads(get(engine, "/v1.5/containers/json?all=1")[1])
        assert {row["Ports"] for row in old} == {""}
        assert all(row["Ports"] == [] for row in new)


@pytest.mark.row("containers.pause", "containers.logs")
def test_pause_exists_from_1_12_and_logs_from_1_11() -> None:
    with StubEngine(api_version=ApiVersion(1, 12)) as engine:
        ident = created(engine)
        post(engine, f"/containers/{ident}/start")
        assert post(engine, f"/v1.11/containers/{ident}/pause")[0] == 404
        assert post(engine, f"/v1.12/containers/{ident}/pause")[0] == 204
        assert get(engine, f"/v1.10/containers/{ident}/logs?stdout=1")[0] == 404
    with StubEngine(api_version=ApiVersion(1, 10)) as engine:
        assert get(engine, "/containers/x/logs?stdout=1")[0] == 404  # unprefixed: its own


@pytest.mark.row("containers.inspect.id")
def test_inspect_says_ID_from_engines_of_1_1_to_1_11_whatever_the_prefix() -> None:
    for version, key in ((V(1, 0), "Id"), (V(1, 1), "ID"), (V(1, 11), "ID"), (V(1, 12), "Id")):
        with StubEngine(api_version=version) as engine:
            ident = created(engine)
            document = json.loads(get(engine, f"/containers/{ident}/json")[1])
            assert document[key] == ident and ("Id" if key == "ID" else "ID") not in document
    with StubEngine(api_version=V(1, 12)) as engine:  # v1.0.0 writes Id for every client
        ident = created(engine)
        assert json.loads(get(engine, f"/v1.11/containers/{ident}/json")[1])["Id"] == ident


@pytest.mark.row("containers.delete.force")
def test_delete_force_from_1_10_and_409_without_it() -> None:
    with StubEngine(api_version=ApiVersion(1, 12)) as engine:
        ident = created(engine)
        post(engine, f"/containers/{ident}/start")
        delete = f"DELETE /v1.9/containers/{ident}?force=1 HTTP/1.1\r\nHost: x\r\n\r\n"
        assert raw(engine, delete)[0] == 409
        assert raw(engine, delete.replace("/v1.9/", "/v1.10/"))[0] == 204


def test_wait_answers_when_the_container_stops() -> None:
    with StubEngine(api_version=ApiVersion(1, 12)) as engine:
        ident = created(engine)
        post(engine, f"/containers/{ident}/start")
        answers: list[tuple[int, bytes]] = []
        waiter = threading.Thread(
            target=lambda: answers.append(post(engine, f"/containers/{ident}/wait"))
        )
        waiter.start()
        time.sleep(0.3)
        assert not answers  # still waiting
        assert post(engine, f"/containers/{ident}/kill")[0] == 204
        waiter.join(timeout=10)
        assert answers == [(200, b'{"StatusCode":137}\n')]


@pytest.mark.row("attach.multiplexed")
def test_attach_is_raw_before_1_6_and_multiplexed_from_it() -> None:
    with StubEngine(api_version=ApiVersion(1, 12)) as engine:
        body = '{"Image": "busybox", "Cmd": ["echo", "hi"]}'
        for prefix, expected in (
            ("/v1.5", b"hi\n"),
            ("/v1.6", b"\x01\x00\x00\x00\x00\x00\x00\x03hi\n"),
        ):
            ident = json.loads(post(engine, f"{prefix}/containers/create", body)[1])["Id"]
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(10)
                sock.connect(engine.socket_path or "")
                target = f"{prefix}/containers/{ident}/attach?stream=1&stdout=1"
                attach = f"POST {target} HTTP/1.1\r\nHost: x\r\n\r\n"
                sock.sendall(attach.encode())
                time.sleep(0.1)
                post(engine, f"{prefix}/containers/{ident}/start")
                data = b""
                while piece := sock.recv(65536):
                    data += piece
            assert data.partition(b"\r\n\r\n")[2] == expected


@pytest.mark.row("events", "events.from")
def test_events_old_shape_and_from_from_engines_of_1_4() -> None:
    for version, has_from in ((V(1, 3), False), (V(1, 4), True), (V(1, 12), True)):
        with StubEngine(api_version=version) as engine:
            ident = created(engine)
            # (the engine's message struct: an engine of 1.12 sends from to a 1.3 client)
            old = followed(engine, "/v1.3/events?since=1")  # until only from 1.11: held open
            last = json.loads(old.splitlines()[-1])
            assert last["id"] == ident and ("from" in last) == has_from, last
            assert set(last) <= {"status", "id", "from", "time"}
            assert get(engine, "/v1.2/events")[0] == 404
