"""GET /version, GET /info and the auth documents per API version (wireproto.engine.sysdocs)."""

from __future__ import annotations

import pytest

from wireproto.engine import sysdocs
from wireproto.versions import ApiVersion as V

COUNTS = sysdocs.Counts(containers=2, running=1, images=3)


@pytest.mark.parametrize(("engine", "api_version"), [(V(1, 11), False), (V(1, 12), True)])
def test_version_has_api_version_from_1_12(engine: V, api_version: bool) -> None:
    document = sysdocs.version_document(engine, "0.12.0", V(1, 0))
    assert set(document) == {"Version", "GitCommit", "GoVersion"} | (
        {"ApiVersion"} if api_version else set()
    )
    if api_version:
        assert document["ApiVersion"] == "1.12"


def test_version_at_1_41_is_dockerd_s() -> None:
    document = sysdocs.version_document(V(1, 41), "20.10.0", V(1, 12))
    assert document["ApiVersion"] == "1.41" and document["MinAPIVersion"] == "1.12"
    assert "Components" in document


BASE = {"Containers", "Images", "Debug", "NFd", "NGoroutines", "MemoryLimit", "SwapLimit"}
LXC = {"EventsListeners", "LXCVersion", "KernelVersion"}
DRIVER = {
    "Driver",
    "ExecutionDriver",
    "KernelVersion",
    "NEventsListener",
    "InitPath",
    "IndexServerAddress",
}


@pytest.mark.parametrize(
    ("engine", "keys"),
    [
        (V(1, 2), BASE),
        (V(1, 3), BASE | LXC),
        (V(1, 4), BASE | {"IPv4Forwarding"}),
        (V(1, 10), BASE | {"IPv4Forwarding"}),
        (V(1, 11), BASE | DRIVER | {"IPv4Forwarding"}),
        (V(1, 12), BASE | DRIVER | {"IPv4Forwarding"}),
    ],
)
def test_info_keys_per_version(engine: V, keys: set[str]) -> None:
    document = sysdocs.info_document(engine, COUNTS, "0.x")
    assert set(document) == keys
    assert document["Containers"] == 2 and document["Images"] == 3


def test_a_stored_login_keeps_no_password() -> None:
    login = sysdocs.login_from({"username": "u", "password": "s3cret-pw", "email": "e@x"})
    assert "s3cret-pw" not in repr(login) and "s3cret-pw" not in str(vars(login))
    assert (login.username, login.email) == ("u", "e@x")
    assert sysdocs.login_from(["not", "an", "object"]) == sysdocs.StoredLogin()
