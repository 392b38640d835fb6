"""A success status the call does not document fails the exchange (UnexpectedStatus).

``Call.statuses`` lists what the API documents; a reply outside it (a 200
where start promises 204 or 304) is not read as if it were the documented
one: its body is kept on the error, and the client goes on (as after an
APIError, the failed connection is not reused).  Run
sans-IO on the exchange, then over a loopback socket on the three adapters.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from tests.support.sockets import recv_head
from wireproto import api
from wireproto import exchange as ex
from wireproto.adapters import asyncio as aio
from wireproto.adapters import blocking
from wireproto.adapters import trio as trio_adapter
from wireproto.errors import Conflict, RemoteProtocolError, StreamFailed, UnexpectedStatus
from wireproto.http import BodyKind, Call, Response

BODY = b'{"surprise":true}'
SURPRISE = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
STARTED = b"HTTP/1.1 204 No Content\r\n\r\n"


def run(exchange: ex.Exchange, reply: bytes) -> list[object]:
    exchange.data_to_send()
    exchange.receive_data(reply)
    events: list[object] = []
    while (event := exchange.next_event()) not in (ex.NEED_DATA, ex.PAUSED):
        events.append(event)
    return events


def test_an_undocumented_success_status_is_a_typed_error_with_the_body(backend: str) -> None:
    call = api.start("c1")
    assert call.statuses == (204, 304)
    exchange = ex.Exchange(call, backend=backend)
    with pytest.raises(UnexpectedStatus) as caught:
        run(exchange, SURPRISE)
    error = caught.value
    assert isinstance(error, RemoteProtocolError)
    assert (error.status, error.expected, error.body) == (200, (204, 304), BODY)
    assert "/containers/c1/start" in str(error)
    assert isinstance(exchange.response, Response) and exchange.response.status == 200
    with pytest.raises(StreamFailed):
        exchange.next_event()


@pytest.mark.parametrize("reply", [STARTED, b"HTTP/1.1 304 Not Modified\r\n\r\n"])
def test_each_documented_status_still_passes(backend: str, reply: bytes) -> None:
    events = run(ex.Exchange(api.start("c1"), backend=backend), reply)
    assert isinstance(events[0], Response) and isinstance(events[-1], ex.EndOfMessage)


def test_an_error_status_is_still_an_api_error(backend: str) -> None:
    error = b'{"message":"paused"}'
    reply = b"HTTP/1.1 409 Conflict\r\nContent-Length: %d\r\n\r\n%s" % (len(error), error)
    with pytest.raises(Conflict) as caught:
        run(ex.Exchange(api.start("c1"), backend=backend), reply)
    assert caught.value.message == "paused"


def test_a_call_without_statuses_takes_any_success_status(backend: str) -> None:
    call = api.start("c1")
    loose = Call(request=call.request, kind=BodyKind.EMPTY)
    events = run(ex.Exchange(loose, backend=backend), SURPRISE)
    assert isinstance(events[-1], ex.EndOfMessage)


# --- over a socket, on each adapter --------------------------------------------------------------


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[str]:
    """A unix socket answering 200 with a body, then 204 (on whichever connection)."""
    path = tmp_path / "engine.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(path))
    listener.listen(4)
    replies = [SURPRISE, STARTED]

    def serve() -> None:
        while replies:
            conn, _ = listener.accept()
            with conn:
                while replies and recv_head(conn)[1]:
                    conn.sendall(replies.pop(0))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"unix://{path}"
    listener.close()
    thread.join(5)


def check(first: BaseException | None, second: Response) -> None:
    assert isinstance(first, UnexpectedStatus) and first.body == BODY
    assert second.status == 204  # the client still works


def test_blocking(engine: str, backend: str) -> None:
    with blocking.Client(engine, backend=backend) as client:
        with pytest.raises(UnexpectedStatus) as caught:
            client.request(api.start("c1"))
        check(caught.value, client.request(api.start("c1")).response)


def test_asyncio(engine: str, backend: str) -> None:
    async def scenario() -> None:
        async with aio.Client(engine, backend=backend) as client:
            with pytest.raises(UnexpectedStatus) as caught:
                await client.request(api.start("c1"))
            check(caught.value, (await client.request(api.start("c1"))).response)

    asyncio.run(scenario())


def test_trio(engine: str, backend: str) -> None:
    async def scenario() -> None:
        async with trio_adapter.Client(engine, backend=backend) as client:
            with pytest.raises(UnexpectedStatus) as caught:
                await client.request(api.start("c1"))
            check(caught.value, (await client.request(api.start("c1"))).response)

    trio.run(scenario)
