"""Response shapes: documented payloads of old versions in the modern shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.engine import Engine
from wireproto import api
from wireproto.adapters.blocking import Client
from wireproto.api import shapes
from wireproto.api.shapes import Deleted, Untagged
from wireproto.errors import RemoteProtocolError
from wireproto.versions import ApiVersion

V = ApiVersion
FIXTURES = Path(__file__).parents[1] / "fixtures" / "shapes"


def load(name: str) -> object:
    return json.loads((FIXTURES / name).read_text())


def test_images_before_1_7_are_grouped_into_repo_tags() -> None:
    grouped = shapes.group_images(load("images_v1.6.json"), V(1, 6))
    assert grouped == [
        {
            "Id": "b750fe79269d",
            "Created": 1364102658,
            "Size": 24653,
            "VirtualSize": 180116135,
            "RepoTags": ["base:ubuntu-12.10", "base:ubuntu-quantal"],
        },
        {
            "Id": "27cf78414709",
            "Created": 1364068391,
            "Size": 0,
            "VirtualSize": 180116135,
            "RepoTags": ["<none>:<none>"],
        },
    ]


def test_images_from_1_7_pass_through() -> None:
    rows = [{"RepoTags": ["ubuntu:12.04", "ubuntu:latest"], "Id": "8dbd9e392a96", "Size": 1}]
    assert shapes.group_images(rows, V(1, 7)) == rows
    assert shapes.group_images(rows, None) == rows


def test_ports_before_1_5_become_dicts() -> None:
    rows = shapes.containers(load("containers_v1.4.json"), V(1, 4))
    assert rows[0]["Ports"] == [
        {"PrivatePort": 6379, "Type": "tcp", "IP": "0.0.0.0", "PublicPort": 49153},
        {"PrivatePort": 80, "Type": "tcp", "IP": "0.0.0.0", "PublicPort": 8080},
    ]
    assert rows[1]["Ports"] == [{"PrivatePort": 53, "Type": "udp"}]
    assert rows[2]["Ports"] == []
    assert rows[0]["Id"] == "8dfafdbc3a40"


def test_ports_from_1_5_pass_through() -> None:
    modern = [{"PrivatePort": 2222, "PublicPort": 3333, "Type": "tcp", "IP": "0.0.0.0"}]
    assert shapes.ports(modern, V(1, 5)) == modern
    assert shapes.ports(None, V(1, 41)) == []


@pytest.mark.parametrize("bad", ["49153=>6379", "x->80", "80/quic"])
def test_a_bad_port_string_says_which(bad: str) -> None:
    with pytest.raises(RemoteProtocolError, match="Ports"):
        shapes.ports(bad, V(1, 4))


def test_inspect_before_1_12_gets_camel_case_keys() -> None:
    document = shapes.camel_case(load("image_inspect_v1.11.json"), V(1, 11))
    assert sorted(document) == [
        "Architecture",
        "Author",
        "Container",
        "ContainerConfig",
        "Created",
        "DockerVersion",
        "Id",
        "Os",
        "Parent",
        "Size",
    ]
    config = document["ContainerConfig"]
    assert isinstance(config, dict) and config["Cmd"] == ["/bin/bash"]  # nested: untouched


def test_inspect_from_1_12_passes_through() -> None:
    document = {"Id": "x", "Config": {"Cmd": ["sh"]}, "lowercase_from_engine": 1}
    assert shapes.camel_case(document, V(1, 12)) == document


def test_is_trusted_becomes_is_automated() -> None:
    rows = shapes.search_results(load("search_v1.11.json"), V(1, 11))
    assert [row["is_automated"] for row in rows] == [False, True]
    assert all("is_trusted" not in row for row in rows)
    modern = [{"name": "x", "is_automated": False, "is_official": True}]
    assert shapes.search_results(modern, V(1, 41)) == modern


def test_delete_results_are_typed() -> None:
    assert shapes.delete_results(load("image_delete_v1.2.json"), V(1, 2)) == [
        Untagged("3e2f21a89f"),
        Deleted("3e2f21a89f"),
        Deleted("53b4f83ac9"),
    ]
    assert shapes.delete_results(None, V(1, 1)) == []  # 204, no body, before 1.2


@pytest.mark.parametrize("bad", [{"Untagged": "x"}, [{"Gone": "x"}], [{"Deleted": 3}], "text"])
def test_unexpected_shapes_are_errors(bad: object) -> None:
    with pytest.raises(RemoteProtocolError):
        shapes.delete_results(bad)


def test_unexpected_rows_are_errors() -> None:
    with pytest.raises(RemoteProtocolError, match="GET /images/json"):
        shapes.group_images({"Id": "x"}, V(1, 6))
    with pytest.raises(RemoteProtocolError, match="inspect"):
        shapes.camel_case([], V(1, 11))


def test_search_before_1_7_gets_the_registrys_keys() -> None:
    rows = [{"Name": "cespare/sshd", "Description": ""}]
    assert shapes.search_results(rows, V(1, 6)) == [{"name": "cespare/sshd", "description": ""}]
    assert rows == [{"Name": "cespare/sshd", "Description": ""}]  # the input is left alone
    already = [{"name": "x", "description": "y"}]
    assert shapes.search_results(already, V(1, 6)) == already


def test_top_rows_of_1_3_become_titles_and_processes() -> None:
    rows = [{"PID": "1", "Cmd": "sh"}, {"PID": "7", "Cmd": "sleep"}]
    assert shapes.top_processes(rows, V(1, 3)) == {
        "Titles": ["PID", "Cmd"],
        "Processes": [["1", "sh"], ["7", "sleep"]],
    }
    assert shapes.top_processes([], V(1, 3)) == {"Titles": [], "Processes": []}
    modern = {"Titles": ["PID"], "Processes": [["1"]]}
    assert shapes.top_processes(modern, V(1, 3)) == modern  # already modern: as is
    assert shapes.top_processes(modern, V(1, 4)) == modern


def test_top_rows_that_disagree_are_an_error() -> None:
    with pytest.raises(RemoteProtocolError, match="top"):
        shapes.top_processes([{"PID": "1"}, {"PID": "2", "Cmd": "x"}], V(1, 3))
    with pytest.raises(RemoteProtocolError, match="Processes"):
        shapes.top_processes({"Titles": []}, V(1, 41))


def test_info_events_listeners_becomes_a_count() -> None:
    assert shapes.info_document({"EventsListeners": "3", "Images": 1}, V(1, 3)) == {
        "NEventsListener": 3,
        "Images": 1,
    }
    modern = {"NEventsListener": 0}
    assert shapes.info_document(modern, V(1, 41)) == modern
    with pytest.raises(RemoteProtocolError, match="EventsListeners"):
        shapes.info_document({"EventsListeners": None}, V(1, 3))


def test_container_inspect_network_keys_take_todays_spelling() -> None:
    document = {"Id": "x", "NetworkSettings": {"IpAddress": "10.0.0.2", "IpPrefixLen": 16}}
    assert shapes.container_inspect(document, V(1, 11)) == {
        "Id": "x",
        "NetworkSettings": {"IPAddress": "10.0.0.2", "IPPrefixLen": 16},
    }
    modern = {"Id": "x", "NetworkSettings": {"IPAddress": "10.0.0.2"}}
    assert shapes.container_inspect(modern, V(1, 41)) == modern


def test_delete_rows_are_todays_json() -> None:
    assert shapes.delete_rows(load("image_delete_v1.2.json"), V(1, 2)) == load(
        "image_delete_v1.2.json"
    )
    no_body = shapes.Normaliser(shapes.delete_rows, V(1, 1), empty=list)
    assert no_body(None) == []


def test_a_normaliser_leaves_no_body_alone_unless_told() -> None:
    assert shapes.bind(shapes.group_images, V(1, 6))(None) is None


@pytest.mark.engine
@pytest.mark.parametrize("version", [V(1, 12), V(1, 41)])
def test_engine_payloads_are_already_modern(engine: Engine, version: ApiVersion) -> None:
    with Client(engine.host) as client:
        for call in (
            api.list_images(version),
            api.inspect_image(engine.image, version),
            api.list_containers(version, all=True),
            api.info(version),
        ):
            reply = client.request(call)
            assert reply.document == reply.raw, call.request.target
        images = client.request(api.list_images(version)).raw
        assert shapes.group_images(images, version) == images
        image = client.request(api.inspect_image(engine.image, version)).raw
        assert shapes.camel_case(image, version) == image
        rows = client.request(api.list_containers(version, all=True)).raw
        assert shapes.containers(rows, version) == rows
