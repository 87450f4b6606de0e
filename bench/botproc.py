"""One bot process for the benchmarks: the real ``Runtime``, and a control port beside it.

``python -m bench.botproc`` reads the bot's settings from the environment, exactly as
``collate-handoff-bot run`` does, builds the runtime with ``build_runtime`` and starts it. A second
loopback port serves the controls the benchmarks need and the CLI has no use for:

- ``POST /cycle``: one watcher cycle now (``BENCH_WATCH=1`` runs the polling loop instead);
- ``POST /idle``: answer once no listener work is running in the background;
- ``GET /stats``: RSS, Redis round trips (all, and inside Bolt's dispatch, i.e. before the ack);
- ``POST /reset``: zero the round-trip counters;
- ``POST /quit``: stop the runtime the way SIGTERM does, and exit.

Its first line on stdout is ``{"port": ..., "control": ..., "pid": ...}``; the bot logs to stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.connection import Connection

from bot import logs
from bot.app import Runtime, build_runtime
from bot.settings import load_settings

IDLE_POLL_SECONDS = 0.002


class RoundTrips:
    """Redis round trips made by this process, and those made inside a Bolt dispatch."""

    total = 0
    in_dispatch = 0
    dispatch_tasks: set[asyncio.Task[Any]] = set()  # noqa: RUF012 - process-wide by design

    @classmethod
    def reset(cls) -> None:
        cls.total = 0
        cls.in_dispatch = 0


class CountingConnection(Connection):
    """A Redis connection that counts each write to the socket: one command, or one pipeline."""

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        RoundTrips.total += 1
        if asyncio.current_task() in RoundTrips.dispatch_tasks:
            RoundTrips.in_dispatch += 1
        await super().send_packed_command(command, check_health)


def counting_redis(url: str) -> Redis:
    pool = ConnectionPool.from_url(url, connection_class=CountingConnection, decode_responses=True)
    return Redis(connection_pool=pool)


def watch_dispatch(runtime: Runtime) -> None:
    """Mark Bolt's dispatch task, so that Redis calls made before the ack are told apart."""
    original: Callable[[Any], Awaitable[Any]] = runtime.bolt.async_dispatch

    async def dispatch(request: Any) -> Any:
        task = asyncio.current_task()
        if task is not None:
            RoundTrips.dispatch_tasks.add(task)
        try:
            return await original(request)
        finally:
            if task is not None:
                RoundTrips.dispatch_tasks.discard(task)

    setattr(runtime.bolt, "async_dispatch", dispatch)  # noqa: B010 - instrumentation only


def memory_kib() -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of this process, in KiB, from /proc."""
    found: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(value.split()[0])
    return found


class Control:
    def __init__(self, runtime: Runtime, stop: asyncio.Event) -> None:
        self._runtime = runtime
        self._stop = stop

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/cycle", self.cycle)
        app.router.add_post("/idle", self.idle)
        app.router.add_get("/stats", self.stats)
        app.router.add_post("/reset", self.reset)
        app.router.add_post("/quit", self.quit)
        return app

    async def cycle(self, _: web.Request) -> web.Response:
        started = time.monotonic()
        report = await self._runtime.watcher.cycle()
        return web.json_response({**report.__dict__, "seconds": time.monotonic() - started})

    async def idle(self, _: web.Request) -> web.Response:
        # Background offers no event to wait on; polling its count is enough for a benchmark.
        while self._runtime.background.running:  # noqa: ASYNC110
            await asyncio.sleep(IDLE_POLL_SECONDS)
        return web.json_response({"idle": True})

    async def stats(self, _: web.Request) -> web.Response:
        return web.json_response(
            {
                **memory_kib(),
                "round_trips": RoundTrips.total,
                "round_trips_before_ack": RoundTrips.in_dispatch,
                "background": self._runtime.background.running,
            }
        )

    async def reset(self, _: web.Request) -> web.Response:
        RoundTrips.reset()
        return web.json_response({"ok": True})

    async def quit(self, _: web.Request) -> web.Response:
        self._stop.set()
        return web.json_response({"ok": True})


async def serve() -> None:
    settings = load_settings()
    logs.configure(settings.log_level)
    redis = counting_redis(settings.redis_url or "redis://127.0.0.1:6379/0")
    runtime = build_runtime(settings, redis=redis)
    watch_dispatch(runtime)
    port = await runtime.start(host="127.0.0.1", port=0, watch=os.environ.get("BENCH_WATCH") == "1")
    stop = asyncio.Event()
    runner = web.AppRunner(Control(runtime, stop).app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    control = runner.addresses[0][1]
    sys.stdout.write(json.dumps({"port": port, "control": control, "pid": os.getpid()}) + "\n")
    sys.stdout.flush()
    try:
        await stop.wait()
    finally:
        await runtime.stop()
        await runner.cleanup()


def main() -> None:
    asyncio.run(serve())


if __name__ == "__main__":
    main()
