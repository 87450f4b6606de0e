"""The whole product on loopback: Collate simulator, Slack simulator, Redis, and the real bot.

``BotWorld`` starts the bot in HTTP mode with the real Bolt app, the real Collate client speaking
HTTP to the simulator, and Redis (a real server when one answers, see ``redis_for_tests``). People
act through the Slack simulator, which signs their clicks as Slack does.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from bot.app import Runtime, build_runtime
from bot.collate import CollateClient
from bot.settings import Settings
from sim.collate import CollateSimulator, SimSettings
from sim.slack import SimMessage, SlackPerson, SlackSimulator
from tests.block_kit import assert_valid_home, assert_valid_message_blocks, assert_valid_modal
from tests.vendor import vendor_available

SIGNING_SECRET = "test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-token-0123456789"
COLLATE_KEY = "collate-test-key-0123456789"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


async def redis_for_tests(url: str | None = None) -> Callable[[], Redis]:
    """Connections to one store: a real Redis when one answers at ``url`` (which must answer),
    else at ``HANDOFF_BOT_TEST_REDIS_URL`` (or the default), else the embedded one;
    ``HANDOFF_BOT_REQUIRE_REDIS=1`` (set by ``.ci/run``) forbids the latter. Each call of the
    result is a new connection, as a new process makes."""
    required = url is not None or os.environ.get("HANDOFF_BOT_REQUIRE_REDIS") == "1"
    url = url or os.environ.get("HANDOFF_BOT_TEST_REDIS_URL", DEFAULT_REDIS_URL)

    def real() -> Redis:
        return Redis.from_url(url, decode_responses=True, socket_connect_timeout=0.5)

    probe = real()
    try:
        await probe.ping()
        return real
    except Exception:
        if required:
            pytest.fail(f"a real Redis server is required and none answers at {url}")
    finally:
        await probe.aclose()
    from fakeredis import FakeAsyncRedis, FakeServer

    server = FakeServer()
    return lambda: FakeAsyncRedis(server=server, decode_responses=True)


async def eventually(
    condition: Callable[[], Any], *, within: float = 5.0, what: str = "condition"
) -> Any:
    """Poll ``condition`` (sync or async) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@dataclass
class BotWorld:
    collate: CollateSimulator
    slack: SlackSimulator
    _runtime: Runtime | None
    redis: Redis
    connect: Callable[[], Redis]
    prefix: str
    channel: str
    people: dict[str, SlackPerson]
    ids: dict[str, str]
    """Ids of the extra channels and user groups, by name."""
    bot_connects_itself: bool = False
    """The bot opens its own Redis connection from ``REDIS_URL``, as the product does."""

    @property
    def runtime(self) -> Runtime:
        assert self._runtime is not None, "the bot is not running"
        return self._runtime

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    async def start_bot(self, settings: Settings, *, collate: CollateClient | None = None) -> None:
        """Start a bot process on its own connection to the shared store."""
        redis = None if self.bot_connects_itself else self.connect()
        self._runtime = build_runtime(settings, redis=redis, collate=collate)
        port = await self._runtime.start(host="127.0.0.1", port=0, watch=False)
        self.slack.set_request_url(f"http://127.0.0.1:{port}/slack/events")

    async def stop_bot(self) -> None:
        if self._runtime is not None:
            await self._runtime.stop()
            self._runtime = None

    async def restart_bot(self) -> None:
        """Stop this bot process and start a new one on the same Redis, as a deploy would."""
        settings = self.settings
        await self.stop_bot()
        await self.start_bot(settings)

    async def poll(self) -> None:
        """One watcher cycle, as the polling loop would run it."""
        await self.runtime.watcher.cycle()

    def cards(self) -> list[SimMessage]:
        return self.slack.messages(self.channel)

    def only_card(self) -> SimMessage:
        cards = self.cards()
        assert len(cards) == 1, f"expected one card, found {len(cards)}"
        return cards[0]

    def thread(self, card: SimMessage) -> list[SimMessage]:
        return self.slack.replies(self.channel, card.ts)

    def dm_messages(self, person: SlackPerson) -> list[SimMessage]:
        channel = self.slack.dm_channel_id(person.id)
        return self.slack.messages(channel) if channel else []

    async def redis_dump(self) -> str:
        """Every key and value the bot wrote, as one string (for leak checks)."""
        parts: list[str] = []
        async for key in self.redis.scan_iter(match=f"{self.prefix}:*"):
            kind = await self.redis.type(key)
            if kind == "hash":
                parts.append(f"{key}={await self.redis.hgetall(key)}")
            elif kind == "set":
                parts.append(f"{key}={await self.redis.smembers(key)}")
            else:
                parts.append(f"{key}={await self.redis.get(key)}")
        return "\n".join(parts)


def _name_ids(value: Any, ids: dict[str, str]) -> Any:
    if not isinstance(value, str):
        return value
    for name, slack_id in ids.items():
        value = value.replace("{" + name + "}", slack_id)
    return value


def _schema_checker(problems: list[str]) -> Callable[[str, dict[str, Any]], list[str]]:
    """Every message and view the bot sends is checked against the vendored Block Kit schema."""

    def check(surface: str, payload: dict[str, Any]) -> list[str]:
        try:
            if surface == "message":
                if payload.get("blocks"):
                    assert_valid_message_blocks(payload["blocks"])
            elif surface == "modal":
                assert_valid_modal(payload)
            else:
                assert_valid_home(payload)
        except AssertionError as error:
            problems.append(f"{surface}: {error}")
            return [str(error)]
        return []

    return check


def bot_settings(
    *, collate_url: str, slack_url: str, channel: str, prefix: str, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": slack_url,
        "collate_api_key": COLLATE_KEY,
        "collate_base_url": collate_url,
        "handoff_channel": channel,
        "redis_key_prefix": prefix,
        "poll_interval_seconds": 0.2,
        "slack_post_spacing_seconds": 0.0,
        **overrides,
    }
    return Settings(**values)


@asynccontextmanager
async def bot_world(
    *,
    sim_settings: SimSettings | None = None,
    people: tuple[str, ...] = ("maria", "lee", "sam"),
    channels: tuple[str, ...] = (),
    groups: dict[str, tuple[str, ...]] | None = None,
    collate_transport: Callable[[CollateSimulator], httpx.AsyncBaseTransport] | None = None,
    redis_url: str | None = None,
    **overrides: Any,
) -> AsyncIterator[BotWorld]:
    """The product on loopback.

    ``channels`` are more channels (everyone a member) and ``groups`` Slack user groups by handle
    (of people's names); a string setting in ``overrides`` may name them as ``{handle}``, e.g.
    ``supervisor_channel="{supervisors}"``. ``collate_transport`` wraps the bot's HTTP to
    Collate, to make something happen at a precise moment. ``redis_url`` names a Redis server
    that must answer (e.g. one a fault test controls): the bot then connects to it by itself
    through ``REDIS_URL``, with the product's own connection settings."""
    collate = CollateSimulator(
        api_key=COLLATE_KEY, settings=sim_settings or SimSettings(reconcile_delay_seconds=0.2)
    )
    slack = SlackSimulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN)
    problems: list[str] = []
    if vendor_available():
        slack.set_block_checker(_schema_checker(problems))
    collate_url = await collate.start()
    slack_url = await slack.start()
    members = {name: slack.add_user(name) for name in people}
    everyone = [person.id for person in members.values()]
    channel = slack.add_channel("prior-auth-handoffs", members=everyone)
    ids = {name: slack.add_channel(name, members=everyone) for name in channels}
    for handle, names in (groups or {}).items():
        ids[handle] = slack.add_usergroup(handle, [members[name].id for name in names])
    overrides = {key: _name_ids(value, ids) for key, value in overrides.items()}
    connect = await redis_for_tests(redis_url)
    if redis_url is not None:
        overrides.setdefault("redis_url", redis_url)
    prefix = "t" + uuid.uuid4().hex[:10]
    settings = bot_settings(
        collate_url=collate_url, slack_url=slack_url, channel=channel, prefix=prefix, **overrides
    )
    client = None
    if collate_transport is not None:
        client = CollateClient(collate_url, COLLATE_KEY, transport=collate_transport(collate))
    own = redis_url is not None
    world = BotWorld(collate, slack, None, connect(), connect, prefix, channel, members, ids, own)
    await world.start_bot(settings, collate=client)
    try:
        yield world
        assert not problems, f"the bot sent Block Kit that Slack would refuse: {problems}"
    finally:
        keys = [key async for key in world.redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await world.redis.delete(*keys)
        await world.redis.aclose()
        await world.stop_bot()
        await slack.stop()
        await collate.stop()
