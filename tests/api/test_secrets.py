"""No secret in a repr, a str or an error: every catalogue call that can carry credentials.

Strategy: the catalogue functions that take credentials are found by their
signatures (not listed by hand), built at versions below and above the
gates (1.5 for X-Registry-Auth, 1.9 for X-Registry-Config) with a known
secret, and every object reachable from what they made is printed (repr
and str) and searched for the secret: plain, and base64 (standard and
URL-safe) at each of the three byte alignments it can take inside an
encoded document.  The same calls then go over the wire (three adapters,
both backends) to a loopback server that checks the secret did arrive and
answers with errors; every error raised is searched the same way.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import inspect
import io
import pkgutil
import socket
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import wireproto.api
from tests.support.adapters import Adapter
from tests.support.engine import Engine, Registry
from tests.support.sockets import FakeEngine, recv_head
from wireproto.adapters.blocking import Client
from wireproto.api import build as build_api
from wireproto.api.auth import AuthConfig, SecretBytes, SecretText, parse_reference
from wireproto.errors import PullError, UnsupportedInVersion, WireprotoError
from wireproto.http import BodyKind, Call, Request, request
from wireproto.jsonstream import JSONStreamDecoder
from wireproto.progress import check, messages
from wireproto.versions import ApiVersion

# '?' and '~' runs make '/' and '+' appear in its standard base64 at every alignment.
SECRET = "S3cr3t-??????~~~~~~-????~~~~-end"
VERSIONS = [None, ApiVersion(1, 0), ApiVersion(1, 4), ApiVersion(1, 5), ApiVersion(1, 8)]
VERSIONS += [ApiVersion(1, 9), ApiVersion(1, 12), ApiVersion(1, 24), ApiVersion(1, 41)]
CREDENTIAL_PARAMS = {"auth", "registry_config", "config"}


def needles(secret: str) -> dict[str, str]:
    """What would give ``secret`` away: itself, and the base64 text that only its bytes
    decide, in both alphabets, for each of the 3 offsets it can start at in a base64 group."""
    found = {"plain": secret}
    raw = secret.encode()
    for shift in range(3):
        skip = (3 - shift) % 3  # secret bytes that share a group with what precedes them
        whole = (len(raw) - skip) // 3 * 3
        inner = raw[skip : skip + whole]
        standard = base64.b64encode(inner).decode()
        urlsafe = base64.urlsafe_b64encode(inner).decode()
        assert standard != urlsafe, "pick a secret whose base64 differs between the alphabets"
        found[f"std@{shift}"] = standard
        found[f"url@{shift}"] = urlsafe
    return found


NEEDLES = needles(SECRET)


def test_needles_find_the_secret_in_any_encoding() -> None:
    """The search itself works: each encoding, any prefix length, padded or not, is caught."""
    for prefix in ("", "a", "ab", '{"password":"', '{"u":{"password":"'):
        document = (prefix + SECRET + '"}').encode()
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(document).decode()
            assert leaks(text) and leaks(text.rstrip("="))
    assert not leaks("S3cr3t-??????~~~~")


def leaks(text: str) -> list[str]:
    return [name for name, needle in NEEDLES.items() if needle in text]


def reachable(root: object) -> Iterator[object]:
    """``root`` and every object reachable from it by attributes, items and error causes."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or obj is None or isinstance(obj, type):
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, str | bytes | int | float | bool):
            continue
        if isinstance(obj, dict):
            todo += [*obj.keys(), *obj.values()]
        elif isinstance(obj, list | tuple | set | frozenset):
            todo += list(obj)
        if isinstance(obj, BaseException):
            todo += [*obj.args, obj.__cause__, obj.__context__]
        if dataclasses.is_dataclass(obj):
            todo += [getattr(obj, f.name) for f in dataclasses.fields(obj)]
        for name in getattr(type(obj), "__slots__", ()):
            todo.append(getattr(obj, name, None))
        todo += list(getattr(obj, "__dict__", {}).values())


def assert_no_secret(root: object) -> None:
    for obj in reachable(root):
        for shown in (repr(obj), str(obj), f"{obj}", "%s" % (obj,)):  # noqa: UP031 (logging's way)
            assert not leaks(shown), f"{type(obj).__name__} shows the secret: {shown[:200]}"


def credential_functions() -> dict[str, Callable[..., Call]]:
    """Every catalogue function (wireproto.api.*) that returns a Call and takes credentials."""
    found: dict[str, Callable[..., Call]] = {}
    for info in pkgutil.iter_modules(wireproto.api.__path__):
        module = importlib.import_module(f"wireproto.api.{info.name}")
        for name, func in inspect.getmembers(module, inspect.isfunction):
            if func.__module__ != module.__name__:
                continue
            params = inspect.signature(func).parameters
            returns_call = inspect.signature(func).return_annotation in ("Call", Call)
            takes_auth = any(
                p in CREDENTIAL_PARAMS and "AuthConfig" in str(params[p].annotation) for p in params
            )
            if returns_call and takes_auth:
                found[f"{info.name}.{name}"] = func
    return found


AUTH = AuthConfig(username="user", password=SECRET, serveraddress="127.0.0.1:5001")
TOKEN = AuthConfig(identitytoken=SECRET, serveraddress="127.0.0.1:5001")
IMAGE = parse_reference("127.0.0.1:5001/secret/image:1")


def build_calls(func: Callable[..., Call], version: ApiVersion | None) -> list[object]:
    """Calls (or the errors refusing them) of ``func`` carrying the secret, at ``version``."""
    made: list[object] = []
    for config in (AUTH, TOKEN):
        params = inspect.signature(func).parameters
        if "registry_config" in params:
            args: tuple[Any, ...] = (b"context-tar",)
            kwargs: dict[str, Any] = {"registry_config": {"127.0.0.1:5001": config}}
        elif "auth" in params:
            args, kwargs = (IMAGE,), {"auth": config}
        else:
            args, kwargs = (config,), {}
        try:
            made.append(func(*args, version, **kwargs))
        except UnsupportedInVersion as exc:
            made.append(exc)
    return made


def test_enumeration_finds_the_credential_calls() -> None:
    names = set(credential_functions())
    assert {"registry.pull", "registry.push", "build.build", "system.login"} <= names


@pytest.mark.parametrize("version", VERSIONS, ids=str)
@pytest.mark.parametrize("name", sorted(credential_functions()))
def test_calls_never_show_the_secret(name: str, version: ApiVersion | None) -> None:
    made = build_calls(credential_functions()[name], version)
    calls = [c for c in made if isinstance(c, Call)]
    for obj in made:
        assert_no_secret(obj)
    if version is None or version >= ApiVersion(1, 9):
        assert calls, f"{name} at {version} built no call"
    for call in calls:
        assert wire_bytes(call.request), "the call carries nothing"
        carried = leaks(wire_bytes(call.request).decode())
        assert carried, f"{name} at {version} does not carry the secret on the wire"


def wire_bytes(req: Request) -> bytes:
    headers = b"".join(n.encode() + b": " + v.encode() + b"\r\n" for n, v in req.headers)
    body = req.body if isinstance(req.body, bytes) else b"".join(req.body or ())
    return headers + b"\r\n" + body


def test_push_before_1_5_body_and_login_body_hide() -> None:
    push = wireproto.api.push(IMAGE, ApiVersion(1, 4), auth=AUTH)
    assert isinstance(push.request.body, SecretBytes) and SECRET.encode() in push.request.body
    login = wireproto.api.login({"username": "u", "password": SECRET})
    assert isinstance(login.request.body, SecretBytes)
    assert ("Content-Type", "application/json") in login.request.headers
    assert_no_secret(push)
    assert_no_secret(login)


def test_header_given_by_hand_is_hidden_in_repr_and_errors() -> None:
    """A plain str in a credential header (not a SecretText) is hidden by its name."""
    value = base64.urlsafe_b64encode(f'{{"password":"{SECRET}"}}'.encode()).decode()
    req = request("POST", "/auth", headers=[("X-Registry-Auth", value)])
    assert not leaks(repr(req)) and not leaks(str(req))
    with pytest.raises(WireprotoError) as caught:
        request("POST", "/auth", headers=[("Authorization", f"Basic {value}\n")])
    assert_no_secret(caught.value)


def test_secret_text_is_its_text_on_the_wire() -> None:
    text = SecretText(SECRET)
    assert text == SECRET and text.encode() == SECRET.encode() and text.reveal() == SECRET
    assert type(text.reveal()) is str
    assert not leaks(repr(text) + str(text) + f"{text!s}{text!r}{text}" + "%s %r" % (text, text))  # noqa: UP031


# --- over the wire -------------------------------------------------------------------------------


def read_request(conn: socket.socket) -> bytes:
    """The whole request: head, then a Content-Length or chunked body."""
    data, complete = recv_head(conn, size=65536)
    if not complete:
        return data
    head, _, rest = data.partition(b"\r\n\r\n")
    lower = head.lower()
    if b"content-length:" in lower:
        length = int(lower.split(b"content-length:")[1].split(b"\r\n")[0])
        while len(rest) < length:
            rest += conn.recv(65536)
    elif b"transfer-encoding: chunked" in lower:
        while not rest.endswith(b"0\r\n\r\n"):
            rest += conn.recv(65536)
    return head + b"\r\n\r\n" + rest


def json_reply(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
    return head.encode() + b"Content-Length: %d\r\n\r\n" % len(body) + body


ANSWERS = {
    "401": json_reply("401 Unauthorized", b'{"message":"unauthorized: incorrect password"}'),
    "500": json_reply("500 Internal Server Error", b'{"message":"Get https://r/v2/: denied"}'),
    "in-band": json_reply(
        "200 OK", b'{"error":"denied","errorDetail":{"message":"denied"}}\n', "application/json"
    ),
    "garbage": b"NOT HTTP\r\n\r\n",
    "closed": b"",
}


@pytest.fixture(params=["blocking", "asyncio", "trio"])
def adapter(request: pytest.FixtureRequest, backend: str) -> Adapter:
    return Adapter(request.param, backend)


@pytest.fixture
def recording_engine(tmp_path: Path) -> Iterator[Callable[[bytes], tuple[FakeEngine, list[bytes]]]]:
    engines: list[FakeEngine] = []

    def make(answer: bytes) -> tuple[FakeEngine, list[bytes]]:
        received: list[bytes] = []

        def handle(conn: socket.socket) -> None:
            received.append(read_request(conn))
            if answer:
                conn.sendall(answer)

        engine = FakeEngine(tmp_path / f"e{len(engines)}.sock", handle)
        engines.append(engine)
        return engine, received

    yield make
    for engine in engines:
        engine.close()


def wire_calls() -> list[tuple[str, Call]]:
    out = []
    for name, func in sorted(credential_functions().items()):
        for version in (ApiVersion(1, 4), ApiVersion(1, 24), None):
            made = build_calls(func, version)
            out += [(f"{name}@{version}", c) for c in made if isinstance(c, Call)]
    return out


@pytest.mark.parametrize("answer", sorted(ANSWERS))
def test_errors_from_the_wire_never_show_the_secret(
    adapter: Adapter, recording_engine: Callable[..., Any], answer: str
) -> None:
    engine, received = recording_engine(ANSWERS[answer])
    calls = wire_calls()

    async def scenario() -> list[object]:
        outcomes: list[object] = []
        for _, call in calls:
            async with adapter.client(engine.host) as client:
                try:
                    reply = await client.request(call)
                    decoder = JSONStreamDecoder()
                    for message in messages([*decoder.feed(reply.data), *decoder.close()]):
                        check(message, PullError)
                    outcomes.append(reply)
                except WireprotoError as exc:
                    outcomes.append(exc)
        return outcomes

    outcomes = adapter.run(scenario)
    assert len(outcomes) == len(calls)
    for (name, call), outcome in zip(calls, outcomes, strict=True):
        # A login's 200 is a document: an "error" key in it is no in-band error.
        in_band_document = answer == "in-band" and call.kind is BodyKind.DOCUMENT
        assert in_band_document or isinstance(outcome, WireprotoError), f"{name}: {outcome}"
        assert_no_secret(outcome)
    # The secret did go out, in every request: the test can fail.
    assert len(received) == len(calls)
    for (name, _), raw in zip(calls, received, strict=True):
        assert leaks(raw.decode("latin-1")), f"{name} sent no credentials"


@pytest.mark.engine
def test_real_engine_errors_never_show_the_secret(engine: Engine, auth_registry: Registry) -> None:
    """Login, pull, push and build with a wrong secret against the engine's auth registry."""
    image = parse_reference(f"{auth_registry.address}/wireproto-secret-probe:none")
    config = AuthConfig(username="nobody", password=SECRET, serveraddress=auth_registry.address)
    context = tarfile_bytes(f"FROM {image}\n")
    calls = [
        wireproto.api.login(config, ApiVersion(1, 24)),
        wireproto.api.pull(image, ApiVersion(1, 24), auth=config),
        wireproto.api.push(image, ApiVersion(1, 24), auth=config),
        build_api.build(
            context, ApiVersion(1, 24), networkmode="none", registry_config={image.registry: config}
        ),
    ]
    failures: list[object] = []
    with Client(engine.host) as client:
        for call in calls:
            try:
                reply = client.request(call)
                decoder = JSONStreamDecoder()
                for message in messages([*decoder.feed(reply.data), *decoder.close()]):
                    check(message, PullError)
                failures.append(reply)
            except WireprotoError as exc:
                failures.append(exc)
    assert all(isinstance(f, WireprotoError) for f in failures), failures
    for failure in failures:
        assert_no_secret(failure)


def tarfile_bytes(dockerfile: str) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile.encode()))
    return out.getvalue()
