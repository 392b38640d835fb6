"""Cases: images, build, registry (pull, push, login, search)."""

from __future__ import annotations

import base64
import io
import json
import tarfile
from collections.abc import Callable

from tests.conformance import checks
from tests.conformance.model import (
    ANY,
    EXITED,
    IMAGE,
    PUSHABLE,
    PUSHED,
    SAVED,
    Case,
    Ctx,
    Note,
    Outcome,
    V,
    Wire,
    always,
    since,
)
from wireproto import api
from wireproto.api.auth import AuthConfig, parse_reference
from wireproto.api.build import build

TAR = {"content-type": "application/x-tar"}
JSON = {"content-type": "application/json"}
SEARCH_TERM = "busybox"


def rootfs_tar() -> bytes:
    """A root filesystem of one file, for import."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("hello")
        info.size = 6
        archive.addfile(info, io.BytesIO(b"hello\n"))
    return buffer.getvalue()


def dockerfile(ctx: Ctx) -> str:
    return f"FROM {ctx.image}\nENV WPM {ctx.unique}\n"


def context_tar(ctx: Ctx) -> bytes:
    buffer = io.BytesIO()
    text = dockerfile(ctx).encode()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(text)
        archive.addfile(info, io.BytesIO(text))
    return buffer.getvalue()


ROOTFS = rootfs_tar()


def decodes_to(document: object) -> Callable[[str], bool]:
    """A header check: URL-safe base64 of JSON equal to ``document``."""

    def check(value: str) -> bool:
        padded = value + "=" * (-len(value) % 4)
        return bool(json.loads(base64.urlsafe_b64decode(padded)) == document)

    return check


def login_config(ctx: Ctx) -> AuthConfig:
    return AuthConfig(**ctx.login)


def runner_auth(ctx: Ctx) -> AuthConfig | None:
    """A push's credentials: in the request from 1.2, the login stored before (see PUSHABLE)."""
    return login_config(ctx) if ctx.version >= V(1, 2) else None


def repo_tag(name: str) -> tuple[str, str]:
    reference = parse_reference(name)
    return reference.repository, reference.tag or "latest"


# --- checks -------------------------------------------------------------------------------------


def images_listed(outcome: Outcome, ctx: Ctx) -> None:
    table = checks.rows(outcome.document, "GET /images/json")
    for row in table:
        assert isinstance(row.get("RepoTags"), list), f"RepoTags not a list: {row}"
    assert any(ctx.tagged in row["RepoTags"] for row in table), (ctx.tagged, table)  # type: ignore[operator]
    # as sent: a row per tag (Repository, Tag) before 1.7, the tags grouped (RepoTags) from it
    sent = checks.rows(outcome.raw, "GET /images/json as sent")
    grouped = ctx.version >= V(1, 7)
    for row in sent:
        assert ("RepoTags" in row) is grouped and ("Tag" in row) is not grouped, row


def image_inspected(outcome: Outcome, ctx: Ctx) -> None:
    doc = checks.document(outcome, "image inspect", "Id", "Created")
    checks.camel_case(doc, "image inspect")
    # as sent: lower-case keys (id, created) before 1.12, CamelCase from it
    sent = outcome.raw
    assert isinstance(sent, dict), sent
    key = "Id" if ctx.version >= V(1, 12) else "id"
    assert key in sent and checks.same_id(sent[key], str(doc["Id"])), sorted(sent)


def historied(outcome: Outcome, ctx: Ctx) -> None:
    table = checks.rows(outcome.document, "history")
    assert table and all("Id" in row and "Created" in row for row in table), table


def nothing(outcome: Outcome, ctx: Ctx) -> None:
    assert not outcome.data and outcome.document in (None, b"", ""), outcome


def deleted(outcome: Outcome, ctx: Ctx) -> None:
    results = checks.delete_results(outcome.document)
    if ctx.version >= V(1, 2):
        assert ("Untagged", ctx.tagged) in results, results
    else:
        assert results == [], results


def searched(outcome: Outcome, ctx: Ctx) -> None:
    """The registry's keys, ``is_automated`` for ``is_trusted``; before 1.7 the engine's
    own two keys (Name, Description, normalised to name, description) and nothing else."""
    table = checks.rows(outcome.document, "search")
    assert table, "search found nothing"
    for row in table:
        assert SEARCH_TERM in str(row.get("name")), row
        if ctx.version >= V(1, 7):
            assert "is_automated" in row and "is_trusted" not in row, row
            assert {"description", "is_official", "star_count"} <= set(row), row
        else:
            assert set(row) == {"name", "description"}, row
    # as sent: Name, Description before 1.7; is_trusted 1.7 .. 1.11; is_automated from 1.12
    sent = checks.rows(outcome.raw, "search as sent")
    expected = "Name" if ctx.version < V(1, 7) else "name"
    automated = "is_automated" if ctx.version >= V(1, 12) else "is_trusted"
    for row in sent:
        assert expected in row, row
        assert (automated in row) is (ctx.version >= V(1, 7)), row


def tarred(outcome: Outcome, ctx: Ctx) -> None:
    checks.is_tar(outcome.data)


def viz_text(outcome: Outcome, ctx: Ctx) -> None:
    assert outcome.data.startswith(b"digraph"), outcome.data[:80]


def progressed(what: str) -> Callable[[Outcome, Ctx], None]:
    return lambda outcome, ctx: checks.progress(outcome, ctx, what)


def loaded(outcome: Outcome, ctx: Ctx) -> None:
    errors = [m for m in outcome.messages if isinstance(m, dict) and "error" in m]
    assert not errors, errors


def built(outcome: Outcome, ctx: Ctx) -> None:
    if ctx.version >= V(1, 8):
        text = "".join(str(m.get("stream", "")) for m in outcome.messages if isinstance(m, dict))
        errors = [m for m in outcome.messages if isinstance(m, dict) and "error" in m]
        assert not errors, errors
    else:
        assert not outcome.messages, f"JSON messages before 1.8: {outcome.messages[:3]}"
        checks.plain_text(outcome.data, "build")
        text = outcome.data.decode(errors="replace")
    assert "Successfully built" in text, text[-400:]


def logged_in(outcome: Outcome, ctx: Ctx) -> None:
    assert outcome.document is None or isinstance(outcome.document, dict), outcome.document


def default_auth_doc(outcome: Outcome, ctx: Ctx) -> None:
    checks.document(outcome, "GET /auth", "username", "email")


# --- wires --------------------------------------------------------------------------------------


def build_query(ctx: Ctx) -> dict[str, str]:
    """rm=1 (the default a caller leaves unset) where the reference has rm: v1.5 and v1.9+."""
    query = {"t": ctx.repo("b") + ":t"}
    if ctx.version == V(1, 5) or ctx.version >= V(1, 9):
        query["rm"] = "1"
    return query


def build_headers(ctx: Ctx) -> dict[str, object]:
    auth = login_config(ctx).to_json()
    headers: dict[str, object] = {**TAR, "x-registry-auth": None, "x-registry-config": None}
    if ctx.version == V(1, 8):
        headers["x-registry-auth"] = decodes_to(auth)
    elif ctx.version >= V(1, 9):
        configs = {ctx.registry: auth}
        form = configs if ctx.version >= V(1, 19) else {"configs": configs}
        headers["x-registry-config"] = decodes_to(form)
    return headers


def build_call(ctx: Ctx) -> object:
    v = ctx.version
    return build(
        context_tar(ctx),
        v,
        tag=ctx.repo("b") + ":t",
        auth=login_config(ctx) if v == V(1, 8) else None,
        registry_config={ctx.registry: login_config(ctx)} if v >= V(1, 9) else None,
    )


def push_wire(ctx: Ctx) -> Wire:
    """X-Registry-Auth from 1.5, the auth config as the body at 1.2 .. 1.4, neither at 1.0 and
    1.1 (the engine pushed with the login POST /auth had stored)."""
    repo, tag = repo_tag(ctx.tagged)
    auth = login_config(ctx).to_json()
    path = f"/images/{repo}/push"
    if ctx.version >= V(1, 5):
        return Wire("POST", path, {"tag": tag}, headers={"x-registry-auth": decodes_to(auth)})
    if ctx.version >= V(1, 2):
        return Wire("POST", path, {"tag": tag},
                    headers={**JSON, "x-registry-auth": None}, json=auth)  # fmt: skip
    return Wire("POST", path, {"tag": tag}, headers={"x-registry-auth": None})


def pull_wire(ctx: Ctx) -> Wire:
    repo, tag = repo_tag(ctx.tagged)
    auth = login_config(ctx).to_json()
    header = decodes_to(auth) if ctx.version >= V(1, 5) else None
    return Wire("POST", "/images/create", {"fromImage": repo, "tag": tag},
                headers={"x-registry-auth": header})  # fmt: skip


def commit_wire(ctx: Ctx) -> Wire:
    query = {"container": ctx.container, "repo": ctx.repo("c"), "tag": "t"}
    conf = {"Cmd": ["true"]}
    if V(1, 7) <= ctx.version <= V(1, 8):
        query["run"] = json.dumps(conf, separators=(",", ":"))
        return Wire("POST", "/commit", query)
    return Wire("POST", "/commit", query, headers=JSON, json=conf)


IMAGES, BUILD, REGISTRY = "images", "build", "registry"
TEXT_PROGRESS = Note("text progress", until=V(1, 0))

CASES = (
    Case(
        name="list_images",
        group=IMAGES,
        func=api.list_images,
        label="list",
        needs=IMAGE,
        build=lambda c: api.list_images(c.version),
        wire=lambda c: Wire("GET", "/images/json"),
        status=always(200),
        check=images_listed,
        notes=(Note("a row per tag", until=V(1, 6)),),
    ),
    Case(
        name="inspect_image",
        group=IMAGES,
        func=api.inspect_image,
        label="inspect",
        needs=IMAGE,
        build=lambda c: api.inspect_image(c.tagged, c.version),
        wire=lambda c: Wire("GET", f"/images/{c.tagged}/json"),
        status=always(200),
        check=image_inspected,
        notes=(Note("lower-case inspect keys", until=V(1, 11)),),
    ),
    Case(
        name="history",
        group=IMAGES,
        func=api.history,
        label="history",
        needs=IMAGE,
        build=lambda c: api.history(c.tagged, c.version),
        wire=lambda c: Wire("GET", f"/images/{c.tagged}/history"),
        status=always(200),
        check=historied,
    ),
    Case(
        name="tag",
        group=IMAGES,
        func=api.tag,
        label="tag",
        needs=IMAGE,
        build=lambda c: api.tag(c.tagged, c.repo("t2"), c.version, tag="x"),
        wire=lambda c: Wire("POST", f"/images/{c.tagged}/tag", {"repo": c.repo("t2"), "tag": "x"}),
        status=always(201),
        check=nothing,
    ),
    Case(
        name="remove_image",
        group=IMAGES,
        func=api.remove_image,
        label="delete",
        needs=IMAGE,
        build=lambda c: api.remove_image(c.tagged, c.version),
        wire=lambda c: Wire("DELETE", f"/images/{c.tagged}"),
        status=since(V(1, 2), 204, 200),
        check=deleted,
        notes=(Note("delete answers 204", until=V(1, 1)),),
    ),
    Case(
        name="import_image",
        group=IMAGES,
        func=api.import_image,
        label="import",
        build=lambda c: api.import_image(ROOTFS, c.version, repo=c.repo("imp"), tag="t"),
        wire=lambda c: Wire(
            "POST",
            "/images/create",
            {"fromSrc": "-", "repo": c.repo("imp"), "tag": "t"},
            headers=TAR,
            raw=ROOTFS,
        ),
        status=always(200),
        check=progressed("import"),
        notes=(TEXT_PROGRESS,),
    ),
    Case(
        name="insert",
        group=IMAGES,
        func=api.insert,
        label="insert",
        needs=IMAGE,
        build=lambda c: api.insert(c.tagged, "/hello", "http://127.0.0.1:9/hello", c.version),
        wire=lambda c: Wire(
            "POST",
            f"/images/{c.tagged}/insert",
            {"path": "/hello", "url": "http://127.0.0.1:9/hello"},
        ),
        status=always(200),
        check=progressed("insert"),
    ),
    Case(
        name="viz",
        group=IMAGES,
        func=api.viz,
        label="viz",
        needs=IMAGE,
        build=lambda c: api.viz(c.version),
        wire=lambda c: Wire("GET", "/images/viz"),
        status=always(200),
        check=viz_text,
    ),
    Case(
        name="get_image",
        group=IMAGES,
        func=api.get_image,
        label="get",
        needs=IMAGE,
        build=lambda c: api.get_image(c.tagged, c.version),
        wire=lambda c: Wire("GET", f"/images/{c.tagged}/get"),
        status=always(200),
        check=tarred,
    ),
    Case(
        name="load_image",
        group=IMAGES,
        func=api.load_image,
        label="load",
        needs=SAVED,
        build=lambda c: api.load_image(c.tarball, c.version),
        wire=lambda c: Wire("POST", "/images/load", headers=TAR, raw=c.tarball),
        status=always(200),
        check=loaded,
    ),
    Case(
        name="commit",
        group=IMAGES,
        func=api.commit,
        label="commit",
        needs=EXITED,
        build=lambda c: api.commit(
            c.container, c.version, repo=c.repo("c"), tag="t", config={"Cmd": ["true"]}
        ),
        wire=commit_wire,
        status=always(201),
        check=lambda o, c: checks.has_keys(o, "commit", "Id"),
        notes=(Note("commit config in ?run=", since=V(1, 7), until=V(1, 8)),),
    ),
    # --- build -------------------------------------------------------------------------------
    Case(
        name="build",
        group=BUILD,
        func=build,
        label="build",
        build=build_call,  # type: ignore[arg-type]
        wire=lambda c: Wire("POST", "/build", build_query(c), build_headers(c), raw=context_tar(c)),
        status=always(200),
        check=built,
        notes=(
            Note("text output", since=V(1, 3), until=V(1, 7)),
            Note("X-Registry-Auth", since=V(1, 8), until=V(1, 8)),
            Note('X-Registry-Config {"configs"}', since=V(1, 9), until=V(1, 18)),
        ),
    ),
    # --- registry ----------------------------------------------------------------------------
    Case(
        name="pull",
        group=REGISTRY,
        func=api.pull,
        label="pull",
        needs=PUSHED,
        build=lambda c: api.pull(
            parse_reference(c.tagged),
            c.version,
            auth=login_config(c) if c.version >= V(1, 5) else None,
        ),
        wire=pull_wire,
        status=always(200),
        check=progressed("pull"),
        notes=(TEXT_PROGRESS,),
    ),
    Case(
        name="push",
        group=REGISTRY,
        func=api.push,
        label="push",
        needs=PUSHABLE,
        build=lambda c: api.push(parse_reference(c.tagged), c.version, auth=runner_auth(c)),
        wire=push_wire,
        status=always(200),
        check=progressed("push"),
        notes=(
            TEXT_PROGRESS,
            Note("push with the stored login", until=V(1, 1)),
            Note("push auth in the body", since=V(1, 2), until=V(1, 4)),
        ),
    ),
    Case(
        name="login",
        group=REGISTRY,
        func=api.login,
        label="login",
        build=lambda c: api.login(login_config(c), c.version),
        wire=lambda c: Wire("POST", "/auth", headers=JSON, json=login_config(c).to_json()),
        status=always((200, 204)),
        check=logged_in,
    ),
    Case(
        name="default_auth",
        group=REGISTRY,
        func=api.default_auth,
        label="GET /auth",
        build=lambda c: api.default_auth(c.version),
        wire=lambda c: Wire("GET", "/auth"),
        status=always(200),
        check=default_auth_doc,
    ),
    Case(
        name="search",
        group=REGISTRY,
        func=api.search,
        label="search",
        build=lambda c: api.search(SEARCH_TERM, c.version),
        wire=lambda c: Wire("GET", "/images/search", {"term": SEARCH_TERM}),
        status=always(200),
        check=searched,
        notes=(
            Note("search keys Name, Description", until=V(1, 6)),
            Note("is_trusted", since=V(1, 7), until=V(1, 11)),
        ),
        real="search asks Docker Hub: no internet here",
    ),
)

__all__ = ["ANY", "CASES"]
