"""The matrix's cases against the real dockerd, at 1.12 and 1.41: the emulator held to a real
engine.  The same Case table, the same shape and status checks; what the real engine cannot
run here is a named exception of the table (``Case.real``), shown in the README.

No journal here: the real engine's acceptance of the request is the wire check.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance import matrix, runner
from tests.conformance.cases import CASES
from tests.conformance.model import REAL_VERSIONS, Case, Ctx
from tests.conformance.target import Target, lacking
from tests.support.adapters import ADAPTERS
from tests.support.engine import Engine, Registry
from wireproto.errors import UnsupportedInVersion
from wireproto.versions import ApiVersion

pytestmark = pytest.mark.engine

RUNNABLE = [case for case in CASES if case.real is None]


class Real(Target):
    """The session's engine, with a blocking client kept open and what the cases made."""

    def __init__(self, engine: Engine, registry: Registry, auth_registry: Registry) -> None:
        super().__init__(engine.host)
        self.engine = engine
        self.registry = registry.address
        self.login = {
            "username": auth_registry.user or "",
            "password": auth_registry.password or "",
            "serveraddress": auth_registry.address,
        }
        self.images: list[str] = []

    def ctx(self, version: ApiVersion) -> Ctx:
        return Ctx(
            version=version,
            real=True,
            image=self.engine.image,
            unique=runner.unique(),
            registry=self.registry,
            login=self.login,
        )

    def keep(self, ctx: Ctx) -> None:
        """Hands what a case made to the cleanup (the session's engine removes containers)."""
        self.engine.containers.extend(ctx.made_containers)
        self.images.extend(ctx.made_images)


@pytest.fixture(scope="module")
def real(engine: Engine, registry: Registry, auth_registry: Registry) -> Iterator[Real]:
    the_real = Real(engine, registry, auth_registry)
    yield the_real
    the_real.blocking.client.close()
    engine.remove_containers()
    names = [*the_real.images, *(f"{name}" for name in made_by_cases(the_real))]
    if names:
        engine.docker("rmi", "--force", *names, check=False)


def made_by_cases(real: Real) -> list[str]:
    """Images the cases themselves made (build, commit, import, tag): by their repo prefix."""
    listed = real.engine.docker("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    return [name for name in listed.decode().split() if "wpm-p" in name]


@pytest.mark.parametrize("adapter_name", ADAPTERS)
@pytest.mark.parametrize("version", REAL_VERSIONS, ids=str)
@pytest.mark.parametrize("case", RUNNABLE, ids=str)
def test_case_on_dockerd(case: Case, version: ApiVersion, adapter_name: str, real: Real) -> None:
    ctx = real.ctx(version)
    if matrix.refusal(case, version) is not None:
        with pytest.raises(UnsupportedInVersion):
            case.build(ctx)
        return

    async def scenario(client: Any) -> Any:
        try:
            await runner.prepare(client, ctx, case.needs)
            return await runner.execute(client, case, case.build(ctx), ctx)
        finally:
            real.keep(ctx)

    outcome = real.run(adapter_name, scenario)
    runner.check_outcome(outcome, case, ctx)


# dockerd 20.10 routes do not depend on the version prefix, so only what it removed is
# missing there: the endpoints gone by 1.12 (or by 1.41).
REMOVED = lacking(REAL_VERSIONS, matrix.route_removed)


@pytest.mark.parametrize(("case", "version"), REMOVED)
def test_removed_route_is_404_on_dockerd(case: Case, version: ApiVersion, real: Real) -> None:
    ctx = real.ctx(version)
    if case.needs != "none":
        real.run("blocking", lambda c: runner.prepare(c, ctx, "exited"))
        real.keep(ctx)
    real.answers_404(case, ctx)
