"""Settling the API version with the engine, as the docker CLI does, without I/O.

A :class:`Negotiation` says which call to run next and reads each reply; an
adapter only runs the calls::

    negotiation = Negotiation(pinned)
    while (call := negotiation.next_call()) is not None:
        with negotiation.answering():
            negotiation.receive(client.request(call))

``GET /_ping`` first: modern engines announce their newest version in its
``Api-Version`` header; engines before API 1.11 have no ``/_ping`` (404),
and engines that do not announce it are asked ``GET /version``.  The version
spoken is the lower of wireproto's newest and the engine's (see
:func:`wireproto.versions.choose`); a pinned version asks nothing.  A
version the engine announces that is not MAJOR.MINOR raises
InvalidEngineVersion (:func:`wireproto.versions.announced`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol

from wireproto import versions
from wireproto.errors import NotFound
from wireproto.http import BodyKind, Call, Response, request
from wireproto.versions import ApiVersion

# Unprefixed, so the engine answers at its own newest version.
PING = Call(request=request("GET", "/_ping"), kind=BodyKind.BYTES, statuses=(200,))
VERSION = Call(request=request("GET", "/version"), kind=BodyKind.DOCUMENT, statuses=(200,))


class Answer(Protocol):
    """A whole reply as an adapter gathers it (``wireproto.adapters._common.Reply``)."""

    @property
    def response(self) -> Response: ...

    @property
    def document(self) -> object: ...


class Negotiation:
    """The calls that settle the API version, and the version they settled on.

    ``next_call()`` is the call to run (None once ``version`` is settled);
    its reply goes to ``receive``, inside ``answering()``, which takes the
    404 of an engine without ``/_ping`` as an answer too.
    """

    def __init__(self, pinned: ApiVersion | None = None) -> None:
        self.version = pinned
        self._calls = [] if pinned is not None else [PING, VERSION]

    def next_call(self) -> Call | None:
        return self._calls[0] if self._calls else None

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Runs the current call's request and ``receive``; a ping's 404 moves on to /version."""
        try:
            yield
        except NotFound:
            if self.next_call() is not PING:
                raise
            self._calls.pop(0)

    def receive(self, answer: Answer) -> None:
        """Reads the reply to ``next_call()``."""
        call = self._calls.pop(0)
        if call is PING:
            engine = versions.from_ping_headers(answer.response.api_version)
            if engine is None:
                return  # no Api-Version header: /version says it
        else:
            engine = versions.from_version_document(answer.document)
        self._calls.clear()
        self.version = versions.choose(engine)
