"""framing.resolve: which signal decides, strongest first."""

from __future__ import annotations

import pytest

from wireproto import framing
from wireproto.versions import ApiVersion

V = ApiVersion


@pytest.mark.parametrize("tty", [False, True, None])
@pytest.mark.parametrize("version", [V(1, 0), V(1, 3), V(1, 5)])
def test_attach_before_1_6_is_raw_whatever_the_caller_says(
    version: ApiVersion, tty: bool | None
) -> None:
    chosen = framing.resolve(
        content_type=framing.RAW_STREAM, version=version, tty=tty, endpoint="attach"
    )
    assert chosen is not None
    assert chosen.kind == "raw"
    assert f"API {version}" in chosen.reason


@pytest.mark.parametrize("version", [V(1, 6), V(1, 12), V(1, 41)])
def test_attach_from_1_6_follows_the_callers_tty(version: ApiVersion) -> None:
    for tty, kind in ((False, "multiplexed"), (True, "raw")):
        chosen = framing.resolve(content_type=None, version=version, tty=tty, endpoint="attach")
        assert chosen is not None
        assert chosen.kind == kind


def test_other_endpoints_before_1_6_follow_the_callers_tty() -> None:
    chosen = framing.resolve(content_type=None, version=V(1, 5), tty=False, endpoint="logs")
    assert chosen is not None
    assert chosen.kind == "multiplexed"


def test_the_multiplexed_content_type_outranks_everything() -> None:
    chosen = framing.resolve(
        content_type=framing.MULTIPLEXED_STREAM, version=V(1, 44), tty=True, endpoint="attach"
    )
    assert chosen is not None
    assert chosen.kind == "multiplexed"


def test_unknown_tty_at_a_modern_version_is_sniffed() -> None:
    assert framing.resolve(content_type=None, version=V(1, 41), tty=None, endpoint="attach") is None
