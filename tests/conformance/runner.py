"""Running a case: set up its world through the API, run its call, check what went on the wire.

Everything here is written once, over the async client interface of
:mod:`tests.support.adapters` (the blocking client behind its facade), so
each case runs the same way on blocking, asyncio and trio.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qs, unquote

from tests.conformance import checks, model
from tests.conformance.cases_containers import LONG_CMD, OUTPUT_CMD, config
from tests.conformance.model import ANY, Case, Ctx, Outcome
from wireproto import api
from wireproto.api.auth import AuthConfig, parse_reference
from wireproto.exchange import Data, Document, Output
from wireproto.http import BodyKind, Call, Response
from wireproto.jsonstream import JSONStreamDecoder

_counter = itertools.count()
Client = Any  # one of tests.support.adapters' clients (async interface)


def unique() -> str:
    """A token no other case of this run (or of a concurrent run) uses: lower-case, as
    repository names must be."""
    return f"p{os.getpid()}n{next(_counter)}"


async def must(client: Client, call: Call) -> object:
    """Runs a setup call; its status must be one it documents.  Its document or bytes."""
    reply = await client.request(call)
    status = reply.response.status
    assert call.expects(status), f"setup {call.request.method} {call.request.target}: {status}"
    if call.kind is not BodyKind.DOCUMENT:
        _no_stream_error(call, reply.data)
        return reply.data
    document = reply.document
    if isinstance(document, dict) and "error" in document:
        raise AssertionError(f"setup {call.request.target}: {document['error']}")
    return document


def _no_stream_error(call: Call, data: bytes) -> None:
    """A setup's stream reported no error in-band (a failed push answers 200 all the same)."""
    errors: list[object] = []
    if call.kind is BodyKind.JSONSTREAM:
        decoder = JSONStreamDecoder()
        errors += checks.in_band_errors([*decoder.feed(data), *decoder.close()])
    elif _progress_text(call):
        errors += checks.text_errors(data)
    assert not errors, f"setup {call.request.method} {call.request.target}: {errors}"


def _progress_text(call: Call) -> bool:
    """A pull or push before 1.1: progress as raw text (a save tar is bytes too)."""
    path = call.request.target.partition("?")[0]
    return path.endswith(("/push", "/images/create"))


async def create(client: Client, ctx: Ctx, cmd: list[str]) -> str:
    made = await must(client, api.create_container(config(ctx, cmd), ctx.version))
    assert isinstance(made, dict)
    ctx.container = str(made["Id"])
    ctx.made_containers.append(ctx.container)
    return ctx.container


async def _image(client: Client, ctx: Ctx) -> None:
    repo = f"{ctx.registry}/{ctx.repo('img')}"
    await must(client, api.tag(ctx.image, repo, ctx.version, tag="t"))
    ctx.tagged = f"{repo}:t"
    ctx.made_images.append(ctx.tagged)


def push_auth(ctx: Ctx) -> AuthConfig | None:
    """The case's credentials where a push carries them (1.2+); None where the engine
    pushes with the login POST /auth stored (1.0, 1.1)."""
    return AuthConfig(**ctx.login) if ctx.version >= model.V(1, 2) else None


async def _pushable(client: Client, ctx: Ctx) -> None:
    """At 1.0 .. 1.1 a push uses the login the engine stored: log in first, as docker did."""
    if push_auth(ctx) is None:
        await must(client, api.login(AuthConfig(**ctx.login), ctx.version))


async def _exited(client: Client, ctx: Ctx) -> None:
    await create(client, ctx, OUTPUT_CMD)
    await must(client, api.start(ctx.container, ctx.version))
    await must(client, api.wait(ctx.container, ctx.version))


async def _running(client: Client, ctx: Ctx) -> None:
    await create(client, ctx, LONG_CMD)
    await must(client, api.start(ctx.container, ctx.version))


async def _exec(client: Client, ctx: Ctx, cmd: list[str], tty: bool = False) -> None:
    await _running(client, ctx)
    made = await must(client, api.exec_create(ctx.container, cmd, ctx.version, tty=tty))
    assert isinstance(made, dict)
    ctx.exec_id = str(made["Id"])


async def prepare(client: Client, ctx: Ctx, needs: str) -> None:
    """Puts into the engine's world what a case ``needs`` (see model: NONE, IMAGE, ...)."""
    ctx.since = str(int(time.time()) - 1)
    v = ctx.version
    if needs in (model.IMAGE, model.PUSHABLE, model.PUSHED, model.SAVED):
        await _image(client, ctx)
    if needs in (model.PUSHABLE, model.PUSHED):
        await _pushable(client, ctx)
    if needs == model.PUSHED:
        await must(client, api.push(parse_reference(ctx.tagged), v, auth=push_auth(ctx)))
    elif needs == model.SAVED:
        tarball = await must(client, api.get_image(ctx.tagged, v))
        assert isinstance(tarball, bytes)
        ctx.tarball = tarball
    elif needs == model.CREATED:
        await create(client, ctx, OUTPUT_CMD)
    elif needs == model.EXITED:
        await _exited(client, ctx)
    elif needs in (model.RUNNING, model.PAUSED):
        await _running(client, ctx)
        if needs == model.PAUSED:
            await must(client, api.pause(ctx.container, v))
    elif needs == model.EXEC:
        await _exec(client, ctx, ["echo", "hi"])
    elif needs == model.EXEC_RUNNING:
        await _exec(client, ctx, ["sleep", "60"], tty=True)
        await must(client, api.exec_start(ctx.exec_id, v, tty=True, detach=True))


# --- running a call -------------------------------------------------------------------------------


def _take(outcome: Outcome, event: object, decoder: JSONStreamDecoder | None = None) -> None:
    """Adds ``event`` to ``outcome``; a JSON stream's bytes are decoded into its messages."""
    if isinstance(event, Response):
        outcome.status = event.status
    elif isinstance(event, Document):
        outcome.messages.append(event.value)
    elif isinstance(event, Data) and decoder is not None:
        outcome.messages += decoder.feed(bytes(event.data))
    elif isinstance(event, Data):
        outcome.data += bytes(event.data)
    elif isinstance(event, Output):
        for stream, piece in event.pieces:
            outcome.output[stream] = outcome.output.get(stream, b"") + bytes(piece)


async def execute(client: Client, case: Case, call: Call, ctx: Ctx) -> Outcome:
    """Runs ``call`` the way its kind asks; what it gave, as an Outcome."""
    if call.hijack:
        return await _session(client, call)
    if call.kind in (BodyKind.JSONSTREAM, BodyKind.STDIO):
        return await _stream(client, call, ctx, case.enough)
    reply = await client.request(call)
    return Outcome(
        status=reply.response.status, document=reply.document, raw=reply.raw, data=reply.data
    )


async def _session(client: Client, call: Call) -> Outcome:
    if call.endpoint == "attach.ws":
        session = await client.attach_ws(call)
    else:
        session = await client.hijack(call)
    outcome = Outcome(status=session.response.status)
    try:
        async for event in session.events():
            _take(outcome, event)
    finally:
        await session.aclose()
    return outcome


async def _stream(
    client: Client, call: Call, ctx: Ctx, enough: Callable[[Outcome, Ctx], bool] | None
) -> Outcome:
    outcome = Outcome(status=0)
    decoder = JSONStreamDecoder() if call.kind is BodyKind.JSONSTREAM else None
    async with client.stream(call) as events:
        async for event in events:
            _take(outcome, event, decoder)
            if enough is not None and enough(outcome, ctx):
                return outcome  # a stream that never ends: closed once it said enough
    if decoder is not None:
        outcome.messages += decoder.close()
    return outcome


# --- checking what the engine received -----------------------------------------------------------


def check_received(received: Sequence[Any], call: Call, case: Case, ctx: Ctx) -> None:
    """The request the engine got is the Call's, and the one the version's reference documents."""
    sent = call.request
    mine = [r for r in received if r.method == sent.method and r.target == sent.target]
    seen = [f"{r.method} {r.target}" for r in received]
    assert mine, f"the engine never received {sent.method} {sent.target}; it got {seen}"
    got = mine[-1]
    _check_as_called(got, call)
    _check_as_documented(got, case, ctx)


def _check_as_called(got: Any, call: Call) -> None:
    body = call.request.body
    if isinstance(body, bytes):
        assert got.body == body, f"body: sent {body[:200]!r}, engine got {got.body[:200]!r}"
    for name, value in call.request.headers:
        assert got.headers.get(name.lower()) == value, f"header {name}: {got.headers}"


def _check_as_documented(got: Any, case: Case, ctx: Ctx) -> None:
    wire = case.wire(ctx)
    where = f"{case.name} at {ctx.version}"
    path, _, query = got.target.partition("?")
    assert got.method == wire.method, f"{where}: method {got.method}, documented {wire.method}"
    assert path.startswith(ctx.version.prefix + "/"), f"{where}: no version prefix: {got.target}"
    documented_path = ctx.version.prefix + wire.path
    assert unquote(path) == documented_path, f"{where}: path {unquote(path)} not {documented_path}"
    parsed = parse_qs(query, keep_blank_values=True)
    expected = {key: [value] for key, value in wire.query.items()}
    assert parsed == expected, f"{where}: query {parsed}, documented {expected}"
    for name, want in wire.headers.items():
        have = got.headers.get(name)
        if want is None:
            assert have is None, f"{where}: header {name} must be absent at this version"
        elif want is ANY:
            assert have is not None, f"{where}: header {name} missing"
        elif callable(want):
            assert have is not None and want(have), f"{where}: header {name}: {have!r}"
        else:
            assert have == want, f"{where}: header {name}: {have!r}, documented {want!r}"
    assert wire.body_matches(got.body), f"{where}: body {got.body[:300]!r}"


def check_outcome(outcome: Outcome, case: Case, ctx: Ctx) -> None:
    """The success status the version documents, and the normalised reply's shape."""
    statuses = case.status_at(ctx.version, ctx.real)
    assert outcome.status in statuses, (
        f"{case.name} at {ctx.version}: status {outcome.status}, documented {statuses}"
    )
    case.check(outcome, ctx)
