"""The version prefix as an engine of each era read it (wireproto.engine.paths)."""

from __future__ import annotations

import pytest

from wireproto.engine import paths
from wireproto.versions import ApiVersion as V

OLDEST = V(1, 0)


@pytest.mark.parametrize("engine", [V(1, 0), V(1, 5), V(1, 12), V(1, 41)])
def test_unprefixed_is_the_engine_s_own_version(engine: V) -> None:
    assert paths.serve("/images/json", engine, OLDEST) == paths.Served(engine, "/images/json")


@pytest.mark.parametrize("engine", [V(1, 3), V(1, 8)])
def test_too_new_up_to_1_8_is_a_bare_404(engine: V) -> None:
    assert paths.serve("/v1.9/info", engine, OLDEST) == paths.Refusal(404, "")


def test_too_new_at_1_9_names_both_versions_as_floats() -> None:
    refused = paths.serve("/v2.0/info", V(1, 9), OLDEST)
    message = "client and server don't have same version (client : 2, server: 1.9)"
    assert refused == paths.Refusal(404, message)


@pytest.mark.parametrize(("engine", "text"), [(V(1, 10), "1.10"), (V(1, 12), "1.12")])
def test_too_new_from_1_10_names_both_versions(engine: V, text: str) -> None:
    refused = paths.serve("/v1.41/info", engine, OLDEST)
    message = f"client and server don't have same version (client : 1.41, server: {text})"
    assert refused == paths.Refusal(404, message)


def test_too_new_at_1_41_is_a_400() -> None:
    refused = paths.serve("/v1.43/info", V(1, 41), V(1, 12))
    message = "client version 1.43 is too new. Maximum supported API version is 1.41"
    assert refused == paths.Refusal(400, message)


def test_too_old_at_1_41_is_a_400() -> None:
    refused = paths.serve("/v1.5/info", V(1, 41), V(1, 12))
    assert isinstance(refused, paths.Refusal) and refused.status == 400
    assert "client version 1.5 is too old" in refused.message


@pytest.mark.parametrize(
    ("engine", "prefix", "served"),
    [
        (V(1, 9), "1.10", V(1, 1)),
        (V(1, 8), "1.12", V(1, 1)),
        (V(1, 9), "1.5", V(1, 5)),
        (V(1, 10), "1.10", V(1, 10)),
    ],
)
def test_up_to_1_9_the_prefix_is_a_float(engine: V, prefix: str, served: V) -> None:
    # strconv.ParseFloat: 1.10 is 1.1, and 1.12 lies between 1.1 and 1.2 (not newer than 1.8)
    assert paths.serve(f"/v{prefix}/info", engine, OLDEST) == paths.Served(served, "/info")


@pytest.mark.parametrize(
    ("engine", "text"), [(V(1, 12), "404 page not found"), (V(1, 41), "page not found")]
)
def test_not_found_text_per_era(engine: V, text: str) -> None:
    assert paths.not_found(engine) == text
