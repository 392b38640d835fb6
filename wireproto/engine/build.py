"""``POST /build`` on the stub engine: a Dockerfile read from a tar context, run by a model.

Strategy: nothing is executed.  The context tar is read whole; its Dockerfile
is parsed into steps; each step changes an image config the way the engine's
builder would (``ENV``, ``LABEL``, ``CMD``, ``WORKDIR``...), ``COPY``/``ADD``
check their sources are in the context, and ``RUN`` is judged by a tiny
model: ``true`` and most commands succeed, ``false`` fails with 1 and
``exit N`` with N.  The output lines are the builder's of the served
version: plain text before 1.8, a JSON stream after (``errorDetail``
carrying the failed command's exit status), and ``Step i/n`` at 1.41.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
import shlex
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field

from wireproto.engine import eras
from wireproto.versions import ApiVersion

MODERN = ApiVersion(1, 41)
INDEX = "https://index.docker.io/v1/"


class BuildError(Exception):
    """A build that stops: ``message`` as the engine words it, ``code`` the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class Step:
    keyword: str  # upper case
    argument: str

    def __str__(self) -> str:
        return f"{self.keyword} {self.argument}"


def read_context(body: bytes) -> dict[str, bytes]:
    """The regular files of a (possibly compressed) tar context, by normalised path."""
    try:
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:*") as archive:
            files: dict[str, bytes] = {}
            for member in archive.getmembers():
                if member.isfile():
                    data = archive.extractfile(member)
                    files[_normal(member.name)] = data.read() if data else b""
            return files
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BuildError(f"the build context is not a tar archive: {exc}") from None


def _normal(name: str) -> str:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    return "/".join(parts)


def parse(text: str) -> list[Step]:
    """The Dockerfile's steps: comments and blank lines dropped, ``\\`` continuations joined."""
    steps: list[Step] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        line, pending = pending + line, ""
        keyword, _, argument = line.partition(" ")
        steps.append(Step(keyword.upper(), argument.strip()))
    if pending.strip():
        keyword, _, argument = pending.strip().partition(" ")
        steps.append(Step(keyword.upper(), argument.strip()))
    return steps


KNOWN = {"FROM", "RUN", "CMD", "ENTRYPOINT", "ENV", "LABEL", "COPY", "ADD", "WORKDIR", "USER"}
KNOWN |= {"EXPOSE", "VOLUME", "MAINTAINER", "ARG", "STOPSIGNAL", "ONBUILD", "SHELL"}


def run_status(command: str) -> int:
    """The exit status the model gives a RUN command: ``exit N`` is N, ``false`` 1, else 0.

    Only the first failing simple command of an ``&&`` chain counts, as a shell would.
    """
    for part in command.split("&&"):
        words = part.split()
        if not words:
            continue
        if words[0] == "false":
            return 1
        if words[0] == "exit":
            arg = words[1] if len(words) > 1 else "0"
            return int(arg) % 256 if re.fullmatch(r"[0-9]+", arg) else 2
    return 0


@dataclass
class Outcome:
    """What a build did: its output lines, the image config it made, its failure if any."""

    lines: list[str] = field(default_factory=list)
    base: str = ""  # the FROM reference
    config: dict[str, object] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    failure: BuildError | None = None


@dataclass
class Options:
    version: ApiVersion
    quiet: bool = False
    remove: bool = False  # rm, as the version reads it
    force_remove: bool = False
    short_id: Callable[[], str] = lambda: "0" * 12
    # The engine's build cache (step chain -> layer id), None when the engine has none or
    # the build asked for nocache.
    cache: dict[tuple[str, ...], str] | None = None


def remove_intermediate(version: ApiVersion, query: dict[str, list[str]]) -> tuple[bool, bool]:
    """(rm, forcerm) as an engine of ``version`` reads them: a parameter it lacks is ignored."""

    def value(name: str) -> str:
        return query.get(name, [""])[0]

    forcerm = eras.has("build.forcerm", version) and _truthy(value("forcerm"))
    if eras.has("build.rm.default", version):
        return forcerm or value("rm") in ("", *_TRUE), forcerm
    if eras.has("build.rm", version):
        return _truthy(value("rm")), False
    return False, False


_TRUE = ("1", "true", "True", "TRUE", "t", "T")


def _truthy(value: str) -> bool:
    return value in _TRUE


def execute(steps: list[Step], context: dict[str, bytes], options: Options) -> Outcome:
    """Runs ``steps`` through the model; a failure stops it and is kept in ``failure``."""
    outcome = Outcome()
    if not steps or steps[0].keyword != "FROM":
        outcome.failure = BuildError("Please provide a source image with `from` prior to commit")
        return outcome
    total = len(steps)
    chain: tuple[str, ...] = ()
    for number, step in enumerate(steps):
        outcome.lines.append(_step_line(number, total, step, options.version))
        chain = (*chain, _cache_key(step, context))
        cached = options.cache.get(chain) if options.cache is not None and number else None
        try:
            if cached is not None and step.keyword == "RUN":
                outcome.history.append(str(step))  # its layer is reused, nothing runs
            else:
                _apply(step, context, outcome, options)
        except BuildError as exc:
            outcome.failure = exc
            return outcome
        if cached is not None:
            outcome.lines.append(" ---> Using cache\n")
        layer = cached or options.short_id()
        if options.cache is not None:
            options.cache[chain] = layer
        outcome.lines.append(f" ---> {layer}\n")
    return outcome


def _cache_key(step: Step, context: dict[str, bytes]) -> str:
    """A step as the cache tells it apart: its text, and for COPY/ADD the files it takes."""
    if step.keyword not in ("COPY", "ADD"):
        return str(step)
    sources = step.argument.split()[:-1]
    digest = hashlib.sha256()
    for source in sources:
        digest.update(context.get(_normal(source), b""))
    return f"{step} {digest.hexdigest()}"


def _step_line(number: int, total: int, step: Step, version: ApiVersion) -> str:
    if version >= MODERN:
        return f"Step {number + 1}/{total} : {step}\n"
    return f"Step {number} : {step}\n"


def _apply(step: Step, context: dict[str, bytes], outcome: Outcome, options: Options) -> None:
    keyword, argument = step.keyword, step.argument
    config = outcome.config
    if keyword not in KNOWN:
        raise BuildError(f"Unknown instruction: {keyword}")
    if keyword == "FROM":
        outcome.base = argument.split()[0] if argument else ""
        if not outcome.base:
            raise BuildError("FROM requires one argument")
    elif keyword == "RUN":
        _run(argument, outcome, options)
    elif keyword in ("CMD", "ENTRYPOINT"):
        config["Cmd" if keyword == "CMD" else "Entrypoint"] = _command(argument)
    elif keyword == "ENV":
        env = [str(e) for e in config.get("Env") or []]  # type: ignore[attr-defined]
        config["Env"] = env + [f"{k}={v}" for k, v in _pairs(argument)]
    elif keyword == "LABEL":
        labels = dict(config.get("Labels") or {})  # type: ignore[call-overload]
        config["Labels"] = {**labels, **dict(_pairs(argument))}
    elif keyword in ("COPY", "ADD"):
        _copy(argument, context)
    elif keyword == "WORKDIR":
        config["WorkingDir"] = argument
    elif keyword == "USER":
        config["User"] = argument
    outcome.history.append(str(step))


def _run(command: str, outcome: Outcome, options: Options) -> None:
    container = options.short_id()
    outcome.lines.append(f" ---> Running in {container}\n")
    status = run_status(command)
    if status:
        shown = (
            f"'/bin/sh -c {command}'" if options.version >= MODERN else f"[/bin/sh -c {command}]"
        )
        raise BuildError(f"The command {shown} returned a non-zero code: {status}", status)
    words = command.split(None, 1)
    if words and words[0] == "echo" and not options.quiet:
        # the container's output; q (quiet) is what suppressed it
        outcome.lines.append((words[1] if len(words) > 1 else "") + "\n")
    if options.remove:
        outcome.lines.append(f"Removing intermediate container {container}\n")


def _command(argument: str) -> list[str]:
    if argument.startswith("["):
        try:
            value = json.loads(argument)
        except ValueError:
            value = None
        if isinstance(value, list):
            return [str(v) for v in value]
    return ["/bin/sh", "-c", argument]


def _pairs(argument: str) -> list[tuple[str, str]]:
    """``k=v k2="v 2"`` pairs, or the legacy ``ENV key value`` form."""
    words = shlex.split(argument)
    if words and "=" not in words[0]:
        return [(words[0], argument.partition(" ")[2].strip())]
    return [(k, v) for k, _, v in (w.partition("=") for w in words)]


def _copy(argument: str, context: dict[str, bytes]) -> None:
    words = _command(argument) if argument.startswith("[") else argument.split()
    sources = [w for w in words[:-1] if not w.startswith("--")]
    if not sources:
        raise BuildError("COPY requires at least two arguments")
    for source in sources:
        if source.startswith(("http://", "https://")):
            continue
        wanted = _normal(source)
        if wanted in ("", "*") or any(
            name == wanted or name.startswith(wanted + "/") for name in context
        ):
            continue
        raise BuildError(f"COPY failed: file not found in build context: {source}")


# --- registry credentials -----------------------------------------------------------------------


def registry_of(reference: str) -> str:
    """The registry a reference names: its first part when that looks like a host, else Hub."""
    first, slash, _ = reference.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return INDEX


def credentials(version: ApiVersion, headers: dict[str, str]) -> dict[str, dict[str, object]]:
    """The auth configs by registry an engine of ``version`` reads from a build's headers.

    1.8: one AuthConfig in X-Registry-Auth (for any registry); 1.9 .. 1.18: X-Registry-Config
    as ``{"configs": {registry: auth}}``; 1.19+: the bare map.  A header in another form
    decodes to nothing, as the engine's JSON decoding into its struct gave nothing.
    """
    if eras.has("build.registry_auth", version):
        auth = _decode(headers.get("x-registry-auth", ""))
        return {"*": auth} if isinstance(auth, dict) and "configs" not in auth else {}
    if not eras.has("build.registry_config", version):
        return {}
    decoded = _decode(headers.get("x-registry-config", ""))
    if not isinstance(decoded, dict):
        return {}
    if eras.has("build.registry_config.bare", version):
        found = {k: v for k, v in decoded.items() if k != "configs"}
    else:
        configs = decoded.get("configs")
        found = configs if isinstance(configs, dict) else {}
    return {str(k): v for k, v in found.items() if isinstance(v, dict)}


def _decode(header: str) -> object:
    if not header:
        return None
    try:
        padded = header + "=" * (-len(header) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        return None


def authorised(registry: str, found: dict[str, dict[str, object]]) -> bool:
    """Whether ``found`` holds a config with a username for ``registry``."""
    return any(
        (key in ("*", registry) or key.removeprefix("https://").startswith(registry))
        and bool(auth.get("username") or auth.get("auth") or auth.get("identitytoken"))
        for key, auth in found.items()
    )
