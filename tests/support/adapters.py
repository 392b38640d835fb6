"""The three adapters (blocking, asyncio, trio) behind one async interface, for the tests.

Each scenario is written once, as an async function over an async client; the
blocking client runs behind a thin async facade (it blocks the loop: tests only).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import trio

from wireproto.adapters import _common, blocking
from wireproto.adapters import asyncio as aio
from wireproto.adapters import trio as trio_adapter
from wireproto.exchange import Output
from wireproto.versions import ApiVersion

T = TypeVar("T")
ADAPTERS = ["blocking", "asyncio", "trio"]


class BlockingSession:
    def __init__(self, session: blocking.Session | blocking.WSSession) -> None:
        self.session = session
        self.response = session.response

    async def send(self, data: bytes) -> None:
        self.session.send(data)

    async def close_stdin(self) -> None:
        self.session.close_stdin()

    async def events(self) -> AsyncIterator[Any]:
        for event in self.session.events():
            yield event

    async def aclose(self) -> None:
        self.session.close()


class BlockingWSSession(BlockingSession):
    def __init__(self, session: blocking.WSSession) -> None:
        super().__init__(session)
        self.ws = session.ws


class BlockingStream:
    def __init__(self, events: Iterator[Any]) -> None:
        self._events = events

    async def __aenter__(self) -> BlockingStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        close = getattr(self._events, "close", None)
        if close is not None:
            close()

    def __aiter__(self) -> BlockingStream:
        return self

    async def __anext__(self) -> Any:
        try:
            return next(self._events)
        except StopIteration:
            raise StopAsyncIteration from None


class BlockingClient:
    """The blocking client with the async client's methods (it blocks the loop: tests only)."""

    def __init__(self, host: str, **options: Any) -> None:
        self.client = blocking.Client(host, **options)

    async def __aenter__(self) -> BlockingClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.client.close()

    async def request(self, call: Any) -> _common.Reply:
        return self.client.request(call)

    def stream(self, call: Any, *, sinks: Any = None) -> BlockingStream:
        return BlockingStream(self.client.stream(call, sinks=sinks))

    async def hijack(self, call: Any, *, sinks: Any = None) -> BlockingSession:
        return BlockingSession(self.client.hijack(call, sinks=sinks))

    async def attach_ws(self, call: Any) -> BlockingWSSession:
        return BlockingWSSession(self.client.attach_ws(call))

    async def negotiate(self, pinned: ApiVersion | None = None) -> ApiVersion | None:
        return self.client.negotiate(pinned)


class Adapter:
    """Runs a scenario under one adapter: its client class and its event loop."""

    def __init__(self, name: str, backend: str) -> None:
        self.name = name
        self.backend = backend

    def client(self, host: str, **options: Any) -> Any:
        options.setdefault("backend", self.backend)
        if self.name == "blocking":
            return BlockingClient(host, **options)
        if self.name == "asyncio":
            return aio.Client(host, **options)
        return trio_adapter.Client(host, **options)

    def run(self, scenario: Callable[..., Awaitable[T]], *args: Any) -> T:
        if self.name == "trio":
            result: T = trio.run(scenario, *args)
            return result
        import asyncio

        return asyncio.run(scenario(*args))  # type: ignore[arg-type]

    async def sleep(self, seconds: float) -> None:
        if self.name == "trio":
            await trio.sleep(seconds)
        else:
            import asyncio

            await asyncio.sleep(seconds)


async def collect(events: Any) -> tuple[list[Any], dict[int, bytearray]]:
    """Events of a stream (payload views copied), and the output by stream."""
    seen: list[Any] = []
    output: dict[int, bytearray] = {1: bytearray(), 2: bytearray(), 3: bytearray()}
    async for event in events:
        if isinstance(event, Output):
            for stream, piece in event.pieces:
                output[stream] += piece
            event = Output(pieces=[(s, memoryview(bytes(p))) for s, p in event.pieces])
        seen.append(event)
    return seen, output
