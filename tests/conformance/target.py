"""What the matrix runners against the stub engine and the real dockerd share: the engine
they drive, with its blocking client kept open across cases, one case's scenario run
through an adapter, and a call sent past the version gate to a route the engine lacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from tests.conformance.cases import CASES
from tests.conformance.model import Case, Ctx
from tests.support.adapters import Adapter, BlockingClient
from wireproto.errors import NotFound
from wireproto.http import BodyKind, Call, Request
from wireproto.versions import ApiVersion


class Target:
    """An engine at ``host``; the blocking client is reused across cases, the async ones
    live for one scenario (their connections belong to one event loop)."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.blocking = BlockingClient(host)

    def run(self, adapter_name: str, scenario: Callable[[Any], Any]) -> Any:
        """Runs ``scenario(client)`` under one adapter."""
        adapter = Adapter(adapter_name, backend=None)  # type: ignore[arg-type]
        if adapter_name == "blocking":
            return adapter.run(scenario, self.blocking)

        async def fresh() -> Any:
            async with adapter.client(self.host) as client:
                return await scenario(client)

        return adapter.run(fresh)

    def answers_404(self, case: Case, ctx: Ctx) -> None:
        """The case's call, built raw so no version gate stops it, is answered 404."""
        wire = case.wire(ctx)
        raw = Request(
            method=wire.method,
            target=ctx.version.prefix + wire.path,
            headers=(("Content-Type", "application/json"),) if wire.method == "POST" else (),
            body=b"{}" if wire.method == "POST" else None,
        )
        with pytest.raises(NotFound):
            self.blocking.client.request(Call(request=raw, kind=BodyKind.BYTES))


def lacking(versions: Iterable[ApiVersion], lacks: Callable[[Case, ApiVersion], bool]) -> list[Any]:
    """A (case, version) parameter for each case whose route the engine of that version
    lacks, by ``lacks``."""
    return [
        pytest.param(case, version, id=f"{case.name}-{version}")
        for case in CASES
        for version in versions
        if lacks(case, version)
    ]
