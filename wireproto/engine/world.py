"""The stub engine's state: containers, images, execs, events, and every request received.

Strategy: one :class:`World` per engine, shared by all its connections (the
socket loop is one thread, so no locks).  It starts from a
:class:`~wireproto.engine.script.Script` (the scripted containers keep their
pre-encoded output, so scripted logs and attach stay as fast as before) and
changes as requests change it.  Anything that happens later (a container's
output, its exit, a new event) reaches the replies waiting for it through
:class:`Feed` objects the socket loop drains; timers (``sleep 5``) go through
the ``scheduler`` the socket loop installs, so this module stays sans-IO.
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wireproto.engine.hooks import Cancel, Scheduler, no_scheduler
from wireproto.engine.script import BASE_TIME, Container, Image, Script, ScriptedEvent
from wireproto.versions import ApiVersion

if TYPE_CHECKING:
    from wireproto.engine.programs import Program

NANOS = 1_000_000_000
MODERN = ApiVersion(1, 41)
# The versions the stub can be: every one the change log covers, and dockerd 20.10's.
VERSIONS: tuple[ApiVersion, ...] = (*(ApiVersion(1, n) for n in range(13)), MODERN)


class UnknownEngineVersion(ValueError):
    """The stub cannot be an engine of this API version."""


@dataclass(frozen=True)
class Received:
    """One request the engine dispatched, as it arrived.

    ``target`` is the request target as sent (prefix and query included),
    ``path`` the path without its version prefix, ``version`` the version it
    was served at; ``query`` maps each parameter to its values in order;
    ``headers`` are keyed by lower-cased name.
    """

    method: str
    target: str
    path: str
    version: ApiVersion
    query: dict[str, list[str]]
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)

    def __repr__(self) -> str:
        # Headers and bodies carry credentials (X-Registry-Auth, POST /auth): never shown.
        return (
            f"Received({self.method} {self.path} at {self.version}, "
            f"{len(self.headers)} headers, {len(self.body)} body bytes)"
        )


class Feed:
    """Bytes a reply gets over time: pushed by the world, drained by the socket loop.

    ``on_wake`` is the socket loop's callback (set while it waits); ``on_close``
    callbacks run when the client goes, so a subscription ends with its reader.
    """

    def __init__(self) -> None:
        self.pending: deque[bytes] = deque()
        self.ended = False
        self.on_wake: Callable[[], None] | None = None
        self.on_close: list[Callable[[], None]] = []

    def push(self, data: bytes) -> None:
        if data and not self.ended:
            self.pending.append(data)
            self._wake()

    def end(self) -> None:
        if not self.ended:
            self.ended = True
            self._wake()

    def take(self) -> bytes:
        data = b"".join(self.pending)
        self.pending.clear()
        return data

    def closed_by_client(self) -> None:
        """The reader left: unsubscribe whatever fed this."""
        self.ended = True
        callbacks, self.on_close = self.on_close, []
        for callback in callbacks:
            callback()

    def _wake(self) -> None:
        if self.on_wake is not None:
            self.on_wake()


@dataclass(eq=False)
class ImageRecord:
    """A local image: ``id`` is ``sha256:<64 hex>``, ``repo_tags`` are ``repo:tag``."""

    id: str
    repo_tags: list[str] = field(default_factory=list)
    repo_digests: list[str] = field(default_factory=list)
    parent: str = ""
    created: int = BASE_TIME
    size: int = 0
    virtual_size: int = 0
    config: dict[str, object] = field(default_factory=dict)
    author: str = ""
    comment: str = ""
    history: list[dict[str, object]] = field(default_factory=list)

    @property
    def short_id(self) -> str:
        return self.id.removeprefix("sha256:")[:12]


class Pipe:
    """A stdin: what arrives before its program runs waits here, EOF included."""

    def __init__(self) -> None:
        self.program: Program | None = None
        self.buffer = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        if self.program is not None:
            self.program.stdin(data)
        elif not self.closed:
            self.buffer += data

    def close(self) -> None:
        if self.program is not None:
            self.program.stdin_eof()
        self.closed = True

    def connect(self, program: Program) -> None:
        self.program = program
        data, self.buffer = bytes(self.buffer), bytearray()
        if data:
            program.stdin(data)
        if self.closed:
            program.stdin_eof()


@dataclass(eq=False)
class ExecRecord:
    """A command to run in a running container (``exec create``), then run (``start``)."""

    id: str
    container: ContainerRecord
    config: dict[str, object]
    running: bool = False
    exit_code: int | None = None
    pid: int = 0
    program: Program | None = None
    stdin: Pipe = field(default_factory=lambda: Pipe())
    watchers: list[Callable[[int, bytes], None]] = field(default_factory=list)
    on_exit: list[Callable[[], None]] = field(default_factory=list)

    @property
    def argv(self) -> list[str]:
        return [str(a) for a in _as_list(self.config.get("Cmd"))]

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))


@dataclass(eq=False)
class ContainerRecord:
    """A container: its config as created, its state, and its output so far.

    A scripted container (``scripted``) serves its output from the script's
    pre-encoded blocks; any other keeps ``output`` as (stream, bytes) messages
    with their times, written by its ``program`` (see :mod:`wireproto.engine.programs`).
    """

    id: str
    name: str
    image: str
    image_id: str
    config: dict[str, object] = field(default_factory=dict)
    host_config: dict[str, object] = field(default_factory=dict)
    state: str = "created"  # created, running, paused, exited
    exit_code: int = 0
    created_ns: int = BASE_TIME * NANOS
    started_ns: int = 0
    finished_ns: int = 0
    output: list[tuple[int, int, bytes]] = field(default_factory=list)  # (time_ns, stream, data)
    scripted: Container | None = None
    program: Program | None = None  # while running
    pid: int = 0
    restarts: int = 0
    stdin: Pipe = field(default_factory=lambda: Pipe())
    watchers: list[Callable[[int, bytes], None]] = field(default_factory=list)  # live output
    on_exit: list[Callable[[], None]] = field(default_factory=list)  # once, at the next exit
    on_remove: list[Callable[[], None]] = field(default_factory=list)
    removed: bool = False

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))

    @property
    def running(self) -> bool:
        return self.state in ("running", "paused")

    @property
    def argv(self) -> list[str]:
        entry = [str(a) for a in _as_list(self.config.get("Entrypoint"))]
        return entry + [str(a) for a in _as_list(self.config.get("Cmd"))]


# What dockerd fills in when a create leaves them out (clients read LogConfig.Type).
DEFAULT_HOST_CONFIG: dict[str, object] = {
    "LogConfig": {"Type": "json-file", "Config": {}},
    "NetworkMode": "default",
    "AutoRemove": False,
}


def _as_list(value: object) -> list[object]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value) if isinstance(value, list | tuple) else [value]


def container_id(seed: str) -> str:
    return hashlib.sha256(b"container " + seed.encode()).hexdigest()


def image_from_script(image: Image) -> ImageRecord:
    size = sum(size for _, size in image.layers)
    return ImageRecord(
        id=image.id,
        repo_tags=[image.reference],
        repo_digests=[f"{image.repository}@{image.digest}"],
        size=size,
        virtual_size=size,
        config={"Cmd": ["sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"]},
        history=[{"created_by": '/bin/sh -c #(nop) CMD ["sh"]', "created": BASE_TIME}],
    )


def normal_ref(ref: str) -> str:
    """``docker.io/library/x`` and ``library/x`` are ``x``; a bare repository means ``:latest``."""
    if "@" in ref:
        return ref
    short = ref.removeprefix("docker.io/").removeprefix("index.docker.io/")
    short = short.removeprefix("library/")
    last = short.rsplit("/", 1)[-1]
    return short if ":" in last else f"{short}:latest"


class World:
    """Everything the engine holds; see the module docstring."""

    def __init__(
        self,
        script: Script | None = None,
        *,
        api_version: ApiVersion = MODERN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if api_version not in VERSIONS:
            known = ", ".join(str(v) for v in VERSIONS)
            raise UnknownEngineVersion(f"the stub engine can be API {known}; not {api_version}")
        self.script = script or Script()
        self.api_version = api_version
        # Engines up to 1.12 accepted every older prefix; dockerd 20.10 (1.41) refuses below 1.12.
        oldest = ApiVersion(1, 12) if api_version > ApiVersion(1, 12) else ApiVersion(1, 0)
        self.min_version = oldest
        self.clock = clock
        self.scheduler: Scheduler = no_scheduler
        self.containers: dict[str, ContainerRecord] = {}
        self.images: dict[str, ImageRecord] = {}
        self.execs: dict[str, ExecRecord] = {}
        self.events: list[ScriptedEvent] = []
        self.subscribers: list[Callable[[ScriptedEvent], None]] = []
        self.journal: list[Received] = []
        self.pullable: dict[str, Image] = {}
        self._counter = 0

    @classmethod
    def from_script(cls, script: Script, **options: object) -> World:
        world = cls(script, **options)  # type: ignore[arg-type]
        for container in script.containers:
            world.containers[container.id] = _scripted_record(container)
        for image in script.images:
            world.add_image(image_from_script(image))
            world.pullable[image.reference] = image
        world.events = list(script.all_events())
        return world

    # --- names and ids ---------------------------------------------------------------------

    def now_ns(self) -> int:
        return int(self.clock() * NANOS)

    def new_id(self, kind: str) -> str:
        self._counter += 1
        return hashlib.sha256(f"{kind} {self._counter} {self.now_ns()}".encode()).hexdigest()

    # --- images ----------------------------------------------------------------------------

    def image(self, ref: str) -> ImageRecord | None:
        """By id (with or without ``sha256:``), unique id prefix, ``repo:tag``, or bare repo."""
        bare = ref.removeprefix("sha256:")
        if bare and all(c in "0123456789abcdef" for c in bare):
            found = self.images.get("sha256:" + bare)
            if found is not None:
                return found
            prefixed = [i for i in self.images.values() if i.id[7:].startswith(bare)]
            if len(prefixed) == 1:
                return prefixed[0]
        wanted = normal_ref(ref)
        for image in self.images.values():
            if wanted in (normal_ref(tag) for tag in image.repo_tags):
                return image
            if "@" in ref and ref in image.repo_digests:
                return image
        return None

    def add_image(self, image: ImageRecord) -> ImageRecord:
        """Adds ``image``; its tags move to it from any image that had them."""
        for tag in image.repo_tags:
            self.untag(tag)
        self.images[image.id] = image
        return image

    def tag(self, image: ImageRecord, ref: str) -> None:
        self.untag(ref)
        image.repo_tags.append(normal_ref(ref))

    def untag(self, ref: str) -> ImageRecord | None:
        """Removes the tag ``ref`` from the image that has it (returned), if any."""
        wanted = normal_ref(ref)
        for image in self.images.values():
            kept = [t for t in image.repo_tags if normal_ref(t) != wanted]
            if len(kept) != len(image.repo_tags):
                image.repo_tags = kept
                return image
        return None

    def remove_image(self, image: ImageRecord) -> None:
        self.images.pop(image.id, None)

    # --- containers ------------------------------------------------------------------------

    def container(self, ref: str) -> ContainerRecord | None:
        """By id, name (with or without ``/``), or unique id prefix."""
        name = ref.removeprefix("/")
        for container in self.containers.values():
            if ref == container.id or name == container.name:
                return container
        matches = [c for c in self.containers.values() if c.id.startswith(ref)] if ref else []
        return matches[0] if len(matches) == 1 else None

    def exec(self, ref: str) -> ExecRecord | None:
        return self.execs.get(ref)

    def create_container(
        self, name: str, image: ImageRecord, config: dict[str, object], image_ref: str
    ) -> ContainerRecord:
        host_config = config.pop("HostConfig", None)
        merged = {**image.config, **{k: v for k, v in config.items() if v not in (None, "", [])}}
        if config.get("Cmd") and not config.get("Entrypoint"):
            merged["Entrypoint"] = config.get("Entrypoint")
        container = ContainerRecord(
            id=self.new_id("container"),
            name=name,
            image=image_ref,
            image_id=image.id,
            config={**config, **merged, "Image": image_ref},
            host_config={
                **DEFAULT_HOST_CONFIG,
                **(host_config if isinstance(host_config, dict) else {}),
            },
            created_ns=self.now_ns(),
        )
        self.containers[container.id] = container
        self.emit("container", "create", container.id, image=image_ref, name=name)
        return container

    def start(self, container: ContainerRecord) -> None:
        """Runs the container's program (its output and exit reach watchers as they happen)."""
        from wireproto.engine.programs import build

        container.state, container.exit_code = "running", 0
        container.started_ns, container.pid = self.now_ns(), 4000 + len(self.containers)
        container.stdin = _fresh_stdin(container)
        program = build(container.argv, _ContainerIo(self, container))
        container.program = program
        self.emit("container", "start", container.id, image=container.image, name=container.name)
        program.start()
        if not program.done:
            container.stdin.connect(program)

    def signal(self, container: ContainerRecord, number: int, action: str = "kill") -> None:
        attributes = {"image": container.image, "name": container.name}
        if action == "kill":
            attributes["signal"] = str(number)
        self.emit("container", action, container.id, **attributes)
        if container.program is not None and not container.program.done:
            container.program.signal(number)

    def exited(self, container: ContainerRecord, code: int) -> None:
        if container.state not in ("running", "paused"):
            return
        container.state, container.exit_code = "exited", code
        container.finished_ns, container.pid, container.program = self.now_ns(), 0, None
        for record in list(self.execs.values()):
            if record.container is container and record.program is not None:
                record.program.signal(9)
        self.emit(
            "container",
            "die",
            container.id,
            exitCode=str(code),
            image=container.image,
            name=container.name,
        )
        waiting, container.on_exit = container.on_exit, []
        for callback in waiting:
            callback()
        if container.host_config.get("AutoRemove"):
            self.remove(container)

    def remove(self, container: ContainerRecord) -> None:
        self.containers.pop(container.id, None)
        container.removed = True
        self.emit("container", "destroy", container.id, image=container.image, name=container.name)
        waiting, container.on_remove = container.on_remove, []
        for callback in waiting:
            callback()

    def create_exec(self, container: ContainerRecord, config: dict[str, object]) -> ExecRecord:
        record = ExecRecord(id=self.new_id("exec"), container=container, config=config)
        self.execs[record.id] = record
        command = " ".join(record.argv)
        self.emit(
            "container",
            f"exec_create: {command}",
            container.id,
            image=container.image,
            name=container.name,
            execID=record.id,
        )
        return record

    def start_exec(self, record: ExecRecord) -> None:
        from wireproto.engine.programs import build

        record.running, record.pid = True, 5000 + len(self.execs)
        program = build(record.argv, _ExecIo(self, record))
        record.program = program
        container = record.container
        command = " ".join(record.argv)
        self.emit(
            "container",
            f"exec_start: {command}",
            container.id,
            image=container.image,
            name=container.name,
            execID=record.id,
        )
        program.start()
        if not program.done:
            if not record.config.get("AttachStdin"):
                record.stdin.close()
            record.stdin.connect(program)

    def exec_exited(self, record: ExecRecord, code: int) -> None:
        if not record.running:
            return
        record.running, record.exit_code, record.program = False, code, None
        container = record.container
        self.emit(
            "container",
            "exec_die",
            container.id,
            image=container.image,
            name=container.name,
            execID=record.id,
            exitCode=str(code),
        )
        waiting, record.on_exit = record.on_exit, []
        for callback in waiting:
            callback()

    # --- events ----------------------------------------------------------------------------

    def emit(self, type_: str, action: str, actor: str, **attributes: str) -> ScriptedEvent:
        """Records an event and hands it to every follower of ``GET /events``."""
        nanos = max(self.now_ns(), self.events[-1].time_ns + 1 if self.events else 0)
        event = ScriptedEvent(
            type_, action, actor, nanos // NANOS, nanos % NANOS, tuple(sorted(attributes.items()))
        )
        self.events.append(event)
        for subscriber in list(self.subscribers):
            subscriber(event)
        return event

    def subscribe(self, subscriber: Callable[[ScriptedEvent], None]) -> Callable[[], None]:
        """Calls ``subscriber`` with every new event; returns the unsubscribe function."""
        self.subscribers.append(subscriber)

        def unsubscribe() -> None:
            if subscriber in self.subscribers:
                self.subscribers.remove(subscriber)

        return unsubscribe


class _ContainerIo:
    """A container's program's Io: its output goes to the log and to attached streams."""

    def __init__(self, world: World, container: ContainerRecord) -> None:
        self.world, self.container = world, container

    def write(self, stream: int, data: bytes) -> None:
        self.container.output.append((self.world.now_ns(), stream, data))
        for watcher in list(self.container.watchers):
            watcher(stream, data)

    def exit(self, code: int) -> None:
        self.world.exited(self.container, code)

    def later(self, delay: float, callback: Callable[[], None]) -> Cancel:
        return self.world.scheduler(delay, callback)


class _ExecIo:
    def __init__(self, world: World, record: ExecRecord) -> None:
        self.world, self.record = world, record

    def write(self, stream: int, data: bytes) -> None:
        for watcher in list(self.record.watchers):
            watcher(stream, data)

    def exit(self, code: int) -> None:
        self.world.exec_exited(self.record, code)

    def later(self, delay: float, callback: Callable[[], None]) -> Cancel:
        return self.world.scheduler(delay, callback)


def _fresh_stdin(container: ContainerRecord) -> Pipe:
    """A new stdin per run: input attached before the start is kept; no OpenStdin: EOF."""
    pipe = container.stdin if container.stdin.program is None else Pipe()
    if not container.config.get("OpenStdin"):
        pipe.closed = True
    return pipe


def _scripted_record(container: Container) -> ContainerRecord:
    return ContainerRecord(
        id=container.id,
        name=container.name,
        image=container.image,
        image_id="sha256:" + "0" * 64,
        config={
            "Tty": container.tty,
            "OpenStdin": True,
            "AttachStdin": False,
            "AttachStdout": True,
            "AttachStderr": True,
            "Image": container.image,
            "Cmd": ["sh"],
        },
        host_config={"LogConfig": {"Type": "json-file", "Config": {}}},
        state="running" if container.running else "exited",
        exit_code=container.exit_code,
        scripted=container,
        pid=4242 if container.running else 0,
    )
