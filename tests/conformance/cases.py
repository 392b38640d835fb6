"""The matrix's case table: every catalogue call, by README row."""

from __future__ import annotations

from tests.conformance import cases_containers, cases_images, cases_system
from tests.conformance.model import Case

CASES: tuple[Case, ...] = (
    *cases_containers.CASES,
    *cases_images.CASES,
    *cases_system.CASES,
)
BY_NAME = {case.name: case for case in CASES}
GROUPS = ("containers", "attach/logs", "exec", "images", "build", "registry", "system", "events")
