"""The matrix's checks fail when the stub answers like a neighbouring version.

A mutant stub serves each request at another version than the one its
prefix asks for (the engine's table then picks that version's rows).  For
each pair below the cases named must fail: a check that passed anyway would
pass a wrong engine.  The pairs are the images, build and registry rows whose
difference shows in the reply (what the client sends is held by the wire
check of every case).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance import runner
from tests.conformance.cases import BY_NAME
from tests.conformance.model import V
from tests.conformance.test_stub_matrix import Stub
from wireproto.engine import paths
from wireproto.versions import ApiVersion

# (asked, served): the cases that must notice, and the row of the engine's table behind it.
CAUGHT = [
    (V(1, 0), V(1, 1), ("pull", "push", "import_image", "insert")),  # jsonstream
    (V(1, 1), V(1, 0), ("pull", "push", "import_image", "insert")),  # jsonstream
    (V(1, 2), V(1, 1), ("remove_image",)),  # images.delete.list
    (V(1, 6), V(1, 7), ("list_images", "search")),  # images.list.grouped, search.registry_keys
    (V(1, 7), V(1, 6), ("list_images", "search")),
    (V(1, 7), V(1, 8), ("build", "pull", "push")),  # build.jsonstream, progress.detail
    (V(1, 8), V(1, 7), ("build", "pull", "push")),
    (V(1, 11), V(1, 12), ("inspect_image", "search")),  # inspect.camelcase, is_automated
    (V(1, 12), V(1, 11), ("inspect_image", "search")),
]


@pytest.fixture(scope="module")
def stub() -> Iterator[Stub]:
    # An engine of 1.12 takes every older prefix, so any pair of old versions can be mixed.
    the_stub = Stub(V(1, 12))
    yield the_stub
    the_stub.close()


def fails(stub: Stub, name: str, asked: ApiVersion) -> bool:
    """Whether the case ``name`` fails when asked at ``asked`` (its checks raise)."""
    case = BY_NAME[name]
    ctx = stub.ctx()
    ctx.version = asked

    async def scenario(client: Any) -> Any:
        await runner.prepare(client, ctx, case.needs)
        call = case.build(ctx)
        mark = len(stub.engine.received)
        return call, await runner.execute(client, case, call, ctx), mark

    try:
        call, outcome, mark = stub.run("blocking", scenario)
        runner.check_received(stub.engine.received[mark:], call, case, ctx)
        runner.check_outcome(outcome, case, ctx)
    except Exception:  # a check's AssertionError, or the client's error on a wrong reply
        return True
    return False


def served_at(monkeypatch: pytest.MonkeyPatch, version: ApiVersion | None) -> None:
    """Makes the stub serve every request it accepts at ``version`` (None: as asked)."""
    original = paths.versioned

    def mutant(conn: Any, request: Any) -> Any:
        refused = original(conn, request)
        if refused is None and version is not None:
            request.version = version
        return refused

    monkeypatch.setattr(paths, "versioned", mutant)


@pytest.mark.parametrize(("asked", "served", "names"), CAUGHT, ids=lambda v: str(v))
def test_a_neighbouring_version_fails_the_checks(
    asked: ApiVersion,
    served: ApiVersion,
    names: tuple[str, ...],
    stub: Stub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served_at(monkeypatch, None)
    passing = [name for name in names if not fails(stub, name, asked)]
    assert passing == list(names), f"the honest stub fails {set(names) - set(passing)}"
    served_at(monkeypatch, served)
    missed = [name for name in names if not fails(stub, name, asked)]
    assert not missed, f"asked at {asked}, answered as {served}: {missed} still pass"
