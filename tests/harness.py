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

import pytest
from redis.asyncio import Redis

from bot.app import Runtime, build_runtime
from bot.settings import Settings
from sim.collate import CollateSimulator, SimSettings
from sim.slack import SimMessage, SlackPerson, SlackSimulator

SIGNING_SECRET = "test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-token-0123456789"
COLLATE_KEY = "collate-test-key-0123456789"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


async def redis_for_tests() -> Redis:
    """A real Redis when one answers at ``HANDOFF_BOT_TEST_REDIS_URL`` (or the default), else
    the embedded store; ``HANDOFF_BOT_REQUIRE_REDIS=1`` (set by ``.ci/run``) forbids the latter."""
    url = os.environ.get("HANDOFF_BOT_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    redis: Redis = Redis.from_url(url, decode_responses=True, socket_connect_timeout=0.5)
    try:
        await redis.ping()
        return redis
    except OSError:
        await redis.aclose()
    except Exception:
        await redis.aclose()
    if os.environ.get("HANDOFF_BOT_REQUIRE_REDIS") == "1":
        pytest.fail(f"a real Redis server is required and none answers at {url}")
    from fakeredis import FakeAsyncRedis

    return FakeAsyncRedis(decode_responses=True)


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
    runtime: Runtime
    redis: Redis
    prefix: str
    channel: str
    people: dict[str, SlackPerson]

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

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
        **overrides,
    }
    return Settings(**values)


@asynccontextmanager
async def bot_world(
    *,
    sim_settings: SimSettings | None = None,
    people: tuple[str, ...] = ("maria", "lee", "sam"),
    **overrides: Any,
) -> AsyncIterator[BotWorld]:
    collate = CollateSimulator(
        api_key=COLLATE_KEY, settings=sim_settings or SimSettings(reconcile_delay_seconds=0.2)
    )
    slack = SlackSimulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN)
    collate_url = await collate.start()
    slack_url = await slack.start()
    members = {name: slack.add_user(name) for name in people}
    channel = slack.add_channel("prior-auth-handoffs", members=[p.id for p in members.values()])
    redis = await redis_for_tests()
    prefix = "t" + uuid.uuid4().hex[:10]
    settings = bot_settings(
        collate_url=collate_url, slack_url=slack_url, channel=channel, prefix=prefix, **overrides
    )
    runtime = build_runtime(settings, redis=redis)
    port = await runtime.start(host="127.0.0.1", port=0, watch=False)
    slack.set_request_url(f"http://127.0.0.1:{port}/slack/events")
    world = BotWorld(collate, slack, runtime, redis, prefix, channel, members)
    try:
        yield world
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await runtime.stop()
        await slack.stop()
        await collate.stop()
