"""The catalogue against the real engine, at /v1.12 and at the negotiated version."""

from __future__ import annotations

import io
import json
import tarfile
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.support.engine import Engine, Registry
from wireproto import api
from wireproto.adapters.blocking import Client
from wireproto.api import events as events_api
from wireproto.errors import APIError, NotFound, UnsupportedInVersion
from wireproto.http import BodyKind, Call, request
from wireproto.versions import ApiVersion

pytestmark = pytest.mark.engine
V12 = ApiVersion(1, 12)


@pytest.fixture(params=["v1.12", "negotiated"])
def client(request: pytest.FixtureRequest, engine: Engine) -> Iterator[Client]:
    with Client(engine.host) as the_client:
        the_client.negotiate(V12 if request.param == "v1.12" else None)
        yield the_client


def ok(client: Client, call: Call) -> object:
    """Runs ``call``; its status must be one it documents. Returns document or data."""
    reply = client.request(call)
    assert call.expects(reply.response.status), reply.response
    return reply.document if call.kind is BodyKind.DOCUMENT else reply.data


def as_list(document: object) -> list[object]:
    """A JSON array (``null``, as changes answers before any change, is empty)."""
    assert document is None or isinstance(document, list)
    return document or []


def tar_names(data: object) -> list[str]:
    """The member names of a tar body; tarfile raises if it is not a valid tar."""
    assert isinstance(data, bytes)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return archive.getnames()


def create(
    client: Client, engine: Engine, cmd: list[str], labels: dict[str, str] | None = None
) -> str:
    config: dict[str, object] = {"Image": engine.image, "Cmd": cmd, "NetworkDisabled": True}
    if labels:
        config["Labels"] = labels
    created = ok(client, api.create_container(config, client.api_version))
    assert isinstance(created, dict)
    cid = str(created["Id"])
    engine.containers.append(cid)
    return cid


def test_container_lifecycle(client: Client, engine: Engine) -> None:
    v = client.api_version
    cid = create(client, engine, ["sh", "-c", "echo made > /newfile; sleep 60"])
    assert client.request(api.start(cid, v)).response.status == 204
    assert client.request(api.start(cid, v)).response.status == 304  # already running
    top = ok(client, api.top(cid, v, ps_args="-ef"))
    assert isinstance(top, dict) and "PID" in top["Titles"]
    assert any("sleep 60" in row[-1] for row in top["Processes"])
    deadline = time.monotonic() + 10
    while {"Path": "/newfile", "Kind": 1} not in as_list(ok(client, api.changes(cid, v))):
        assert time.monotonic() < deadline, "the container never made /newfile"
        time.sleep(0.05)
    exported = api.export(cid, v)
    assert exported.kind is BodyKind.TAR
    assert "newfile" in tar_names(ok(client, exported))
    ok(client, api.resize(cid, 24, 80, v))
    inspected = ok(client, api.inspect_container(cid, v))
    assert isinstance(inspected, dict) and inspected["State"]["Running"] is True
    ok(client, api.kill(cid, v, signal="SIGKILL"))
    waited = ok(client, api.wait(cid, v))
    assert isinstance(waited, dict) and waited["StatusCode"] == 137
    assert client.request(api.stop(cid, v)).response.status == 304  # already stopped
    ok(client, api.restart(cid, v, timeout=0))
    inspected = ok(client, api.inspect_container(cid, v))
    assert isinstance(inspected, dict) and inspected["State"]["Running"] is True
    ok(client, api.stop(cid, v, timeout=0))
    ok(client, api.remove_container(cid, v))
    with pytest.raises(NotFound):
        client.request(api.inspect_container(cid, v))


def test_delete_a_running_container_with_force(client: Client, engine: Engine) -> None:
    v = client.api_version
    cid = create(client, engine, ["sleep", "60"])
    ok(client, api.start(cid, v))
    ok(client, api.remove_container(cid, v, force=True, volumes=True))
    with pytest.raises(NotFound):
        client.request(api.inspect_container(cid, v))


def test_copy_is_a_tar_at_v1_12_and_refused_from_1_24(engine: Engine) -> None:
    with Client(engine.host) as client:
        cid = create(client, engine, ["true"])
        assert tar_names(ok(client, api.copy(cid, "/etc/hostname", V12))) == ["hostname"]
        with pytest.raises(UnsupportedInVersion):
            api.copy(cid, "/etc/hostname", ApiVersion(1, 24))
        # The gate matches the engine: at 1.24 the route is gone.
        raw = request("POST", "/containers/{}/copy", cid, version=ApiVersion(1, 24),
                      json_body={"Resource": "/etc/hostname"})  # fmt: skip
        with pytest.raises(NotFound):
            client.request(Call(request=raw, kind=BodyKind.BYTES))


def test_commit_tag_history_get_load_and_delete(client: Client, engine: Engine) -> None:
    v = client.api_version
    repo = f"wp-api-{uuid.uuid4().hex[:8]}"
    cid = create(client, engine, ["sh", "-c", "echo hi > /committed"])
    ok(client, api.start(cid, v))
    ok(client, api.wait(cid, v))
    committed = ok(
        client,
        api.commit(cid, v, repo=repo, tag="one", comment="by wireproto", author="p4",
                   config={"Cmd": ["cat", "/committed"]}),
    )  # fmt: skip
    assert isinstance(committed, dict) and committed["Id"]
    ok(client, api.tag(f"{repo}:one", repo, v, tag="two"))
    image = ok(client, api.inspect_image(f"{repo}:two", v))
    assert isinstance(image, dict) and image["Id"] == committed["Id"]
    assert image["Author"] == "p4" and image["Comment"] == "by wireproto"
    history = ok(client, api.history(f"{repo}:one", v))
    assert isinstance(history, list) and history[0]["Id"] == committed["Id"]
    listed = ok(client, api.list_images(v))
    assert isinstance(listed, list)
    assert any(f"{repo}:one" in (row.get("RepoTags") or []) for row in listed)
    get = api.get_image(f"{repo}:two", v)
    assert get.kind is BodyKind.TAR
    saved = ok(client, get)
    assert "manifest.json" in tar_names(saved)
    untagged = ok(client, api.remove_image(f"{repo}:two", v))
    assert untagged == [{"Untagged": f"{repo}:two"}]
    ok(client, api.remove_container(cid, v))
    deleted = ok(client, api.remove_image(f"{repo}:one", v, force=True, noprune=True))
    assert {"Untagged": f"{repo}:one"} in deleted  # type: ignore[operator]
    assert {"Deleted": committed["Id"]} in deleted  # type: ignore[operator]
    assert isinstance(saved, bytes)
    ok(client, api.load_image(saved, v))
    assert ok(client, api.inspect_image(f"{repo}:two", v))
    ok(client, api.remove_image(f"{repo}:two", v))


def test_import_a_tar_as_an_image(client: Client) -> None:
    v = client.api_version
    repo = f"wp-import-{uuid.uuid4().hex[:8]}"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("hello.txt")
        info.size = 3
        archive.addfile(info, io.BytesIO(b"hi\n"))
    progress = ok(client, api.import_image(buffer.getvalue(), v, repo=repo, tag="t"))
    assert isinstance(progress, bytes) and b"status" in progress
    assert ok(client, api.inspect_image(f"{repo}:t", v))
    ok(client, api.remove_image(f"{repo}:t", v))


def test_info_version_and_ping(client: Client) -> None:
    v = client.api_version
    info = ok(client, api.info(v))
    assert isinstance(info, dict) and "Containers" in info and "Images" in info
    version = ok(client, api.engine_version(v))
    assert isinstance(version, dict) and version["ApiVersion"]
    assert ok(client, api.ping(v)) == b"OK"


def test_exec_create_start_resize_inspect(engine: Engine) -> None:
    with Client(engine.host) as client:
        v = client.negotiate()
        cid = create(client, engine, ["sleep", "60"])
        ok(client, api.start(cid, v))
        created = ok(client, api.exec_create(cid, ["sh", "-c", "echo out; echo err >&2"], v))
        assert isinstance(created, dict)
        exec_id = str(created["Id"])
        with client.hijack(api.exec_start(exec_id, v)) as session:
            output = list(session)
        assert b"".join(p for s, p in output if s == 1) == b"out\n"
        assert b"".join(p for s, p in output if s == 2) == b"err\n"
        inspected = ok(client, api.exec_inspect(exec_id, v))
        assert isinstance(inspected, dict) and inspected["ExitCode"] == 0
        tty = ok(client, api.exec_create(cid, ["sleep", "5"], v, tty=True))
        assert isinstance(tty, dict)
        ok(client, api.exec_start(str(tty["Id"]), v, tty=True, detach=True))
        ok(client, api.exec_resize(str(tty["Id"]), 30, 100, v))
        ok(client, api.remove_container(cid, v, force=True))


def ids(rows: object) -> set[str]:
    assert isinstance(rows, list)
    return {str(row["Id"]) for row in rows}


def test_container_list_filters_and_paging(client: Client, engine: Engine) -> None:
    v = client.api_version
    label = f"wp.filters={uuid.uuid4().hex[:8]}"
    key, value = label.split("=")
    exited = create(client, engine, ["true"], labels={key: value})
    ok(client, api.start(exited, v))
    ok(client, api.wait(exited, v))
    created = create(client, engine, ["true"], labels={key: value})
    mine = {"label": [label]}
    assert ids(ok(client, api.list_containers(v, all=True, filters=mine))) == {exited, created}
    only_exited = {"label": label, "status": "exited"}
    assert ids(ok(client, api.list_containers(v, all=True, filters=only_exited))) == {exited}
    assert ids(ok(client, api.list_containers(v, filters=mine))) == set()  # none runs
    # Paging within our label (other tests make containers on this engine at the same time).
    newest = ok(client, api.list_containers(v, all=True, limit=1, size=True, filters=mine))
    assert ids(newest) == {created}
    assert isinstance(newest, list) and newest[0]["SizeRootFs"] > 0
    ok(client, api.remove_container(exited, v))
    ok(client, api.remove_container(created, v))


def test_image_list_filters(client: Client, engine: Engine) -> None:
    v = client.api_version
    repo = f"wp-filters-{uuid.uuid4().hex[:8]}"
    label = f"wp.image={repo}"
    cid = create(client, engine, ["true"])
    dangling = ok(client, api.commit(cid, v, config={"Labels": {"wp.image": repo}}))
    tagged = ok(client, api.commit(cid, v, repo=repo, tag="t"))
    assert isinstance(dangling, dict) and isinstance(tagged, dict)
    listed = ids(ok(client, api.list_images(v, filters={"dangling": ["true"]})))
    assert dangling["Id"] in listed and tagged["Id"] not in listed
    assert ids(ok(client, api.list_images(v, filters={"label": [label]}))) == {dangling["Id"]}
    ok(client, api.remove_image(dangling["Id"], v))
    ok(client, api.remove_image(f"{repo}:t", v))
    ok(client, api.remove_container(cid, v))


@pytest.mark.parametrize("version", [V12, ApiVersion(1, 40)], ids=["v1.12", "v1.40"])
def test_image_list_filter_by_name_until_1_40(engine: Engine, version: ApiVersion) -> None:
    with Client(engine.host) as client:
        named = ok(client, api.list_images(version, filter=engine.image.split(":")[0]))
        assert isinstance(named, list) and named
        assert all(engine.image in row["RepoTags"] for row in named)
        everything = ok(client, api.list_images(version))
        assert isinstance(everything, list) and len(everything) > len(named)
        # The gate matches the engine: from 1.41 it ignores `filter` and lists everything.
        with pytest.raises(UnsupportedInVersion):
            api.list_images(ApiVersion(1, 41), filter="x")
        raw = request("GET", "/images/json", version=ApiVersion(1, 41), query={"filter": "x"})
        ignored = client.request(Call(request=raw, kind=BodyKind.DOCUMENT)).document
        assert isinstance(ignored, list) and len(ignored) == len(everything)


def test_pause_unpause_and_kill_by_number(client: Client, engine: Engine) -> None:
    v = client.api_version
    cid = create(client, engine, ["sleep", "60"])
    ok(client, api.start(cid, v))
    ok(client, api.pause(cid, v))
    inspected = ok(client, api.inspect_container(cid, v))
    assert isinstance(inspected, dict) and inspected["State"]["Paused"] is True
    ok(client, api.unpause(cid, v))
    inspected = ok(client, api.inspect_container(cid, v))
    assert isinstance(inspected, dict) and inspected["State"]["Paused"] is False
    ok(client, api.kill(cid, v, signal=9))
    waited = ok(client, api.wait(cid, v))
    assert isinstance(waited, dict) and waited["StatusCode"] == 137
    ok(client, api.remove_container(cid, v))


def test_wait_condition(engine: Engine) -> None:
    """``condition`` (1.30+): not-running answers at once for a container never started."""
    with Client(engine.host) as client:
        v = client.negotiate()
        cid = create(client, engine, ["true"])
        waited = ok(client, api.wait(cid, v, condition="not-running"))
        assert isinstance(waited, dict) and waited["StatusCode"] == 0
        ok(client, api.remove_container(cid, v))


def test_events_since_until(client: Client, engine: Engine) -> None:
    v = client.api_version
    since = int(time.time()) - 1
    cid = create(client, engine, ["true"])
    ok(client, api.remove_container(cid, v))
    until = int(time.time()) + 1
    time.sleep(max(0.0, until - time.time()) + 0.2)  # the window is over: the stream ends
    body = ok(client, events_api.events(v, since=str(since), until=str(until)))
    assert isinstance(body, bytes)
    mine = [e for e in map(json.loads, body.splitlines()) if e.get("id") == cid]
    assert [e["status"] for e in mine] == ["create", "destroy"]


def test_login(client: Client, auth_registry: Registry) -> None:
    assert auth_registry.user and auth_registry.password
    config = {"username": auth_registry.user, "serveraddress": auth_registry.address}
    reply = ok(
        client, api.login({**config, "password": auth_registry.password}, client.api_version)
    )
    assert isinstance(reply, dict) and reply["Status"] == "Login Succeeded"
    with pytest.raises(APIError):
        client.request(api.login({**config, "password": "wrong"}, client.api_version))
