"""Images, search, viz, paths and system behaviour by API version, over real sockets.

One test (at least) per ``eras`` row of the paths/system and images sections,
each at the row's boundary: the last version without the behaviour and the
first with it (1.41 standing for "after" where the row's boundary lies past 1.12).
"""

from __future__ import annotations

import json

import pytest

from tests.stub.imagesupport import engine_at, get_json, send
from wireproto.engine import StubEngine, registry

CREATE = b'{"Image": "busybox", "Cmd": ["true"]}'


def create_container(engine: StubEngine, image: str = "busybox") -> str:
    body = json.dumps({"Image": image, "Cmd": ["true"]}).encode()
    status, _, reply = send(
        engine, "POST", "/containers/create", body, {"Content-Type": "application/json"}
    )
    assert status == 201, reply
    document = json.loads(reply)
    return str(document.get("Id") or document.get("ID"))


# --- paths and errors ----------------------------------------------------------------------------


@pytest.mark.row("paths.too_new.silent")
def test_too_new_prefix_up_to_1_8_is_a_bare_404() -> None:
    with engine_at("1.8") as engine:
        status, _, body = send(engine, "GET", "/v1.9/info")
        assert (status, body) == (404, b"")


@pytest.mark.row("paths.too_new.same_version")
def test_from_1_9_a_too_new_prefix_names_both_versions() -> None:
    with engine_at("1.12") as engine:
        status, _, body = send(engine, "GET", "/v1.13/info")
        assert status == 404
        assert body == b"client and server don't have same version (client : 1.13, server: 1.12)\n"


@pytest.mark.row("paths.float_version")
def test_up_to_1_9_the_prefix_is_a_float() -> None:
    with engine_at("1.9") as engine:
        # /v1.10 is 1.1 to strconv.ParseFloat: served, at 1.1 (GET /auth exists only to 1.1)
        assert send(engine, "GET", "/v1.10/auth")[0] == 200
        assert engine.received[-1].version == (1, 1)
    with engine_at("1.10") as engine:
        assert send(engine, "GET", "/v1.10/auth")[0] == 404


@pytest.mark.row("paths.not_found.mux")
def test_unknown_paths_answer_each_era_s_404_text() -> None:
    with engine_at("1.12") as engine:
        assert send(engine, "GET", "/nothing")[1:][1] == b"404 page not found\n"
    with StubEngine() as engine:
        assert send(engine, "GET", "/nothing")[2] == b'{"message":"page not found"}\n'


@pytest.mark.row("errors.json")
def test_errors_are_json_from_1_24_text_before() -> None:
    with StubEngine() as engine:
        status, head, body = send(engine, "GET", "/v1.23/images/nosuch/json")
        assert (status, body) == (404, b"No such image: nosuch\n")
        assert b"text/plain" in head
        status, _, body = send(engine, "GET", "/v1.24/images/nosuch/json")
        assert (status, json.loads(body)) == (404, {"message": "No such image: nosuch"})


# --- system -------------------------------------------------------------------------------------


@pytest.mark.row("_ping")
def test_ping_from_1_11() -> None:
    with engine_at("1.10") as engine:
        assert send(engine, "GET", "/_ping")[0] == 404
    with engine_at("1.11") as engine:
        status, _, body = send(engine, "GET", "/_ping")
        assert (status, body) == (200, b"OK")


@pytest.mark.row("version.api_version")
def test_version_has_api_version_from_1_12() -> None:
    with engine_at("1.11") as engine:
        assert set(get_json(engine, "/version")) == {"Version", "GitCommit", "GoVersion"}
    with engine_at("1.12") as engine:
        assert get_json(engine, "/version")["ApiVersion"] == "1.12"


@pytest.mark.row("info.lxc", "info.ipv4_forwarding", "info.driver")
@pytest.mark.parametrize(
    ("version", "present", "absent"),
    [
        ("1.2", [], ["LXCVersion", "IPv4Forwarding"]),
        ("1.3", ["LXCVersion"], ["IPv4Forwarding"]),
        ("1.4", ["IPv4Forwarding"], ["LXCVersion"]),
        ("1.10", [], ["Driver"]),
        ("1.11", ["Driver", "IndexServerAddress"], []),
    ],
)
def test_info_keys_per_version(version: str, present: list[str], absent: list[str]) -> None:
    with engine_at(version) as engine:
        info = get_json(engine, "/info")
        assert isinstance(info, dict) and info["Images"] == 2
        assert all(k in info for k in present) and not any(k in info for k in absent)


def login(engine: StubEngine, config: dict[str, object]) -> tuple[int, bytes]:
    status, _, body = send(
        engine, "POST", "/auth", json.dumps(config).encode(), {"Content-Type": "application/json"}
    )
    return status, body


@pytest.mark.row("auth.get", "auth.store")
def test_auth_is_stored_and_shown_until_1_1() -> None:
    with engine_at("1.1") as engine:
        assert get_json(engine, "/auth") == {"username": "", "email": "", "serveraddress": ""}
        assert login(engine, {"username": "ann", "password": "s3cret", "email": "a@x"})[0] == 200
        shown = get_json(engine, "/auth")
        assert shown == {"username": "ann", "email": "a@x", "serveraddress": ""}
        assert "s3cret" not in repr(registry.state(engine.world))
    with engine_at("1.2") as engine:
        assert send(engine, "GET", "/auth")[0] == 404


@pytest.mark.row("auth.store")
def test_auth_is_checked_from_1_2() -> None:
    with engine_at("1.1") as engine:
        assert login(engine, {"username": "ann"})[0] == 200  # stored, never checked
    with engine_at("1.2") as engine:
        status, body = login(engine, {"username": "ann"})
        assert (status, body) == (401, b"Wrong login/password, please try again\n")
        assert login(engine, {"username": "ann", "password": "pw"})[0] == 200


# --- list, inspect, history ---------------------------------------------------------------


@pytest.mark.row("images.list.grouped")
def test_image_rows_one_per_tag_before_1_7() -> None:
    with engine_at("1.6") as engine:
        rows = get_json(engine, "/images/json")
        assert {(r["Repository"], r["Tag"]) for r in rows} == {
            ("busybox", "latest"),
            ("alpine", "3.19"),
        }
    with engine_at("1.7") as engine:
        rows = get_json(engine, "/images/json")
        assert sorted(t for r in rows for t in r["RepoTags"]) == ["alpine:3.19", "busybox:latest"]


@pytest.mark.row("images.sizes")
def test_sizes_from_1_2() -> None:
    with engine_at("1.1") as engine:
        assert "Size" not in get_json(engine, "/images/json")[0]
        assert "Size" not in get_json(engine, "/images/busybox/json")
    with engine_at("1.2") as engine:
        assert get_json(engine, "/images/json")[0]["Size"] > 0


@pytest.mark.row("inspect.camelcase")
def test_inspect_keys_lower_case_before_1_12() -> None:
    with engine_at("1.11") as engine:
        document = get_json(engine, "/images/busybox/json")
        assert isinstance(document, dict) and "container_config" in document and "id" in document
    with engine_at("1.12") as engine:
        document = get_json(engine, "/images/busybox:latest/json")
        assert isinstance(document, dict) and document["Config"]["Cmd"] == ["sh"]


def test_inspect_by_id_and_unknown() -> None:
    with StubEngine() as engine:
        image = engine.world.image("busybox")
        assert image is not None
        assert get_json(engine, f"/images/{image.id[7:19]}/json")["Id"] == image.id
        assert send(engine, "GET", "/images/nosuch/json")[0] == 404


def test_history_walks_the_parents() -> None:
    with engine_at("1.12") as engine:
        send(engine, "POST", "/build?t=child", _context('FROM busybox\nCMD ["x"]\n'))
        rows = get_json(engine, "/images/child/history")
        assert isinstance(rows, list) and len(rows) == 2


def _context(dockerfile: str) -> bytes:
    from tests.stub.imagesupport import context

    return context(dockerfile)


@pytest.mark.row("images.list.filters")
def test_filters_dangling_from_1_12() -> None:
    for version, expected in (("1.11", 3), ("1.12", 1)):
        with engine_at(version) as engine:
            send(engine, "POST", "/build", _context('FROM busybox\nCMD ["x"]\n'))  # untagged
            query = '?filters={"dangling":["true"]}'.replace('"', "%22")
            rows = get_json(engine, "/images/json" + query)
            assert isinstance(rows, list) and len(rows) == expected, version


@pytest.mark.row("images.list.filter")
def test_filter_by_repository_until_1_40() -> None:
    with engine_at("1.0") as engine:
        rows = get_json(engine, "/images/json?filter=alpine")
        assert isinstance(rows, list) and [r["Repository"] for r in rows] == ["alpine"]
    with StubEngine() as engine:  # dockerd 20.10 at 1.41: ignored
        rows = get_json(engine, "/images/json?filter=alpine")
        assert isinstance(rows, list) and len(rows) == 2


# --- tag and delete ----------------------------------------------------------------------


@pytest.mark.row("images.tag.conflict")
def test_tag_conflict_needs_force_until_1_21() -> None:
    with engine_at("1.12") as engine:
        status, _, body = send(engine, "POST", "/images/busybox/tag?repo=alpine&tag=3.19")
        assert status == 409 and body.startswith(b"Conflict: Tag 3.19 is already set to image ")
        assert send(engine, "POST", "/images/busybox/tag?repo=alpine&tag=3.19&force=1")[0] == 201
        assert (
            get_json(engine, "/images/alpine:3.19/json")["Id"]
            == get_json(engine, "/images/busybox/json")["Id"]
        )
    with StubEngine() as engine:
        assert send(engine, "POST", "/images/busybox/tag?repo=alpine&tag=3.19")[0] == 201


@pytest.mark.row("images.delete.list")
def test_delete_answers_204_before_1_2_and_a_list_after() -> None:
    with engine_at("1.1") as engine:
        status, _, body = send(engine, "DELETE", "/images/alpine:3.19")
        assert (status, body) == (204, b"")
        assert send(engine, "GET", "/images/alpine:3.19/json")[0] == 404
    with engine_at("1.2") as engine:
        image = engine.world.image("alpine:3.19")
        assert image is not None
        status, _, body = send(engine, "DELETE", "/images/alpine:3.19")
        assert status == 200
        assert json.loads(body) == [{"Untagged": "alpine:3.19"}, {"Deleted": image.id[7:]}]


def test_delete_of_one_tag_of_several_only_untags() -> None:
    with StubEngine() as engine:
        send(engine, "POST", "/images/busybox/tag?repo=mine&tag=1")
        status, _, body = send(engine, "DELETE", "/images/mine:1")
        assert (status, json.loads(body)) == (200, [{"Untagged": "mine:1"}])
        assert send(engine, "GET", "/images/busybox/json")[0] == 200


@pytest.mark.row("images.delete.force")
def test_delete_force_from_1_10() -> None:
    for version, forced in (("1.9", 409), ("1.10", 200)):
        with engine_at(version) as engine:
            create_container(engine)
            status, _, body = send(engine, "DELETE", "/images/busybox")
            assert status == 409 and b"stopped container" in body, version
            assert send(engine, "DELETE", "/images/busybox?force=1")[0] == forced, version


def test_noprune_from_1_10() -> None:
    for version, left in (("1.9", False), ("1.10", True)):
        with engine_at(version) as engine:
            send(engine, "POST", "/build", _context('FROM busybox\nCMD ["a"]\n'))
            parent = next(i for i in engine.world.images.values() if not i.repo_tags)
            send(
                engine, "POST", "/build?t=leaf", _context("FROM " + parent.id[7:] + '\nCMD ["b"]\n')
            )
            send(engine, "DELETE", "/images/leaf?noprune=1")
            assert (parent.id in engine.world.images) is left, version


# --- search and viz -------------------------------------------------------------------------------


@pytest.mark.row("search.is_automated", "search.registry_keys")
@pytest.mark.parametrize(
    ("version", "keys"),
    [
        ("1.6", {"Name", "Description"}),
        ("1.7", {"name", "description", "star_count", "is_official", "is_trusted"}),
        ("1.11", {"name", "description", "star_count", "is_official", "is_trusted"}),
        ("1.12", {"name", "description", "star_count", "is_official", "is_automated"}),
        ("1.41", {"name", "description", "star_count", "is_official", "is_automated"}),
    ],
)
def test_search_keys_per_version(version: str, keys: set[str]) -> None:
    with engine_at(version) as engine:
        rows = get_json(engine, "/images/search?term=busy")
        assert isinstance(rows, list) and len(rows) == 1 and set(rows[0]) == keys


@pytest.mark.row("images.viz")
def test_viz_until_1_6() -> None:
    with engine_at("1.6") as engine:
        status, _, body = send(engine, "GET", "/images/viz")
        assert status == 200 and body.startswith(b"digraph docker {") and b"busybox:latest" in body
    with engine_at("1.7") as engine:
        assert send(engine, "GET", "/images/viz")[0] == 404


def test_image_events_reach_get_events() -> None:
    with StubEngine() as engine:
        send(engine, "POST", "/images/busybox/tag?repo=mine")
        send(engine, "DELETE", "/images/mine")
        body = send(engine, "GET", "/events?since=0&until=9999999999")[2]
        actions = [(m["Type"], m["Action"]) for m in map(json.loads, body.splitlines())]
        assert ("image", "tag") in actions and ("image", "untag") in actions


def test_image_events_carry_status_and_id_at_1_41() -> None:
    """dockerd 20.10 fills the pre-1.22 fields (status, id) for image events as for
    container events (its events.Log); only containers have from."""
    with StubEngine() as engine:
        send(engine, "POST", "/images/busybox/tag?repo=mine")
        body = send(
            engine,
            "GET",
            "/events?since=0&until=9999999999&filters=%7B%22type%22%3A%5B%22image%22%5D%7D",
        )[2]
        tagged = [m for m in map(json.loads, body.splitlines()) if m["Action"] == "tag"]
        image_id = engine.world.image("mine").id  # type: ignore[union-attr]
        assert tagged and tagged[-1]["status"] == "tag" and tagged[-1]["id"] == image_id
        assert "from" not in tagged[-1]
