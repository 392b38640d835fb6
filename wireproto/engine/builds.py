"""The stub engine's ``POST /build``: a tar context built by :mod:`wireproto.engine.build`.

Below 1.3 the engine's build took a multipart form (a Dockerfile upload), so
a tar body was refused with its 500 (eras row ``build``).  From 1.3 the body
is the context; the output is plain text before 1.8 and a JSON stream from
1.8 (``errorDetail`` with the failing command's exit status).  The base image
must be local or pullable from the stub's registry; one on a registry host
needs that registry's credentials, read as the served version read them.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING

from wireproto.engine import build, imagedocs, registry
from wireproto.engine.registry import has, shape
from wireproto.engine.routes import Context, Route
from wireproto.engine.script import chunk
from wireproto.engine.world import ImageRecord, World, normal_ref
from wireproto.versions import ApiVersion

if TYPE_CHECKING:
    from wireproto.engine.messages import Reply

MODERN = ApiVersion(1, 41)


def post_build(ctx: Context) -> Reply:
    # A context URL needs no upload: read from 1.2 (eras row build.remote), before a tar body was
    remote = ctx.query("remote") if has(ctx, "build.remote") else ""
    if remote:
        return _failed(ctx, [], build.BuildError(f"the stub engine does not fetch {remote}"))
    if not has(ctx, "build"):
        return ctx.error(500, "request Content-Type isn't multipart/form-data")
    version = shape(ctx)
    try:
        context = build.read_context(ctx.request.body)
    except build.BuildError as exc:
        return _failed(ctx, [], exc)
    dockerfile = context.get(ctx.query("dockerfile") or "Dockerfile")
    if dockerfile is None:
        return _failed(ctx, [], build.BuildError("Cannot locate specified Dockerfile: Dockerfile"))
    remove, force_remove = build.remove_intermediate(version, ctx.request.query)
    options = build.Options(
        version=version,
        quiet=has(ctx, "build.q") and ctx.flag("q"),
        remove=remove,
        force_remove=force_remove,
        short_id=lambda: imagedocs.short(ctx.world.new_id("layer")),
        cache=_cache(ctx),
    )
    outcome = build.execute(build.parse(dockerfile.decode("utf-8", "replace")), context, options)
    base = _base(ctx, outcome)
    if outcome.failure is None and isinstance(base, build.BuildError):
        outcome.failure = base
    if outcome.failure is not None or not isinstance(base, ImageRecord):
        return _failed(ctx, outcome.lines, outcome.failure or build.BuildError("no base image"))
    image = _commit(ctx, base, outcome)
    return _succeeded(ctx, outcome.lines, image, options.quiet)


# Each world's build cache: every engine that builds from a tar (docker v0.5.0, API 1.3, on)
# reuses the layer of a step it built before on the same chain; from 1.4 a build can say
# nocache (an engine of 1.3 ignores the parameter).
_CACHES: weakref.WeakKeyDictionary[World, dict[tuple[str, ...], str]] = weakref.WeakKeyDictionary()


def _cache(ctx: Context) -> dict[tuple[str, ...], str] | None:
    if has(ctx, "build.nocache") and ctx.flag("nocache"):
        return None
    return _CACHES.setdefault(ctx.world, {})


def _base(ctx: Context, outcome: build.Outcome) -> ImageRecord | build.BuildError:
    """The FROM image: local, or pulled from the stub's registry with the build's credentials."""
    if not outcome.base:
        return build.BuildError("no FROM")
    local = ctx.world.image(outcome.base)
    if local is not None:
        return local
    host = build.registry_of(outcome.base)
    if host != build.INDEX:
        found = build.credentials(shape(ctx), ctx.request.headers)
        if not build.authorised(host, found):
            return build.BuildError(f"unauthorized: authentication required for {host}")
    repository, tag = registry.split_reference(outcome.base)
    pulled = registry.pullable(ctx.world, f"{repository}:{tag}")
    if pulled is None:
        return build.BuildError(f"pull access denied for {repository}, repository does not exist")
    record = registry.materialise(ctx.world, pulled, f"{repository}:{tag}")
    ctx.world.emit("image", "pull", f"{repository}:{tag}", name=repository)
    return record


def _commit(ctx: Context, base: ImageRecord, outcome: build.Outcome) -> ImageRecord:
    image = ImageRecord(
        id="sha256:" + ctx.world.new_id("image"),
        parent=base.id,
        created=int(ctx.world.clock()),
        size=0,
        virtual_size=base.virtual_size,
        config={**base.config, **outcome.config},
        history=[*base.history, *(_made_by(step) for step in outcome.history)],
    )
    name = ctx.query("t")
    if name:
        image.repo_tags = [normal_ref(name)]
    ctx.world.add_image(image)
    if name:
        ctx.world.emit("image", "tag", image.id, name=normal_ref(name))
    return image


def _made_by(step: str) -> dict[str, object]:
    return {"created_by": step}


def _succeeded(ctx: Context, lines: list[str], image: ImageRecord, quiet: bool) -> Reply:
    version = shape(ctx)
    shown = imagedocs.short(image.id)
    final = [f"Successfully built {shown}\n"]
    if version >= MODERN and image.repo_tags:
        final.append(f"Successfully tagged {image.repo_tags[0]}\n")

    def pieces() -> Iterator[bytes]:
        if quiet and version >= MODERN:
            yield imagedocs.build_line(f"{image.id}\n", version)
            return
        for line in [*lines, *final[:1]]:
            yield imagedocs.build_line(line, version)
        if version >= MODERN:
            yield imagedocs.json_line({"aux": {"ID": image.id}})
        for line in final[1:]:
            yield imagedocs.build_line(line, version)

    return _stream(ctx, pieces())


def _failed(ctx: Context, lines: list[str], failure: build.BuildError) -> Reply:
    version = shape(ctx)
    pieces = [imagedocs.build_line(line, version) for line in lines]
    pieces.append(imagedocs.build_failure(failure.message, failure.code, version))
    return _stream(ctx, iter(pieces))


def _stream(ctx: Context, pieces: Iterator[bytes]) -> Reply:
    json_stream = has(ctx, "build.jsonstream")
    content_type = "application/json" if json_stream else "text/plain; charset=utf-8"
    return ctx.conn.streamed([chunk(p) for p in pieces], content_type)


ROUTES: tuple[Route, ...] = (Route("POST", "/build", post_build),)
