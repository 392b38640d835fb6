"""The conformance matrix against the stub engine: every case, at 1.0 .. 1.12 and 1.41,
through blocking, asyncio and trio.

One stub engine per version for the whole session (cases make their own
uniquely named objects, so they share it); how a case runs through each
adapter is tests/conformance/target.py's, shared with the real engine's runner.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conformance import matrix, runner
from tests.conformance.cases import CASES
from tests.conformance.model import VERSIONS, Case, Ctx
from tests.conformance.target import Target, lacking
from tests.support.adapters import ADAPTERS
from wireproto import api
from wireproto.api.auth import parse_reference
from wireproto.errors import UnsupportedInVersion
from wireproto.http import Call
from wireproto.versions import ApiVersion

BASE_IMAGE = "busybox:latest"
REGISTRY = "127.0.0.1:5000"  # a name only: the stub engine contacts no registry
LOGIN = {"username": "wpm", "password": "wpm-secret", "serveraddress": REGISTRY}


class Stub(Target):
    """One version's stub engine, its base image pulled, and a blocking client kept open."""

    def __init__(self, version: ApiVersion) -> None:
        from wireproto.engine import StubEngine

        self.version = version
        self.engine = StubEngine(api_version=version)
        self.engine.start()
        super().__init__(self.engine.host)
        self.blocking.client.request(api.pull(parse_reference(BASE_IMAGE), version))

    def ctx(self) -> Ctx:
        return Ctx(
            version=self.version,
            real=False,
            image=BASE_IMAGE,
            unique=runner.unique(),
            registry=REGISTRY,
            login=LOGIN,
        )

    def close(self) -> None:
        self.blocking.client.close()
        self.engine.stop()


@pytest.fixture(scope="session")
def stubs() -> Iterator[Callable[[ApiVersion], Stub]]:
    started: dict[ApiVersion, Stub] = {}

    def get(version: ApiVersion) -> Stub:
        if version not in started:
            started[version] = Stub(version)
        return started[version]

    yield get
    for stub in started.values():
        stub.close()


@pytest.mark.parametrize("adapter_name", ADAPTERS)
@pytest.mark.parametrize("version", VERSIONS, ids=str)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_case(case: Case, version: ApiVersion, adapter_name: str, stubs: Any) -> None:
    stub = stubs(version)
    if matrix.refusal(case, version) is not None:
        refused_before_sending(case, stub, adapter_name)
        return
    ctx = stub.ctx()

    async def scenario(client: Any) -> tuple[Call, Any, int]:
        await runner.prepare(client, ctx, case.needs)
        call = case.build(ctx)
        mark = len(stub.engine.received)
        outcome = await runner.execute(client, case, call, ctx)
        return call, outcome, mark

    call, outcome, mark = stub.run(adapter_name, scenario)
    runner.check_received(stub.engine.received[mark:], call, case, ctx)
    runner.check_outcome(outcome, case, ctx)


def refused_before_sending(case: Case, stub: Stub, adapter_name: str) -> None:
    """Through the adapter, with a connection the journal has seen: asking for the call
    raises UnsupportedInVersion, and the engine receives nothing more."""
    ctx = stub.ctx()

    async def scenario(client: Any) -> tuple[int, int]:
        await runner.must(client, api.engine_version(ctx.version))
        mark = len(stub.engine.received)
        with pytest.raises(UnsupportedInVersion):
            await runner.execute(client, case, case.build(ctx), ctx)
        return mark, len(stub.engine.received)

    mark, after = stub.run(adapter_name, scenario)
    last = stub.engine.received[mark - 1]
    assert (last.method, last.path) == ("GET", "/version"), "the journal missed the client"
    assert after == mark == len(stub.engine.received), (
        f"a refused call reached the engine: {stub.engine.received[mark:]}"
    )


PROBES = lacking(VERSIONS, matrix.route_missing)


@pytest.mark.parametrize(("case", "version"), PROBES)
def test_refused_route_is_404_on_the_stub(case: Case, version: ApiVersion, stubs: Any) -> None:
    """Asked anyway, the stub engine of a version that lacks the call answers 404, as that
    engine did: the catalogue's gate table and the engine's table agree."""
    stub = stubs(version)
    ctx = stub.ctx()
    if case.needs in ("created", "exited", "running", "paused", "exec", "exec-running"):
        stub.run("blocking", lambda c: runner.prepare(c, ctx, "running"))
    stub.answers_404(case, ctx)
