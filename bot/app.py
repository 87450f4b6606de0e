"""Wiring: settings in, a running bot out (Bolt app, web server, watcher, Redis, Collate).

``Runtime.start`` serves ``/healthz`` and ``/readyz`` on ``PORT`` in both modes, plus
``/slack/events`` in HTTP mode; in Socket Mode it connects with the app-level token instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

import handlers
from bot import logs, redaction
from bot.background import Background
from bot.collate import CollateClient
from bot.handoffs import HandoffService
from bot.roles import Roles
from bot.routing import router_from
from bot.settings import Settings
from bot.store import Store
from bot.surfaces import Surfaces
from bot.watcher import Watcher
from handlers import events

logger = logging.getLogger(__name__)

READINESS_TIMEOUT_SECONDS = 3.0
SHUTDOWN_DRAIN_SECONDS = 10.0
REDIS_TIMEOUT_SECONDS = 1.5


def slack_client(settings: Settings) -> AsyncWebClient:
    """The Web API client, with slack_sdk's own retry handlers for 429, 5xx and resets."""
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def connect_redis(settings: Settings) -> Redis:
    """Redis at ``REDIS_URL``, or an in-process stand-in that keeps nothing across restarts."""
    if settings.redis_url:
        # NOTE: short timeouts, so a hung Redis fails an operation in seconds instead of holding
        # a person's click (or the watcher) indefinitely.
        return Redis.from_url(
            settings.redis_url,
            decode_responses=True,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
    from fakeredis import FakeAsyncRedis

    logger.warning(
        "store.embedded",
        extra={
            "mode": "no REDIS_URL: state lives in this process and is lost on restart; "
            "replicas cannot share it"
        },
    )
    return FakeAsyncRedis(decode_responses=True)


@dataclass
class Runtime:
    """Everything one bot process runs, built by ``build_runtime``."""

    settings: Settings
    redis: Redis
    collate: CollateClient
    slack: AsyncWebClient
    bolt: AsyncApp
    handoffs: HandoffService
    watcher: Watcher
    background: Background
    port: int = 0
    """The HTTP port once started."""
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _socket: AsyncSocketModeHandler | None = None

    async def start(
        self,
        *,
        host: str = "0.0.0.0",  # noqa: S104 - a container's port is reached from outside
        port: int | None = None,
        watch: bool = True,
    ) -> int:
        """Serve HTTP, connect Socket Mode when configured, start polling; return the port.

        ``watch=False`` leaves polling to the caller (``watcher.cycle()``), for tests and the demo.
        """
        self._runner = web.AppRunner(self.web_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, self.settings.port if port is None else port)
        await site.start()
        bound = _bound_port(self._runner)
        self.port = bound
        if self.settings.socket_mode:
            await self._connect_socket_mode()
        if watch:
            self._tasks.append(asyncio.create_task(self.watcher.run(), name="watcher"))
        logger.info("bot.started", extra={"mode": self._mode, "port": bound})
        return bound

    @property
    def _mode(self) -> str:
        return "socket" if self.settings.socket_mode else "http"

    async def _connect_socket_mode(self) -> None:
        assert self.settings.slack_app_token is not None
        self._socket = AsyncSocketModeHandler(
            self.bolt, self.settings.slack_app_token.get_secret_value()
        )
        await self._socket.connect_async()  # type: ignore[no-untyped-call]

    async def stop(self) -> None:
        """Stop polling, close connections; in-flight listener tasks get a moment to finish."""
        await self.background.drain(SHUTDOWN_DRAIN_SECONDS)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
        if self._runner is not None:
            await self._runner.cleanup()
        await self.collate.aclose()
        await self.redis.aclose()

    def web_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        if not self.settings.socket_mode:
            app.router.add_post("/slack/events", self._slack_events)
        return app

    async def _slack_events(self, request: web.Request) -> web.Response:
        delivery = events.read_delivery(await request.read(), request.query_string, request.headers)
        if isinstance(delivery, BoltResponse):
            return await to_aiohttp_response(delivery)
        return await to_aiohttp_response(await self.bolt.async_dispatch(delivery))

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, _: web.Request) -> web.Response:
        checks = await asyncio.gather(
            self._redis_ready(), self._slack_ready(), self._collate_ready()
        )
        result = dict(zip(("redis", "slack", "collate"), checks, strict=True))
        ready = all(value == "ok" for value in result.values())
        return web.json_response(result, status=200 if ready else 503)

    async def _redis_ready(self) -> str:
        return await _check(self.handoffs.store.ping())

    async def _slack_ready(self) -> str:
        async def auth_test() -> bool:
            response = await self.slack.auth_test()
            return bool(response.get("ok"))

        return await _check(auth_test())

    async def _collate_ready(self) -> str:
        return await _check(self.collate.health())


async def _check(probe: Any) -> str:
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            return "ok" if await probe else "failing"
    except Exception as error:
        return f"failing: {type(error).__name__}"


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    raise RuntimeError("web server has no TCP address")


def build_runtime(
    settings: Settings, *, redis: Redis | None = None, collate: CollateClient | None = None
) -> Runtime:
    """Build (but do not start) the bot for ``settings``; ``redis`` and ``collate`` override
    the connections the settings describe (tests, the demo). Raises ``SettingsError`` for
    routing rules that do not parse."""
    logs.quiet_libraries()
    router = router_from(settings)
    redaction.remember_settings(settings)
    redis = redis if redis is not None else connect_redis(settings)
    store = Store(redis, prefix=settings.redis_key_prefix)
    collate = collate or CollateClient(
        settings.collate_base_url,
        settings.collate_api_key.get_secret_value(),
        if_match_version=settings.collate_if_match_version,
    )
    slack = slack_client(settings)
    roles = Roles(
        store,
        slack,
        operator_group=settings.operator_group,
        supervisor_group=settings.supervisor_group,
        cache_seconds=settings.group_cache_seconds,
    )
    handoffs = HandoffService(
        collate,
        store,
        Surfaces(slack, post_spacing_seconds=settings.slack_post_spacing_seconds),
        router=router,
        roles=roles,
        summary_fields=settings.summary_fields,
        supervisor_channel=settings.supervisor_channel,
    )
    bolt = AsyncApp(
        client=slack,
        signing_secret=(
            settings.slack_signing_secret.get_secret_value()
            if settings.slack_signing_secret
            else ""
        ),
        raise_error_for_unhandled_request=False,
        process_before_response=True,
    )
    background = Background()
    handlers.register(bolt, handoffs, background, settings)
    watcher = Watcher(
        collate,
        store,
        handoffs,
        interval_seconds=settings.poll_interval_seconds,
        lease_seconds=settings.watcher_lease_seconds,
    )
    return Runtime(settings, redis, collate, slack, bolt, handoffs, watcher, background)
