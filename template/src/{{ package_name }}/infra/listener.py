"""A LISTEN connection that survives reconnects: notifications in, callbacks out.

After every (re)connect the `on_connect` callbacks run, so consumers poll at once for
anything published while no notification could arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg
from asyncpg.pool import PoolConnectionProxy

logger = logging.getLogger(__name__)

Connect = Callable[[], Awaitable[asyncpg.Connection]]


class Listener:
    def __init__(
        self,
        connect: Connect,
        *,
        keepalive: float = 10.0,
        reconnect_delay: float = 0.5,
        max_reconnect_delay: float = 10.0,
    ) -> None:
        self._connect = connect
        self._keepalive = keepalive
        self._reconnect_delay = reconnect_delay
        self._max_reconnect_delay = max_reconnect_delay
        self._channels: dict[str, list[Callable[[str], None]]] = {}
        self._on_connect: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    def on(self, channel: str, callback: Callable[[str], None]) -> None:
        """Call `callback(payload)` for each notification on `channel` (register before start)."""
        self._channels.setdefault(channel, []).append(callback)

    def on_connect(self, callback: Callable[[], None]) -> None:
        self._on_connect.append(callback)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self, *, wait: float | None = 5.0) -> None:
        if self.running:
            return
        self._task = asyncio.create_task(self._run(), name="pg-listener")
        if wait:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):  # not wait_for: see subscription.py
                    await self._connected.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        delay = self._reconnect_delay
        while True:
            connection: asyncpg.Connection | None = None
            try:
                connection = await self._connect()
                lost = asyncio.Event()
                connection.add_termination_listener(_setter(lost))
                for channel, callbacks in self._channels.items():
                    await connection.add_listener(channel, _dispatcher(callbacks))
                self._connected.set()
                delay = self._reconnect_delay
                for callback in self._on_connect:
                    callback()
                await self._watch(connection, lost)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("LISTEN connection lost (%s); reconnecting in %.1fs", exc, delay)
            finally:
                self._connected.clear()
                if connection is not None and not connection.is_closed():
                    connection.terminate()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_reconnect_delay)

    async def _watch(self, connection: asyncpg.Connection, lost: asyncio.Event) -> None:
        """Return when the connection is gone; probe it so a silent network loss shows."""
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._keepalive):
                    await lost.wait()
            if lost.is_set() or connection.is_closed():
                break
            await connection.fetchval("SELECT 1", timeout=self._keepalive)
        raise ConnectionError("connection closed")


def _setter(event: asyncio.Event) -> Callable[[object], None]:
    return lambda _connection: event.set()


def _dispatcher(
    callbacks: list[Callable[[str], None]],
) -> Callable[[asyncpg.Connection | PoolConnectionProxy, int, str, object], None]:
    def dispatch(
        _connection: asyncpg.Connection | PoolConnectionProxy,
        _pid: int,
        _channel: str,
        payload: object,
    ) -> None:
        for callback in callbacks:
            try:
                callback(str(payload))
            except Exception:
                logger.exception("notification callback failed")

    return dispatch
