"""Container answers by the engine's version, at each eras row's boundary, over sockets."""

from __future__ import annotations

import json
import socket

import pytest

from tests.stub.test_versions_containers import CREATE, created, get, post
from tests.support.stub import raw
from wireproto import api
from wireproto.adapters.blocking import Client
from wireproto.engine import StubEngine
from wireproto.versions import ApiVersion

V = ApiVersion


def started(engine: StubEngine, cmd: list[str] | None = None) -> str:
    body = json.dumps({"Image": "busybox", "Cmd": cmd or ["sleep", "1000"]})
    status, reply = post(engine, "/containers/create", body)
    assert status == 201, reply
    ident = str(json.loads(reply)["Id"])
    assert post(engine, f"/containers/{ident}/start")[0] in (200, 204)
    return ident


def row_of(engine: StubEngine, ident: str, prefix: str = "") -> dict[str, object]:
    rows = json.loads(get(engine, f"{prefix}/containers/json?all=1")[1])
    return next(row for row in rows if row["Id"] == ident)


def inspected(engine: StubEngine, ident: str) -> dict[str, object]:
    document = json.loads(get(engine, f"/containers/{ident}/json")[1])
    assert isinstance(document, dict)
    return document


@pytest.mark.row(
    "containers.inspect.volumes_rw",
    "containers.inspect.hosts_path",
    "containers.inspect.name",
    "containers.inspect.driver",
    "containers.inspect.host_config",
    "containers.inspect.labels",
    "containers.inspect.exec_driver",
)
@pytest.mark.parametrize(
    ("key", "first"),
    [
        ("VolumesRW", V(1, 3)),
        ("HostnamePath", V(1, 4)),
        ("Name", V(1, 6)),
        ("Driver", V(1, 7)),
        ("HostConfig", V(1, 8)),
        ("ExecDriver", V(1, 10)),
        ("MountLabel", V(1, 11)),
    ],
)
def test_inspect_keys_appear_with_their_engine(key: str, first: ApiVersion) -> None:
    before = V(first.major, first.minor - 1)
    for version, present in ((before, False), (first, True)):
        with StubEngine(api_version=version) as engine:
            assert (key in inspected(engine, created(engine))) == present, (key, version)


@pytest.mark.row(
    "containers.inspect.sys_init_path",
    "containers.inspect.finished_at",
    "containers.inspect.ghost",
    "containers.inspect.paused",
    "containers.inspect.modern",
)
def test_inspect_keys_that_went_away_and_state_by_engine() -> None:
    with StubEngine(api_version=V(1, 6)) as engine:
        assert "SysInitPath" in inspected(engine, created(engine))
    with StubEngine(api_version=V(1, 7)) as engine:
        assert "SysInitPath" not in inspected(engine, created(engine))
    with StubEngine(api_version=V(1, 0)) as engine:
        network = inspected(engine, created(engine))["NetworkSettings"]
        assert isinstance(network, dict) and "IpAddress" in network
    states = {}
    for version in (V(1, 4), V(1, 5), V(1, 10), V(1, 11), V(1, 12), V(1, 41)):
        with StubEngine(api_version=version) as engine:
            state = inspected(engine, created(engine))["State"]
            assert isinstance(state, dict)
            states[version] = set(state)
    assert "FinishedAt" not in states[V(1, 4)] and "FinishedAt" in states[V(1, 5)]
    assert "Ghost" in states[V(1, 10)] and "Ghost" not in states[V(1, 11)]
    assert "Paused" not in states[V(1, 11)] and "Paused" in states[V(1, 12)]
    assert "Status" not in states[V(1, 12)] and "Status" in states[V(1, 41)]


def test_inspect_normalised_to_todays_shape_at_every_version() -> None:
    for minor in range(0, 13):
        version = V(1, minor)
        with StubEngine(api_version=version) as engine, Client(engine.host) as client:
            ident = created(engine)
            reply = client.request(api.inspect_container(ident, version))
            document = reply.document
            assert isinstance(document, dict) and document["Id"] == ident, version
            network = document["NetworkSettings"]
            assert isinstance(network, dict) and "IPAddress" in network, version


@pytest.mark.row("containers.list.names", "containers.list.env_rows")
def test_list_names_from_engines_of_1_6_and_old_clients() -> None:
    with StubEngine(api_version=V(1, 5)) as engine:
        assert "Names" not in row_of(engine, created(engine))
    with StubEngine(api_version=V(1, 6)) as engine:
        ident = created(engine)
        assert row_of(engine, ident)["Names"] == ["/stub_" + str(len(engine.world.containers))]
        assert "Names" not in row_of(engine, ident, "/v1.4")  # APIContainersOld
    with StubEngine(api_version=V(1, 9)) as engine:  # engine.Env rows: only Ports converted
        ident = created(engine)
        legacy = row_of(engine, ident, "/v1.4")
        assert "Names" in legacy and legacy["Ports"] == ""


@pytest.mark.row(
    "containers.list.command_quoted", "containers.status.exited_ago", "containers.status.created"
)
def test_list_command_and_status_text_by_engine() -> None:
    cmd = ["sh", "-c", "exit 3"]
    with StubEngine(api_version=V(1, 9)) as engine:
        exited = started(engine, cmd)
        bare = started(engine, ["true"])
        assert row_of(engine, exited)["Command"] == "sh -c exit 3"
        assert row_of(engine, bare)["Command"] == "true "  # path + " " + no args
        assert row_of(engine, exited)["Status"] == "Exit 3"
        assert str(row_of(engine, started(engine))["Status"]).startswith("Up ")
    with StubEngine(api_version=V(1, 10)) as engine:
        exited = started(engine, cmd)
        assert row_of(engine, exited)["Command"] == "sh -c 'exit 3'"
        assert row_of(engine, exited)["Status"] == "Exited (3) Less than a second ago"
        assert row_of(engine, created(engine))["Status"] == ""  # never run
    with StubEngine(api_version=V(1, 41)) as engine:
        assert row_of(engine, created(engine))["Status"] == "Created"


@pytest.mark.row("containers.create.warnings_omitted", "containers.create.warnings_list")
@pytest.mark.parametrize(
    ("version", "warnings"),
    [(V(1, 0), None), (V(1, 1), "absent"), (V(1, 8), "absent"), (V(1, 9), None), (V(1, 41), [])],
)
def test_create_answer_warnings_by_engine(version: ApiVersion, warnings: object) -> None:
    with StubEngine(api_version=version) as engine:
        status, reply = post(engine, "/containers/create", CREATE)
        document = json.loads(reply)
        assert status == 201 and set(document) <= {"Id", "Warnings"}
        assert document.get("Warnings", "absent") == warnings


@pytest.mark.row("containers.wait.error")
def test_wait_says_error_from_dockerd_at_every_prefix() -> None:
    with StubEngine(api_version=V(1, 41)) as engine:
        ident = started(engine, ["sh", "-c", "exit 3"])
        assert json.loads(post(engine, f"/v1.24/containers/{ident}/wait")[1]) == {
            "Error": None,
            "StatusCode": 3,
        }
    with StubEngine(api_version=V(1, 12)) as engine:
        ident = started(engine, ["sh", "-c", "exit 3"])
        assert json.loads(post(engine, f"/containers/{ident}/wait")[1]) == {"StatusCode": 3}


@pytest.mark.row("containers.top", "containers.top.titles", "containers.top.old_client_refused")
def test_top_rows_at_1_3_titles_from_1_4_and_old_clients_refused() -> None:
    with StubEngine(api_version=V(1, 3)) as engine:
        rows = json.loads(get(engine, f"/containers/{started(engine)}/top")[1])
        assert isinstance(rows, list) and set(rows[0]) == {"PID", "Tty", "Time", "Cmd"}
    with StubEngine(api_version=V(1, 4)) as engine, Client(engine.host) as client:
        ident = started(engine)
        status, reply = get(engine, f"/v1.3/containers/{ident}/top")
        assert (status, reply) == (
            500,
            b"top was improved a lot since 1.3, Please upgrade your docker client.\n",
        )
        document = client.request(api.top(ident, V(1, 4))).document
        assert isinstance(document, dict) and document["Titles"][:2] == ["UID", "PID"]
    with StubEngine(api_version=V(1, 12)) as engine:
        assert get(engine, f"/v1.2/containers/{started(engine)}/top")[0] == 404  # no top


@pytest.mark.row("containers.start.running_ok")
def test_start_of_a_running_container_by_engine() -> None:
    for version, status in ((V(1, 9), 500), (V(1, 10), 204), (V(1, 12), 204), (V(1, 41), 304)):
        with StubEngine(api_version=version) as engine:
            ident = started(engine)
            assert post(engine, f"/containers/{ident}/start")[0] == status, version


@pytest.mark.row("containers.start.host_config")
def test_start_host_config_from_1_3_and_refused_from_1_24() -> None:
    body = '{"Privileged": true}'
    with StubEngine(api_version=V(1, 12)) as engine:
        for prefix, applied in (("/v1.2", False), ("/v1.3", True)):
            ident = created(engine)
            assert post(engine, f"{prefix}/containers/{ident}/start", body)[0] in (200, 204)
            host_config = inspected(engine, ident)["HostConfig"]
            assert isinstance(host_config, dict)
            assert ("Privileged" in host_config) == applied, prefix
    with StubEngine(api_version=V(1, 41)) as engine:
        assert post(engine, f"/v1.23/containers/{created(engine)}/start", body)[0] == 204
        status, reply = post(engine, f"/v1.24/containers/{created(engine)}/start", body)
        assert status == 400 and b"removed in v1.24" in reply


def killed_code(engine: StubEngine, prefix: str, signal: str) -> int:
    ident = started(engine)
    assert post(engine, f"{prefix}/containers/{ident}/kill?signal={signal}")[0] == 204
    code = inspected(engine, ident)["State"]
    assert isinstance(code, dict)
    return int(str(code["ExitCode"]))


@pytest.mark.row("containers.kill.signal", "containers.kill.signal_name")
def test_kill_signal_at_1_6_not_1_7_to_1_8_and_by_name_from_1_9() -> None:
    with StubEngine(api_version=V(1, 12)) as engine:
        assert killed_code(engine, "/v1.5", "15") == 137  # no signal parameter: SIGKILL
        assert killed_code(engine, "/v1.6", "15") == 143
        assert killed_code(engine, "/v1.7", "15") == 137
        assert killed_code(engine, "/v1.8", "15") == 137
        assert killed_code(engine, "/v1.9", "15") == 143
        assert killed_code(engine, "/v1.9", "SIGTERM") == 143
        ident = started(engine)
        assert post(engine, f"/v1.6/containers/{ident}/kill?signal=SIGTERM")[0] == 400


@pytest.mark.row("containers.create.name")
def test_create_name_at_1_6_not_1_7_and_from_1_8() -> None:
    with StubEngine(api_version=V(1, 12)) as engine:
        for prefix, named in (("/v1.5", False), ("/v1.6", True), ("/v1.7", False), ("/v1.8", True)):
            name = "n" + prefix.replace("/v1.", "")
            status, _ = post(engine, f"{prefix}/containers/create?name={name}", CREATE)
            assert status == 201
            assert (get(engine, f"/containers/{name}/json")[0] == 200) == named, prefix


@pytest.mark.row("containers.copy")
def test_copy_from_1_4_until_1_23() -> None:
    body = '{"Resource": "/etc/hostname"}'
    with StubEngine(api_version=V(1, 12)) as engine, Client(engine.host) as client:
        ident = started(engine)
        assert post(engine, f"/v1.3/containers/{ident}/copy", body)[0] == 404
        reply = client.request(api.copy(ident, "/etc/hostname", V(1, 4)))
        assert reply.response.status == 200 and reply.data[:8] == b"hostname"
    with StubEngine(api_version=V(1, 41)) as engine:
        ident = started(engine)
        assert post(engine, f"/v1.23/containers/{ident}/copy", body)[0] == 200
        assert post(engine, f"/v1.24/containers/{ident}/copy", body)[0] == 404


@pytest.mark.row("events.filters")
def test_events_filters_from_1_16() -> None:
    with StubEngine(api_version=V(1, 41)) as engine:
        mine = created(engine)
        other = created(engine)
        filters = json.dumps({"container": [mine]}).replace(" ", "")
        ids = {}
        for prefix in ("/v1.15", "/v1.16"):
            target = f"{prefix}/events?since=1&until=9999999999&filters={filters}"
            reply = get(engine, target)[1]
            ids[prefix] = {json.loads(line)["id"] for line in reply.splitlines() if line}
        assert ids["/v1.15"] >= {mine, other}
        assert ids["/v1.16"] == {mine}


@pytest.mark.row("exec", "exec.inspect")
def test_exec_from_1_15_and_exec_inspect_from_1_16() -> None:
    with StubEngine(api_version=V(1, 41)) as engine:
        ident = started(engine)
        body = '{"Cmd": ["true"], "AttachStdout": true}'
        assert post(engine, f"/v1.14/containers/{ident}/exec", body)[0] == 404
        status, reply = post(engine, f"/v1.15/containers/{ident}/exec", body)
        assert status == 201
        exec_id = json.loads(reply)["Id"]
        assert get(engine, f"/v1.15/exec/{exec_id}/json")[0] == 404
        assert get(engine, f"/v1.16/exec/{exec_id}/json")[0] == 200
    with StubEngine(api_version=V(1, 12)) as engine:
        ident = started(engine)
        body = '{"Cmd": ["true"]}'
        assert post(engine, f"/containers/{ident}/exec", body)[0] == 404


def attach_status(engine: StubEngine, ident: str) -> int:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(engine.socket_path or "")
        request = (
            f"POST /containers/{ident}/attach?logs=1&stdout=1 HTTP/1.1\r\nHost: x\r\n"
            "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
        )
        sock.sendall(request.encode())
        head = b""
        while b"\r\n" not in head:
            head += sock.recv(1)
    return int(head.split(b" ", 2)[1])


@pytest.mark.row("attach.upgrade")
def test_attach_upgrade_101_only_from_engines_of_1_17() -> None:
    with StubEngine(api_version=V(1, 12)) as engine:
        assert attach_status(engine, started(engine, ["true"])) == 200
    with StubEngine(api_version=V(1, 41)) as engine:
        assert attach_status(engine, started(engine, ["true"])) == 101
    with StubEngine(api_version=V(1, 41)) as engine:  # the request's prefix does not matter
        status, _, _ = raw(
            engine,
            f"POST /v1.12/containers/{started(engine, ['true'])}/attach?logs=1&stdout=1 HTTP/1.1"
            "\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
            until_close=True,
        )
        assert status == 101
