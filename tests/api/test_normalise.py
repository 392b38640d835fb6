"""Every catalogue call carries its normaliser: one reply shape at 1.0 as at 1.41.

Strategy: each case is a call of the catalogue made at an old version, the
example response that version's reference documents (moby's
docs/sources/reference/api/docker_remote_api_v1.N.md, transcribed), and the
same data in today's shape, built by hand from the v1.12 reference's example
of that endpoint.  ``call.normalise(old)`` must equal the modern shape, the
old document must be left as it was, and the modern example sent at 1.41
must come back equal.  Then a loopback engine answers canned old-version
bodies to the blocking, asyncio and trio clients: ``Reply.document`` is the
modern shape, ``Reply.raw`` the body as sent.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.support.adapters import Adapter
from tests.support.sockets import FakeEngine, answer
from wireproto import api
from wireproto.errors import RemoteProtocolError
from wireproto.http import Call
from wireproto.versions import ApiVersion

V = ApiVersion
MODERN = V(1, 41)


@dataclass(frozen=True)
class Case:
    """``make(version)`` answered ``old`` at ``version``; ``modern`` is the same data today."""

    name: str
    make: Callable[[ApiVersion | None], Call]
    version: ApiVersion
    old: object
    modern: object


# --- the references' examples ------------------------------------------------------------------

# GET /images/json, v1.0: one row per repository:tag.
IMAGES_V1_0 = [
    {"Repository": "ubuntu", "Tag": "precise", "Id": "b750fe79269d", "Created": 1364102658},
    {"Repository": "ubuntu", "Tag": "12.04", "Id": "b750fe79269d", "Created": 1364102658},
]
IMAGES_MODERN = [
    {"RepoTags": ["ubuntu:precise", "ubuntu:12.04"], "Id": "b750fe79269d", "Created": 1364102658}
]

# GET /containers/json, v1.2: Ports as a string ("" when nothing is exposed).
CONTAINERS_V1_2 = [
    {
        "Id": "8dfafdbc3a40",
        "Image": "ubuntu:latest",
        "Command": "echo 1",
        "Created": 1367854155,
        "Status": "Exit 0",
        "Ports": "",
        "SizeRw": 12288,
        "SizeRootFs": 0,
    },
    {
        "Id": "9cd87474be90",
        "Image": "ubuntu:latest",
        "Command": "echo 222222",
        "Created": 1367854155,
        "Status": "Exit 0",
        "Ports": "0.0.0.0:3333->2222/tcp",
        "SizeRw": 12288,
        "SizeRootFs": 0,
    },
]
CONTAINERS_MODERN = [
    {**CONTAINERS_V1_2[0], "Ports": []},
    {
        **CONTAINERS_V1_2[1],
        "Ports": [{"IP": "0.0.0.0", "PrivatePort": 2222, "PublicPort": 3333, "Type": "tcp"}],
    },
]

# GET /containers/(id)/json, v1.0: CamelCase already, NetworkSettings spelled IpAddress.
CONTAINER_V1_0 = {
    "Id": "4fa6e0f0c6786287e131c3852c58a2e01cc697a68231826813597e4994f1d6e2",
    "Created": "2013-05-07T14:51:42.041847+02:00",
    "Path": "date",
    "Args": [],
    "Config": {"Hostname": "4fa6e0f0c678", "Tty": False, "Cmd": ["date"], "Image": "ubuntu"},
    "State": {"Running": False, "Pid": 0, "ExitCode": 0, "Ghost": False},
    "Image": "b750fe79269d2ec9a3c593ef05b4332b1d1a02a62b4accb2c21d589ff2f5f2dc",
    "NetworkSettings": {
        "IpAddress": "",
        "IpPrefixLen": 0,
        "Gateway": "",
        "Bridge": "",
        "PortMapping": None,
    },
    "SysInitPath": "/home/kitty/go/src/github.com/docker/docker/bin/docker",
    "ResolvConfPath": "/etc/resolv.conf",
    "Volumes": {},
}
CONTAINER_MODERN = {
    **CONTAINER_V1_0,
    "NetworkSettings": {
        "IPAddress": "",
        "IPPrefixLen": 0,
        "Gateway": "",
        "Bridge": "",
        "PortMapping": None,
    },
}

# GET /images/(name)/json, v1.0: lower-case keys; v1.12's example has them CamelCase.
CONFIG = {"Hostname": "", "Tty": True, "OpenStdin": True, "Cmd": ["/bin/bash"], "Image": "centos"}
IMAGE_V1_0 = {
    "id": "b750fe79269d2ec9a3c593ef05b4332b1d1a02a62b4accb2c21d589ff2f5f2dc",
    "parent": "27cf784147099545",
    "created": "2013-03-23T22:24:18.818426-07:00",
    "container": "3d67245a8d72ecf13f33dffac9f79dcdf70f75acb84d308770391510e0c23ad0",
    "container_config": CONFIG,
}
IMAGE_MODERN = {
    "Id": IMAGE_V1_0["id"],
    "Parent": IMAGE_V1_0["parent"],
    "Created": IMAGE_V1_0["created"],
    "Container": IMAGE_V1_0["container"],
    "ContainerConfig": CONFIG,
}

# GET /containers/(id)/top, v1.3: one object per process.
TOP_V1_3 = [
    {"PID": "11935", "Tty": "pts/2", "Time": "00:00:00", "Cmd": "sh"},
    {"PID": "12140", "Tty": "pts/2", "Time": "00:00:00", "Cmd": "sleep"},
]
TOP_MODERN = {
    "Titles": ["PID", "Tty", "Time", "Cmd"],
    "Processes": [["11935", "pts/2", "00:00:00", "sh"], ["12140", "pts/2", "00:00:00", "sleep"]],
}
TITLES = ["USER", "PID", "%CPU", "%MEM", "VSZ", "RSS", "TTY", "STAT", "START", "TIME", "COMMAND"]
TOP_V1_4 = {
    "Titles": TITLES,
    "Processes": [
        ["root", "20147", "0.0", "0.1", "18060", "1864", "pts/4", "S", "10:06", "0:00", "bash"],
    ],
}

# GET /images/search: v1.0 .. v1.6 {"Name", "Description"}; v1.7 .. v1.11 is_trusted.
SEARCH_V1_0 = [
    {"Name": "cespare/sshd", "Description": ""},
    {"Name": "johnfuller/sshd", "Description": ""},
]
SEARCH_V1_0_MODERN = [
    {"name": "cespare/sshd", "description": ""},
    {"name": "johnfuller/sshd", "description": ""},
]
SEARCH_V1_7 = [
    {
        "description": "",
        "is_official": False,
        "is_trusted": False,
        "name": "wma55/u1210sshd",
        "star_count": 0,
    }
]
SEARCH_MODERN = [
    {
        "description": "",
        "is_official": False,
        "is_automated": False,
        "name": "wma55/u1210sshd",
        "star_count": 0,
    }
]

# DELETE /images/(name): 204 and no body before 1.2; the list from 1.2.
DELETE_MODERN = [{"Untagged": "3e2f21a89f"}, {"Deleted": "3e2f21a89f"}, {"Deleted": "53b4f83ac9"}]

# GET /info, v1.3: EventsListeners a string; v1.12: NEventsListener a number.
INFO_V1_3 = {
    "Containers": 11,
    "Images": 16,
    "Debug": False,
    "NFd": 11,
    "NGoroutines": 21,
    "MemoryLimit": True,
    "SwapLimit": False,
    "EventsListeners": "0",
    "LXCVersion": "0.7.5",
    "KernelVersion": "3.8.0-19-generic",
}
INFO_MODERN = {
    **{k: v for k, v in INFO_V1_3.items() if k != "EventsListeners"},
    "NEventsListener": 0,
}

CASES = [
    Case("images v1.0", api.list_images, V(1, 0), IMAGES_V1_0, IMAGES_MODERN),
    Case("containers v1.2", api.list_containers, V(1, 2), CONTAINERS_V1_2, CONTAINERS_MODERN),
    Case(
        "inspect container v1.0",
        lambda v: api.inspect_container("4fa6e0f0c678", v),
        V(1, 0),
        CONTAINER_V1_0,
        CONTAINER_MODERN,
    ),
    Case(
        "inspect image v1.0",
        lambda v: api.inspect_image("centos", v),
        V(1, 0),
        IMAGE_V1_0,
        IMAGE_MODERN,
    ),
    Case("top v1.3", lambda v: api.top("4fa6e0f0c678", v), V(1, 3), TOP_V1_3, TOP_MODERN),
    Case("search v1.0", lambda v: api.search("sshd", v), V(1, 0), SEARCH_V1_0, SEARCH_V1_0_MODERN),
    Case("search v1.7", lambda v: api.search("sshd", v), V(1, 7), SEARCH_V1_7, SEARCH_MODERN),
    Case("image delete v1.1", lambda v: api.remove_image("test", v), V(1, 1), None, []),
    Case("info v1.3", api.info, V(1, 3), INFO_V1_3, INFO_MODERN),
]

# Calls whose documents have one shape in every reference (fields only added): no normaliser.
SAME_SHAPE: list[tuple[str, Callable[[ApiVersion | None], Call], ApiVersion, object]] = [
    (
        "changes",
        lambda v: api.changes("4fa6e0f0c678", v),
        V(1, 0),
        [{"Path": "/dev", "Kind": 0}, {"Path": "/dev/kmsg", "Kind": 1}],
    ),
    (
        "history",
        lambda v: api.history("fedora", v),
        V(1, 0),
        [{"Id": "b750fe79269d", "Created": 1364102658, "CreatedBy": "/bin/bash"}],
    ),
    ("wait", lambda v: api.wait("16253994b7c4", v), V(1, 0), {"StatusCode": 0}),
    (
        "create",
        lambda v: api.create_container({"Image": "ubuntu"}, v),
        V(1, 0),
        {"Id": "e90e34656806", "Warnings": []},
    ),
    ("commit", lambda v: api.commit("44c004db4b17", v), V(1, 0), {"Id": "596069db4bf5"}),
    (
        "version",
        api.engine_version,
        V(1, 0),
        {"Version": "0.2.2", "GitCommit": "5a2a5cc+CHANGES", "GoVersion": "go1.0.3"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_an_old_document_comes_back_in_todays_shape(case: Case) -> None:
    call = case.make(case.version)
    sent = copy.deepcopy(case.old)
    assert call.normalise(sent) == case.modern
    assert sent == case.old  # the raw document is left as the engine sent it


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_modern_document_at_1_41_is_unchanged(case: Case) -> None:
    for version in (MODERN, None):
        call = case.make(version)
        sent = copy.deepcopy(case.modern)
        assert call.normalise(sent) == case.modern
        assert sent == case.modern


def test_the_v1_4_top_passes_through() -> None:
    assert api.top("x", V(1, 4)).normalise(copy.deepcopy(TOP_V1_4)) == TOP_V1_4


def test_image_delete_from_1_2_is_checked_rows() -> None:
    assert api.remove_image("test", V(1, 2)).normalise(copy.deepcopy(DELETE_MODERN)) == (
        DELETE_MODERN
    )
    with pytest.raises(RemoteProtocolError, match="neither Untagged nor Deleted"):
        api.remove_image("test", MODERN).normalise([{"Gone": "x"}])


@pytest.mark.parametrize(
    "name, make, version, document", SAME_SHAPE, ids=[row[0] for row in SAME_SHAPE]
)
def test_calls_of_one_shape_pass_the_document_itself(
    name: str, make: Callable[[ApiVersion | None], Call], version: ApiVersion, document: object
) -> None:
    for at in (version, MODERN):
        call = make(at)
        assert call.shape is None
        assert call.normalise(document) is document


def test_calls_built_alike_are_equal() -> None:
    """The normaliser is a value: a Call still compares by what it is."""
    assert api.list_images(V(1, 6)) == api.list_images(V(1, 6))
    assert api.list_images(V(1, 6)) != api.list_images(V(1, 7))


@pytest.mark.parametrize(
    "call, document, field",
    [
        (api.list_images(V(1, 6)), {"Id": "x"}, "GET /images/json"),
        (api.list_containers(V(1, 4)), [{"Ports": "80=>90"}], "Ports"),
        (api.inspect_image("x", V(1, 11)), ["id"], "inspect"),
        (api.top("x", V(1, 3)), [{"PID": "1"}, {"Tty": "x"}], "top"),
        (api.top("x", V(1, 41)), {"Titles": "PID"}, "Titles"),
        (api.search("x", V(1, 6)), [{"Description": ""}], "Name"),
        (api.info(V(1, 3)), {"EventsListeners": "many"}, "EventsListeners"),
        (api.remove_image("x", V(1, 2)), {"Deleted": "x"}, "DELETE /images"),
    ],
)
def test_a_document_of_neither_shape_names_the_field(
    call: Call, document: object, field: str
) -> None:
    with pytest.raises(RemoteProtocolError, match=field):
        call.normalise(document)


# --- through a real socket, every adapter ------------------------------------------------------


def _reply(body: bytes | None, status: str = "200 OK") -> bytes:
    if body is None:
        return f"HTTP/1.1 {status}\r\n\r\n".encode()
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
    return head.encode() + b"Content-Length: %d\r\n\r\n" % len(body) + body


SOCKET_CASES = [case for case in CASES if case.old is not None]


@pytest.mark.parametrize("case", SOCKET_CASES, ids=[case.name for case in SOCKET_CASES])
def test_reply_document_is_modern_and_raw_is_as_sent(
    adapter: Adapter, fake: Callable[..., FakeEngine], case: Case
) -> None:
    body = json.dumps(case.old).encode()
    engine = fake(answer(_reply(body)))

    async def scenario() -> tuple[object, object]:
        async with adapter.client(engine.host) as client:
            reply = await client.request(case.make(case.version))
            return reply.document, reply.raw

    document, raw = adapter.run(scenario)
    assert document == case.modern
    assert raw == case.old


def test_image_delete_204_before_1_2_is_an_empty_list(
    adapter: Adapter, fake: Callable[..., FakeEngine]
) -> None:
    engine = fake(answer(_reply(None, "204 No Content")))

    async def scenario() -> tuple[object, object]:
        async with adapter.client(engine.host) as client:
            reply = await client.request(api.remove_image("test", V(1, 1)))
            return reply.document, reply.raw

    assert adapter.run(scenario) == ([], None)


def test_a_bad_document_fails_on_access_and_keeps_the_raw(
    adapter: Adapter, fake: Callable[..., FakeEngine]
) -> None:
    engine = fake(answer(_reply(b'[{"Id": "x", "Ports": "80=>90"}]')))

    async def scenario() -> object:
        async with adapter.client(engine.host) as client:
            reply = await client.request(api.list_containers(V(1, 4)))
            with pytest.raises(RemoteProtocolError, match="Ports"):
                reply.document  # noqa: B018 (the access is what is tested)
            return reply.raw

    assert adapter.run(scenario) == [{"Id": "x", "Ports": "80=>90"}]


def test_container_inspect_id_before_1_12_is_id() -> None:
    """Engines before 1.12 wrote the container struct's field name, ``ID``."""
    old = {"ID": "4fa6e0f0c678", "Created": "2013-05-07T14:51:42Z", "Path": "date"}
    call = api.inspect_container("4fa6e0f0c678", ApiVersion(1, 11))
    assert call.normalise(old) == {"Id": "4fa6e0f0c678", "Created": old["Created"], "Path": "date"}
    modern = api.inspect_container("4fa6e0f0c678", ApiVersion(1, 12))
    assert modern.normalise({"Id": "x", "ID": "y"}) == {"Id": "x", "ID": "y"}
