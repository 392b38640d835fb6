"""The version-gate table: one test per row, at its bounds and just past them."""

from __future__ import annotations

import pytest

from wireproto.api import gates
from wireproto.api.gates import GATES, Gate
from wireproto.errors import InvalidVersion, LocalProtocolError, UnsupportedInVersion
from wireproto.versions import ApiVersion

V = ApiVersion


def _before(version: ApiVersion) -> ApiVersion:
    return V(version.major, version.minor - 1)


def _after(version: ApiVersion) -> ApiVersion:
    return V(version.major, version.minor + 1)


@pytest.mark.parametrize("row", GATES, ids=[row.name for row in GATES])
def test_row(row: Gate) -> None:
    assert row.since is not None or row.until is not None, "a row must bound something"
    if row.since is not None:
        gates.require(row.name, row.since)  # its first version has it
        assert gates.has(row.name, row.since)
        assert not gates.has(row.name, _before(row.since))
        with pytest.raises(UnsupportedInVersion) as caught:
            gates.require(row.name, _before(row.since))
        error = caught.value
        assert error.feature == row.name
        assert error.version == _before(row.since)
        assert f"needs API {row.since}" in str(error)
        assert f"this call uses API {_before(row.since)}" in str(error)
    if row.until is not None:
        gates.require(row.name, row.until)  # its last version has it
        assert not gates.has(row.name, _after(row.until))
        assert not gates.has(row.name, None)  # the newest engine dropped it
        with pytest.raises(UnsupportedInVersion, match=f"{row.until}; this call uses API"):
            gates.require(row.name, _after(row.until))
        with pytest.raises(UnsupportedInVersion, match="unprefixed"):
            gates.require(row.name, None)
    else:
        assert gates.has(row.name, None)  # unprefixed: the engine's newest has it
        assert gates.has(row.name, V(1, 99))


def test_names_are_unique() -> None:
    assert len({row.name for row in GATES}) == len(GATES)


def test_the_seeds_change_log_is_in_the_table() -> None:
    """The changes the Engine API documents for v1.1 .. v1.12, each at its version."""
    expected = {
        "build.forcerm": (V(1, 12), None),
        "inspect.camelcase": (V(1, 12), None),
        "search.is_automated": (V(1, 12), None),
        "images.insert": (None, V(1, 11)),
        "_ping": (V(1, 11), None),
        "events.until": (V(1, 11), None),
        "containers.logs": (V(1, 11), None),
        "images.delete.force": (V(1, 10), None),
        "images.delete.noprune": (V(1, 10), None),
        "containers.delete.force": (V(1, 10), None),
        "build.registry_config": (V(1, 9), None),
        "images.list.grouped": (V(1, 7), None),
        "multiplexed": (V(1, 6), None),
        "registry_auth": (V(1, 5), None),
        "ports.list": (V(1, 5), None),
        "containers.top.ps_args": (V(1, 4), None),
        "containers.top": (V(1, 3), None),
        "events": (V(1, 3), None),
        "containers.list.size": (V(1, 3), None),
        "images.delete.list": (V(1, 2), None),
        "jsonstream": (V(1, 1), None),
        "logs.tail": (V(1, 13), None),
        "exec": (V(1, 15), None),
        "logs.until": (V(1, 35), None),
    }
    for name, (since, until) in expected.items():
        row = gates.gate(name)
        assert (row.since, row.until) == (since, until), name


def test_rows_checked_against_each_versions_reference() -> None:
    """Rows the change log does not list, from the per-version reference texts (moby's
    docs/sources/reference/api/docker_remote_api_v1.N.md) and its later change log."""
    expected = {
        # v1.12's lists them on GET /containers/json and GET /images/json; v1.11's does not.
        "containers.list.filters": (V(1, 12), None),
        "images.list.filters": (V(1, 12), None),
        # v1.12's lists `filter` (a name); the v1.41 change log removes it ("1.40 or below").
        "images.list.filter": (None, V(1, 40)),
        # attach/ws: docker v0.6.0 (API 1.4) added the route; the references list it back to
        # v1.0 only since a 2015 edit.
        "containers.attach_ws": (V(1, 4), None),
        # v1.12's has pause and unpause; v1.11's goes from kill to attach.
        "containers.pause": (V(1, 12), None),
        # v1.5's kill has no parameters; v1.6's takes signal "(integer)"; v1.9's "integer
        # or string like SIGINT".
        "containers.kill.signal": (V(1, 6), None),
        "containers.kill.signal_name": (V(1, 9), None),
        # v1.0's tag has force; the v1.24 change log: "no longer has a force query parameter".
        "images.tag.force": (None, V(1, 23)),
    }
    for name, (since, until) in expected.items():
        row = gates.gate(name)
        assert (row.since, row.until) == (since, until), name


def test_error_is_a_local_version_error() -> None:
    with pytest.raises(InvalidVersion):
        gates.require("exec", V(1, 12))
    with pytest.raises(LocalProtocolError, match=r"exec \(.*\) needs API 1\.15\+"):
        gates.require("exec", V(1, 14))


def test_unknown_name_is_a_bug_not_a_refusal() -> None:
    with pytest.raises(KeyError):
        gates.require("no.such.feature", V(1, 12))


def test_needs_text() -> None:
    assert gates.gate("exec").needs == "1.15+"
    assert gates.gate("images.insert").needs == "<= 1.11"
    assert gates.gate("containers.start.host_config").needs == "1.3 .. 1.23"


def test_every_row_is_read_by_the_code_it_describes() -> None:
    """A row no call or shape helper reads decides nothing: each name is passed to
    gates.has / gates.require (or the _common helpers that call them) somewhere."""
    import pathlib
    import re

    import wireproto

    root = pathlib.Path(wireproto.__file__).parent
    source = "\n".join(path.read_text() for path in root.rglob("*.py") if path.name != "gates.py")
    unread = [
        row.name
        for row in GATES
        if not re.search(
            r'(?:has|require|opt|filters_query)\(\s*"' + re.escape(row.name) + '"', source
        )
    ]
    assert unread == []
