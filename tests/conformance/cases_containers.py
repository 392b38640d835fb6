"""Cases: containers, attach and logs, exec."""

from __future__ import annotations

from tests.conformance import checks
from tests.conformance.model import (
    CREATED,
    EXEC,
    EXEC_RUNNING,
    EXITED,
    NONE,
    PAUSED,
    RUNNING,
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

# A container's program: what it writes, on which stream (the stub engine runs the same).
OUTPUT_CMD = ["sh", "-c", "echo out; echo err >&2"]
STDOUT, STDERR = b"out\n", b"err\n"
LONG_CMD = ["sleep", "3600"]
JSON = {"content-type": "application/json"}


def config(ctx: Ctx, cmd: list[str]) -> dict[str, object]:
    """A container config for ``cmd``; on the real engine with no network (house rule)."""
    conf: dict[str, object] = {"Image": ctx.image, "Cmd": cmd}
    if ctx.real:
        conf["NetworkDisabled"] = True
        conf["HostConfig"] = {"NetworkMode": "none"}
    return conf


def cpath(ctx: Ctx, action: str = "") -> str:
    return f"/containers/{ctx.container}" + (f"/{action}" if action else "")


# --- checks -------------------------------------------------------------------------------------


def listed(outcome: Outcome, ctx: Ctx) -> None:
    table = checks.rows(outcome.document, "GET /containers/json")
    mine = [row for row in table if checks.same_id(row.get("Id"), ctx.container)]
    assert mine, f"container {ctx.container[:12]} not listed in {table}"
    for row in table:
        assert isinstance(row.get("Ports"), list), f"Ports not normalised to a list: {row}"
    # as sent: Ports a string before 1.5 (a list from it)
    port_type = list if ctx.version >= V(1, 5) else str
    for row in checks.rows(outcome.raw, "GET /containers/json as sent"):
        assert isinstance(row.get("Ports"), port_type), f"Ports as sent: {row}"


def created(outcome: Outcome, ctx: Ctx) -> None:
    doc = checks.document(outcome, "create", "Id")
    assert isinstance(doc["Id"], str) and doc["Id"]


def inspected(outcome: Outcome, ctx: Ctx) -> None:
    doc = checks.document(outcome, "container inspect", "Id", "State", "Config")
    checks.camel_case(doc, "container inspect")
    assert checks.same_id(doc["Id"], ctx.container)


def topped(outcome: Outcome, ctx: Ctx) -> None:
    doc = checks.document(outcome, "top", "Titles", "Processes")
    assert isinstance(doc["Titles"], list) and isinstance(doc["Processes"], list)
    assert doc["Processes"], "top of a running container lists no process"
    # as sent: one object per process at 1.3, Titles and Processes from 1.4
    if ctx.version == V(1, 3):
        assert checks.rows(outcome.raw, "top as sent"), outcome.raw
    else:
        assert isinstance(outcome.raw, dict) and "Titles" in outcome.raw, outcome.raw


def wrote_output(outcome: Outcome, ctx: Ctx) -> None:
    """The container's output, by stream when multiplexed, merged (in order) when raw."""
    multiplexed = ctx.version >= V(1, 6)
    if multiplexed:
        assert outcome.output.get(1, b"") == STDOUT, outcome.output
        assert outcome.output.get(2, b"") == STDERR, outcome.output
    else:
        assert sorted(outcome.all_output.splitlines(keepends=True)) == sorted([STDOUT, STDERR])


def logged(outcome: Outcome, ctx: Ctx) -> None:
    assert outcome.output.get(1, b"") == STDOUT, outcome.output
    assert outcome.output.get(2, b"") == STDERR, outcome.output


def changed(outcome: Outcome, ctx: Ctx) -> None:
    for row in checks.rows(outcome.document, "changes"):
        assert set(row) >= {"Path", "Kind"}, row


def tarred(outcome: Outcome, ctx: Ctx) -> None:
    checks.is_tar(outcome.data)


def copied(outcome: Outcome, ctx: Ctx) -> None:
    assert checks.is_tar(outcome.data) == ["hostname"]


def nothing(outcome: Outcome, ctx: Ctx) -> None:
    assert not outcome.data and outcome.document in (None, b"", ""), outcome


def waited(outcome: Outcome, ctx: Ctx) -> None:
    doc = checks.document(outcome, "wait", "StatusCode")
    assert doc["StatusCode"] == 0, doc


def exec_made(outcome: Outcome, ctx: Ctx) -> None:
    doc = checks.document(outcome, "exec create", "Id")
    assert isinstance(doc["Id"], str) and doc["Id"]


def exec_output(outcome: Outcome, ctx: Ctx) -> None:
    assert outcome.output.get(1, b"") == b"hi\n", outcome.output


def exec_inspected(outcome: Outcome, ctx: Ctx) -> None:
    checks.document(outcome, "exec inspect", "ID", "Running", "ExitCode", "ProcessConfig")


# --- the cases ----------------------------------------------------------------------------------

CONTAINERS = "containers"
ATTACH = "attach/logs"
EXEC_GROUP = "exec"
V12 = V(1, 12)

CASES = (
    Case(
        name="list_containers",
        group=CONTAINERS,
        func=api.list_containers,
        label="list",
        needs=CREATED,
        build=lambda c: api.list_containers(c.version, all=True),
        wire=lambda c: Wire("GET", "/containers/json", {"all": "1"}),
        status=always(200),
        check=listed,
        notes=(Note("Ports as a string", until=V(1, 4)),),
    ),
    Case(
        name="create_container",
        group=CONTAINERS,
        func=api.create_container,
        label="create",
        build=lambda c: api.create_container(config(c, OUTPUT_CMD), c.version),
        wire=lambda c: Wire("POST", "/containers/create", headers=JSON, json=config(c, OUTPUT_CMD)),
        status=always(201),
        check=created,
    ),
    Case(
        name="inspect_container",
        group=CONTAINERS,
        func=api.inspect_container,
        label="inspect",
        needs=CREATED,
        build=lambda c: api.inspect_container(c.container, c.version),
        wire=lambda c: Wire("GET", cpath(c, "json")),
        status=always(200),
        check=inspected,
    ),
    Case(
        name="top",
        group=CONTAINERS,
        func=api.top,
        label="top",
        needs=RUNNING,
        build=lambda c: api.top(c.container, c.version),
        wire=lambda c: Wire("GET", cpath(c, "top")),
        status=always(200),
        check=topped,
        notes=(Note("top as rows", since=V(1, 3), until=V(1, 3)),),
    ),
    Case(
        name="changes",
        group=CONTAINERS,
        func=api.changes,
        label="changes",
        needs=EXITED,
        build=lambda c: api.changes(c.container, c.version),
        wire=lambda c: Wire("GET", cpath(c, "changes")),
        status=always(200),
        check=changed,
    ),
    Case(
        name="export",
        group=CONTAINERS,
        func=api.export,
        label="export",
        needs=EXITED,
        build=lambda c: api.export(c.container, c.version),
        wire=lambda c: Wire("GET", cpath(c, "export")),
        status=always(200),
        check=tarred,
    ),
    Case(
        name="start",
        group=CONTAINERS,
        func=api.start,
        label="start",
        needs=CREATED,
        build=lambda c: api.start(c.container, c.version),
        wire=lambda c: Wire("POST", cpath(c, "start")),
        status=since(V(1, 4), 200, 204),
        check=nothing,
        notes=(Note("start answers 200", until=V(1, 3)),),
    ),
    Case(
        name="stop",
        group=CONTAINERS,
        func=api.stop,
        label="stop",
        needs=RUNNING,
        build=lambda c: api.stop(c.container, c.version, timeout=0),
        wire=lambda c: Wire("POST", cpath(c, "stop"), {"t": "0"}),
        status=always(204),
        check=nothing,
    ),
    Case(
        name="restart",
        group=CONTAINERS,
        func=api.restart,
        label="restart",
        needs=RUNNING,
        build=lambda c: api.restart(c.container, c.version, timeout=0),
        wire=lambda c: Wire("POST", cpath(c, "restart"), {"t": "0"}),
        status=always(204),
        check=nothing,
    ),
    Case(
        name="kill",
        group=CONTAINERS,
        func=api.kill,
        label="kill",
        needs=RUNNING,
        # The signal by name from 1.9 (an integer at 1.6; not in the 1.7/1.8 references).
        build=lambda c: api.kill(
            c.container, c.version, signal="SIGKILL" if c.version >= V(1, 9) else None
        ),
        wire=lambda c: Wire(
            "POST", cpath(c, "kill"), {"signal": "SIGKILL"} if c.version >= V(1, 9) else {}
        ),
        status=always(204),
        check=nothing,
    ),
    Case(
        name="pause",
        group=CONTAINERS,
        func=api.pause,
        label="pause",
        needs=RUNNING,
        build=lambda c: api.pause(c.container, c.version),
        wire=lambda c: Wire("POST", cpath(c, "pause")),
        status=always(204),
        check=nothing,
    ),
    Case(
        name="unpause",
        group=CONTAINERS,
        func=api.unpause,
        label="unpause",
        needs=PAUSED,
        build=lambda c: api.unpause(c.container, c.version),
        wire=lambda c: Wire("POST", cpath(c, "unpause")),
        status=always(204),
        check=nothing,
    ),
    Case(
        name="wait",
        group=CONTAINERS,
        func=api.wait,
        label="wait",
        needs=EXITED,
        build=lambda c: api.wait(c.container, c.version),
        wire=lambda c: Wire("POST", cpath(c, "wait")),
        status=always(200),
        check=waited,
    ),
    Case(
        name="remove_container",
        group=CONTAINERS,
        func=api.remove_container,
        label="remove",
        needs=EXITED,
        build=lambda c: api.remove_container(c.container, c.version, volumes=True),
        wire=lambda c: Wire("DELETE", cpath(c), {"v": "1"}),
        status=always(204),
        check=nothing,
    ),
    Case(
        name="copy",
        group=CONTAINERS,
        func=api.copy,
        label="copy",
        needs=EXITED,
        build=lambda c: api.copy(c.container, "/etc/hostname", c.version),
        wire=lambda c: Wire(
            "POST", cpath(c, "copy"), headers=JSON, json={"Resource": "/etc/hostname"}
        ),
        status=always(200),
        check=copied,
    ),
    Case(
        name="resize",
        group=CONTAINERS,
        func=api.resize,
        label="resize",
        needs=RUNNING,
        build=lambda c: api.resize(c.container, 24, 80, c.version),
        wire=lambda c: Wire("POST", cpath(c, "resize"), {"h": "24", "w": "80"}),
        status=always(200),
        check=nothing,
    ),
    # --- attach and logs ---------------------------------------------------------------------
    Case(
        name="attach",
        group=ATTACH,
        func=api.attach,
        label="attach",
        needs=EXITED,
        build=lambda c: api.attach(c.container, c.version, logs=True, stream=False),
        wire=lambda c: Wire(
            "POST",
            cpath(c, "attach"),
            {"logs": "1", "stream": "0", "stdin": "0", "stdout": "1", "stderr": "1"},
        ),
        # 200 and a raw stream in the references (no Upgrade then); 101 once engines know it.
        status=since(V(1, 41), 200, 101),
        real_status=always(101),
        check=wrote_output,
        notes=(Note("raw (no mux)", until=V(1, 5)),),
    ),
    Case(
        name="attach_ws",
        group=ATTACH,
        func=api.attach_ws,
        label="attach/ws",
        needs=EXITED,
        build=lambda c: api.attach_ws(c.container, c.version, logs=True, stream=False),
        wire=lambda c: Wire(
            "GET",
            cpath(c, "attach/ws"),
            {"logs": "1", "stream": "0", "stdin": "0", "stdout": "1", "stderr": "1"},
            headers={"upgrade": "websocket"},
        ),
        status=always(101),
        check=lambda o, c: checks_ws(o),
    ),
    Case(
        name="logs",
        group=ATTACH,
        func=api.logs,
        label="logs",
        needs=EXITED,
        build=lambda c: api.logs(c.container, c.version),
        wire=lambda c: Wire("GET", cpath(c, "logs"), {"stdout": "1", "stderr": "1"}),
        status=always(200),
        check=logged,
    ),
    # --- exec --------------------------------------------------------------------------------
    Case(
        name="exec_create",
        group=EXEC_GROUP,
        func=api.exec_create,
        label="exec",
        needs=RUNNING,
        build=lambda c: api.exec_create(c.container, ["echo", "hi"], c.version),
        wire=lambda c: Wire(
            "POST",
            cpath(c, "exec"),
            headers=JSON,
            json={
                "AttachStdin": False,
                "AttachStdout": True,
                "AttachStderr": True,
                "Tty": False,
                "Cmd": ["echo", "hi"],
            },
        ),
        status=always(201),
        check=exec_made,
    ),
    Case(
        name="exec_start",
        group=EXEC_GROUP,
        func=api.exec_start,
        label="exec start",
        needs=EXEC,
        build=lambda c: api.exec_start(c.exec_id, c.version),
        wire=lambda c: Wire(
            "POST", f"/exec/{c.exec_id}/start", headers=JSON, json={"Detach": False, "Tty": False}
        ),
        status=always(101),
        check=exec_output,
    ),
    Case(
        name="exec_resize",
        group=EXEC_GROUP,
        func=api.exec_resize,
        label="exec resize",
        needs=EXEC_RUNNING,
        build=lambda c: api.exec_resize(c.exec_id, 24, 80, c.version),
        wire=lambda c: Wire("POST", f"/exec/{c.exec_id}/resize", {"h": "24", "w": "80"}),
        status=always(200),
        check=nothing,
    ),
    Case(
        name="exec_inspect",
        group=EXEC_GROUP,
        func=api.exec_inspect,
        label="exec inspect",
        needs=EXEC,
        build=lambda c: api.exec_inspect(c.exec_id, c.version),
        wire=lambda c: Wire("GET", f"/exec/{c.exec_id}/json"),
        status=always(200),
        check=exec_inspected,
    ),
)


def checks_ws(outcome: Outcome) -> None:
    """WebSocket attach: one stream, the container's output merged."""
    assert sorted(outcome.all_output.splitlines(keepends=True)) == sorted([STDOUT, STDERR])


__all__ = ["CASES", "NONE", "V12"]
