"""Negotiation without I/O: the calls it asks for and the version each answer settles."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from wireproto import api
from wireproto.errors import APIError, InvalidEngineVersion, NotFound
from wireproto.http import Response
from wireproto.negotiation import PING, VERSION, Negotiation
from wireproto.versions import NEWEST, ApiVersion


@dataclass
class Answer:
    response: Response
    document: object = None


def ok(*headers: tuple[str, str]) -> Response:
    return Response(status=200, reason="OK", headers=headers)


def not_found() -> NotFound:
    return NotFound(404, "page not found", b"page not found")


def run(negotiation: Negotiation, answers: list[Answer | APIError]) -> list[str]:
    """Feeds ``answers`` in turn; the targets asked for."""
    asked = []
    while (call := negotiation.next_call()) is not None:
        asked.append(call.request.target)
        with negotiation.answering():
            answer = answers.pop(0)
            if isinstance(answer, APIError):
                raise answer
            negotiation.receive(answer)
    assert not answers
    return asked


def test_the_calls_are_the_catalogues() -> None:
    assert api.ping() == PING and api.engine_version() == VERSION


def test_a_modern_engine_announces_its_version_in_the_ping() -> None:
    negotiation = Negotiation()
    assert run(negotiation, [Answer(ok(("api-version", "1.41")))]) == ["/_ping"]
    assert negotiation.version == ApiVersion(1, 41)


def test_a_newer_engine_is_spoken_to_at_wireprotos_newest() -> None:
    negotiation = Negotiation()
    run(negotiation, [Answer(ok(("api-version", "1.99")))])
    assert negotiation.version == NEWEST


def test_a_ping_without_the_header_asks_for_version() -> None:
    negotiation = Negotiation()
    answers: list[Answer | APIError] = [Answer(ok()), Answer(ok(), {"ApiVersion": "1.20"})]
    assert run(negotiation, answers) == ["/_ping", "/version"]
    assert negotiation.version == ApiVersion(1, 20)


def test_an_engine_without_ping_is_asked_for_version() -> None:
    negotiation = Negotiation()
    answers = [not_found(), Answer(ok(), {"ApiVersion": "1.9"})]
    assert run(negotiation, answers) == ["/_ping", "/version"]
    assert negotiation.version == ApiVersion(1, 9)


def test_no_version_anywhere_leaves_it_unknown() -> None:
    negotiation = Negotiation()
    assert run(negotiation, [Answer(ok()), Answer(ok(), ["not", "a", "dict"])]) == [
        "/_ping",
        "/version",
    ]
    assert negotiation.version is None


def test_a_pinned_version_asks_nothing() -> None:
    negotiation = Negotiation(ApiVersion(1, 12))
    assert run(negotiation, []) == [] and negotiation.version == ApiVersion(1, 12)


@pytest.mark.parametrize("errors", [[APIError(500, "boom", b"boom")], [not_found()] * 2])
def test_other_errors_are_the_callers(errors: list[Answer | APIError]) -> None:
    """Only the ping's 404 is an answer; any other error, and /version's 404, propagate."""
    with pytest.raises(APIError) as caught:
        run(Negotiation(), list(errors))
    assert caught.value is errors[-1]


@pytest.mark.parametrize("answers", [[("api-version", "banana")], []])
def test_garbage_from_the_engine_is_an_engine_fault(answers: list[tuple[str, str]]) -> None:
    replies: list[Answer | APIError] = [Answer(ok(*answers)), Answer(ok(), {"ApiVersion": "x.1"})]
    with pytest.raises(InvalidEngineVersion):
        run(Negotiation(), replies)
