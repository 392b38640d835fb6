"""Pull, import, push, insert, get, load and commit by API version, over real sockets."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from tests.stub.imagesupport import auth_header, engine_at, get_json, messages, send, tar_of
from tests.stub.test_versions_images import create_container, login
from wireproto.engine import StubEngine

JSON = {"Content-Type": "application/json"}


@pytest.mark.row("jsonstream")
def test_pull_is_raw_text_at_1_0_and_json_from_1_1() -> None:
    with engine_at("1.0") as engine:
        status, head, body = send(engine, "POST", "/images/create?fromImage=busybox")
        assert status == 200 and b"application/vnd.docker.raw-stream" in head
        assert body.startswith(b"Pulling repository busybox\n")
    with engine_at("1.1") as engine:
        status, head, body = send(engine, "POST", "/images/create?fromImage=busybox")
        assert status == 200 and b"application/json" in head
        assert messages(body)[0] == {"status": "Pulling repository busybox"}


@pytest.mark.row("progress.detail")
def test_progress_detail_from_1_8() -> None:
    for version, detail in (("1.7", False), ("1.8", True)):
        with engine_at(version) as engine:
            body = send(engine, "POST", "/images/create?fromImage=busybox&tag=latest")[2]
            downloading = [m for m in messages(body) if m["status"] == "Downloading"]
            assert downloading and all("progress" in m for m in downloading)
            assert all(("progressDetail" in m) is detail for m in downloading), version


@pytest.mark.row("error_detail")
def test_pull_of_an_unknown_image_per_era() -> None:
    with engine_at("1.7") as engine:
        status, _, body = send(engine, "POST", "/images/create?fromImage=nosuch")
        assert status == 200 and messages(body)[-1] == {
            "error": "Error: image nosuch:latest not found"
        }
    with engine_at("1.8") as engine:
        last = messages(send(engine, "POST", "/images/create?fromImage=nosuch")[2])[-1]
        assert last["errorDetail"] == {"message": "Error: image nosuch:latest not found"}
    with StubEngine() as engine:
        status, _, body = send(engine, "POST", "/images/create?fromImage=nosuch&tag=latest")
        assert status == 404 and b"pull access denied for nosuch" in body


def test_pull_restores_a_removed_image() -> None:
    with engine_at("1.12") as engine:
        send(engine, "DELETE", "/images/busybox")
        assert send(engine, "GET", "/images/busybox/json")[0] == 404
        send(engine, "POST", "/images/create?fromImage=busybox&tag=latest")
        assert send(engine, "GET", "/images/busybox/json")[0] == 200


@pytest.mark.row("images.create.registry")
def test_registry_parameter_until_1_20() -> None:
    target = "/images/create?fromImage=busybox&tag=latest&registry=127.0.0.1:5000"
    with engine_at("1.12") as engine:  # read: the stub's registry has no 127.0.0.1:5000/busybox
        assert "error" in messages(send(engine, "POST", target)[2])[-1]
    with StubEngine() as engine:  # ignored by dockerd 20.10
        status, _, body = send(engine, "POST", target)
        assert status == 200 and "error" not in messages(body)[-1]


def test_import_from_a_tar_body() -> None:
    rootfs = tar_of({"etc/hostname": b"stub\n"})
    for version, json_stream in (("1.0", False), ("1.12", True)):
        with engine_at(version) as engine:
            target = "/images/create?fromSrc=-&repo=imported&tag=v1"
            status, _, body = send(engine, "POST", target, rootfs)
            assert status == 200
            image = engine.world.image("imported:v1")
            assert image is not None
            short = image.id[7:19]
            assert body == (
                json.dumps({"status": short}, separators=(",", ":")).encode() + b"\r\n"
                if json_stream
                else short.encode() + b"\n"
            )
    with StubEngine() as engine:
        assert (
            "error"
            in messages(send(engine, "POST", "/images/create?fromSrc=-", b"not a tar")[2])[0]
        )


def _push(
    engine: StubEngine, target: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> bytes:
    status, _, reply = send(engine, "POST", target, body, headers)
    assert status == 200, reply
    return reply


@pytest.mark.row("push.auth_body")
def test_push_at_1_1_uses_the_stored_login() -> None:
    with engine_at("1.1") as engine:
        assert b"Authentication is required" in _push(engine, "/images/busybox/push")
        login(engine, {"username": "ann", "password": "pw"})
        assert b"error" not in _push(engine, "/images/busybox/push")


@pytest.mark.row("push.auth_body", "registry_auth")
def test_push_auth_in_the_body_from_1_2_to_1_4() -> None:
    credentials = json.dumps({"username": "ann", "password": "pw"}).encode()
    header = {"X-Registry-Auth": auth_header({"username": "ann", "password": "pw"})}
    with engine_at("1.2") as engine:
        login(engine, {"username": "ann", "password": "pw"})  # checked, not stored, from 1.2
        assert b"error" in _push(engine, "/images/busybox/push")
        assert b"error" not in _push(engine, "/images/busybox/push", credentials, JSON)
    with engine_at("1.4") as engine:
        assert b"error" in _push(engine, "/images/busybox/push", b"", header)
        assert b"error" not in _push(engine, "/images/busybox/push", credentials, JSON)


@pytest.mark.row("push.auth_body", "registry_auth")
def test_push_auth_in_x_registry_auth_from_1_5() -> None:
    credentials = json.dumps({"username": "ann", "password": "pw"}).encode()
    header = {"X-Registry-Auth": auth_header({"username": "ann", "password": "pw"})}
    with engine_at("1.5") as engine:
        assert b"error" in _push(engine, "/images/busybox/push", credentials, JSON)
        assert b"error" not in _push(engine, "/images/busybox/push", b"", header)
        assert engine.world.events[-1].action == "push"


@pytest.mark.row("push.tag")
def test_push_tag_from_1_10() -> None:
    header = {"X-Registry-Auth": auth_header({"username": "ann", "password": "pw"})}
    for version, pushed in (("1.9", {"busybox:latest", "busybox:old"}), ("1.10", {"busybox:old"})):
        with engine_at(version) as engine:
            send(engine, "POST", "/images/busybox/tag?repo=busybox&tag=old")
            _push(engine, "/images/busybox/push?tag=old", b"", header)
            from wireproto.engine import registry

            assert set(registry.state(engine.world).pushed) == pushed, version


def test_pushed_images_can_be_pulled_back() -> None:
    header = {"X-Registry-Auth": auth_header({"username": "ann", "password": "pw"})}
    with StubEngine() as engine:
        send(engine, "POST", "/images/busybox/tag?repo=127.0.0.1:5000/mine&tag=1")
        pushed = messages(_push(engine, "/images/127.0.0.1:5000/mine/push?tag=1", b"", header))
        send(engine, "DELETE", "/images/127.0.0.1:5000/mine:1")
        target = "/images/create?fromImage=127.0.0.1:5000/mine&tag=1"
        status, _, body = send(engine, "POST", target)
        assert status == 200 and engine.world.image("127.0.0.1:5000/mine:1") is not None
        # dockerd's messages: the repository and tag, the push's digest, what changed locally
        pulled = messages(body)
        assert pulled[0] == {"status": "Pulling from 127.0.0.1:5000/mine", "id": "1"}
        digest = str(pushed[-1]["status"]).split()[2]
        assert pulled[-2] == {"status": f"Digest: {digest}"}
        newer = "Status: Downloaded newer image for 127.0.0.1:5000/mine:1"
        assert pulled[-1] == {"status": newer}
        again = messages(send(engine, "POST", target)[2])[-1]
        assert again == {"status": "Status: Image is up to date for 127.0.0.1:5000/mine:1"}


def test_push_of_an_unknown_image_is_404() -> None:
    with StubEngine() as engine:
        assert send(engine, "POST", "/images/nosuch/push")[0] == 404


@pytest.mark.row("images.insert")
def test_insert_until_1_11() -> None:
    target = "/images/busybox/insert?url=http://127.0.0.1/f&path=/f"
    with engine_at("1.11") as engine:
        status, _, body = send(engine, "POST", target)
        assert status == 200
        child = messages(body)[-1]["status"]
        image = engine.world.image(str(child))
        assert image is not None and image.parent == engine.world.image("busybox").id  # type: ignore[union-attr]
    with engine_at("1.12") as engine:
        assert send(engine, "POST", target)[0] == 404


@pytest.mark.row("images.get", "images.load")
def test_get_from_1_7_is_a_save_tar_and_load_restores_it() -> None:
    with engine_at("1.6") as engine:
        assert send(engine, "GET", "/images/busybox/get")[0] == 404
        assert send(engine, "POST", "/images/load", b"")[0] == 404
    with engine_at("1.7") as engine:
        status, head, data = send(engine, "GET", "/images/busybox/get")
        assert status == 200 and b"application/x-tar" in head
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            names = archive.getnames()
            handle = archive.extractfile("repositories")
            assert handle is not None
            repositories = json.loads(handle.read())
        image_id = engine.world.image("busybox").id[7:]  # type: ignore[union-attr]
        assert repositories == {"busybox": {"latest": image_id}}
        assert {f"{image_id}/json", f"{image_id}/layer.tar"} <= set(names)
        assert "manifest.json" not in names
        send(engine, "DELETE", "/images/busybox")
        assert send(engine, "POST", "/images/load", data)[0] == 200
        assert get_json(engine, "/images/busybox/json")["id"] == image_id  # type: ignore[index]


def test_load_of_an_image_still_present_keeps_its_other_tags() -> None:
    """docker load adds the archive's tags; the image's own tags stay (the base image of
    every later call, in the conformance matrix)."""
    for version in ("1.7", "1.12", "1.41"):
        with engine_at(version) as engine:
            send(engine, "POST", "/images/busybox/tag?repo=saved&tag=t")
            data = send(engine, "GET", "/images/saved:t/get")[2]
            assert send(engine, "POST", "/images/load", data)[0] == 200
            image = engine.world.image("saved:t")
            assert image is not None and engine.world.image("busybox:latest") is image, version
            assert sorted(image.repo_tags) == ["busybox:latest", "saved:t"], version


def test_get_at_1_41_has_a_manifest() -> None:
    with StubEngine() as engine:
        data = send(engine, "GET", "/images/get?names=busybox&names=alpine:3.19")[2]
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            handle = archive.extractfile("manifest.json")
            assert handle is not None
            manifest = json.loads(handle.read())
        assert [m["RepoTags"] for m in manifest] == [["busybox:latest"], ["alpine:3.19"]]
        status, _, body = send(engine, "POST", "/images/load", data)
        assert status == 200 and messages(body)[0] == {"stream": "Loaded image: busybox:latest\n"}


@pytest.mark.row("commit.run")
def test_commit_config_from_run_at_1_7_to_1_8() -> None:
    run = json.dumps({"Cmd": ["from-run"]}).replace('"', "%22").replace(" ", "")
    body = json.dumps({"Cmd": ["from-body"]}).encode()
    for version, cmd in (
        ("1.6", "from-body"),
        ("1.7", "from-run"),
        ("1.8", "from-run"),
        ("1.9", "from-body"),
    ):
        with engine_at(version) as engine:
            container = create_container(engine)
            target = f"/commit?container={container}&repo=made&run={run}"
            status, _, reply = send(engine, "POST", target, body, JSON)
            assert status == 201, reply
            image = engine.world.image("made")
            assert image is not None and image.config["Cmd"] == [cmd], version
            assert json.loads(reply) == {"Id": image.id[7:]}


@pytest.mark.row("commit.comment")
def test_commit_message_is_comment_from_1_12() -> None:
    for version, message in (("1.11", "from-m"), ("1.12", "from-comment")):
        with engine_at(version) as engine:
            container = create_container(engine)
            target = f"/commit?container={container}&repo=made&m=from-m&comment=from-comment"
            assert send(engine, "POST", target, b"{}", JSON)[0] == 201
            assert engine.world.image("made").comment == message, version  # type: ignore[union-attr]
    with StubEngine() as engine:
        assert send(engine, "POST", "/commit?container=nosuch", b"{}", JSON)[0] == 404
