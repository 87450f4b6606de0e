"""Socket Mode with two connections: two bot runtimes, each its own WebSocket, one shared store.

The Slack simulator serves ``apps.connections.open`` and a local WebSocket endpoint, and hands
each envelope to exactly one open connection, as Slack does. No request URL is set, so a payload
that did not go over a socket would fail. The runtimes are built by ``build_runtime`` from Socket
Mode settings (``SLACK_APP_TOKEN`` set, no signing secret) and share one Redis prefix, as two
replicas would.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from redis.asyncio import Redis

from blocks import forms
from blocks.ids import ActionId, CallbackId
from bot.app import Runtime, build_runtime
from sim.collate import CollateSimulator, SimSettings
from sim.slack import AppResponse, SimMessage, SlackPerson, SlackSimulator, all_text
from tests.harness import (
    BOT_TOKEN,
    COLLATE_KEY,
    SIGNING_SECRET,
    bot_settings,
    eventually,
    redis_for_tests,
)

APP_TOKEN = "xapp-1-test-app-token-0123456789"


@dataclass
class SocketWorld:
    collate: CollateSimulator
    slack: SlackSimulator
    runtimes: list[Runtime]
    ports: list[int]
    channel: str
    people: dict[str, SlackPerson]
    redis: Redis

    def cards(self) -> list[SimMessage]:
        return self.slack.messages(self.channel)

    def only_card(self) -> SimMessage:
        cards = self.cards()
        assert len(cards) == 1, f"expected one card, found {len(cards)}"
        return cards[0]

    def dm_messages(self, person: SlackPerson) -> list[SimMessage]:
        channel = self.slack.dm_channel_id(person.id)
        return self.slack.messages(channel) if channel else []

    async def poll(self, replica: int = 0) -> None:
        await self.runtimes[replica].watcher.cycle()


@asynccontextmanager
async def socket_world(connections: int = 2) -> AsyncIterator[SocketWorld]:
    collate = CollateSimulator(
        api_key=COLLATE_KEY, settings=SimSettings(reconcile_delay_seconds=0.2)
    )
    slack = SlackSimulator(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, app_token=APP_TOKEN)
    collate_url = await collate.start()
    slack_url = await slack.start()
    people = {name: slack.add_user(name) for name in ("maria", "lee")}
    channel = slack.add_channel("prior-auth-handoffs", members=[p.id for p in people.values()])
    connect = await redis_for_tests()
    prefix = "s" + uuid.uuid4().hex[:10]
    settings = bot_settings(
        collate_url=collate_url,
        slack_url=slack_url,
        channel=channel,
        prefix=prefix,
        slack_signing_secret=None,
        slack_app_token=APP_TOKEN,
    )
    assert settings.socket_mode
    runtimes: list[Runtime] = []
    ports: list[int] = []
    redis = connect()
    try:
        for _ in range(connections):
            runtime = build_runtime(settings, redis=connect())
            runtimes.append(runtime)
            ports.append(await runtime.start(host="127.0.0.1", port=0, watch=False))
        await eventually(
            lambda: slack.socket_connection_count == connections, what="every socket to connect"
        )
        yield SocketWorld(collate, slack, runtimes, ports, channel, people, redis)
    finally:
        for runtime in runtimes:
            await runtime.stop()
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
        await slack.stop()
        await collate.stop()


def elements(message: SimMessage) -> list[dict[str, Any]]:
    found = []
    for block in message.blocks:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if isinstance(element, dict):
                found.append(element)
    return found


def action_ids(message: SimMessage) -> set[str]:
    return {str(e["action_id"]) for e in elements(message) if "action_id" in e}


def link_urls(message: SimMessage) -> list[str]:
    return [str(e["url"]) for e in elements(message) if e.get("type") == "button" and "url" in e]


def complete_values(reference: str) -> dict[str, Any]:
    return {
        forms.COMPLETE_OUTCOME_BLOCK: {forms.COMPLETE_OUTCOME_ACTION: "submitted"},
        forms.COMPLETE_REFERENCE_BLOCK: {forms.COMPLETE_REFERENCE_ACTION: reference},
    }


async def dm_link(world: SocketWorld, person: SlackPerson, *, not_url: str = "") -> SimMessage:
    def ready() -> SimMessage | None:
        messages = world.dm_messages(person)
        if messages and link_urls(messages[-1]) and link_urls(messages[-1])[0] != not_url:
            return messages[-1]
        return None

    message: SimMessage = await eventually(ready, what="a DM carrying a payer-session link")
    return message


async def test_the_whole_handoff_passes_over_two_socket_mode_connections() -> None:
    async with socket_world() as world:
        maria = world.people["maria"]
        auth = world.collate.add_authorization(review=True, case_id="CASE-5101")
        world.collate.set_reconcile_result("completed:approved", auth["id"])
        await world.poll(0)
        card = world.only_card()
        answers: list[AppResponse] = []

        answers.append(await maria.click(world.channel, card.ts, ActionId.ACCEPT.value))
        await eventually(
            lambda: ActionId.COMPLETE.value in action_ids(world.only_card()),
            what="the accepted card",
        )
        first = await dm_link(world, maria)
        answers.append(await maria.click(first.channel, first.ts, ActionId.NEW_LINK.value))
        await dm_link(world, maria, not_url=link_urls(first)[0])
        assert world.collate.handoff_creates(auth["id"]) == 1

        answers.append(await maria.click(world.channel, card.ts, ActionId.COMPLETE.value))
        modal = await eventually(lambda: world.slack.views(maria.id), what="the complete modal")
        assert modal[-1].callback_id == CallbackId.COMPLETE.value
        answers.append(await maria.submit_view(modal[-1].id, complete_values("SOCK-1")))
        assert answers[-1].view_outcome == "closed"
        await eventually(
            lambda: ActionId.COMPLETE.value not in action_ids(world.only_card()),
            what="the closing card",
        )
        assert link_urls(world.dm_messages(maria)[-1]) == []

        world.collate.advance(1.0)
        await eventually(
            lambda: world.collate.authorization(auth["id"])["status"] == "completed",
            what="Collate to reconcile",
        )
        await world.poll(1)
        settled = world.only_card()
        assert "Approved" in all_text(settled)
        assert "SOCK-1" in all_text(settled)

    assert [(a.via, a.status) for a in answers] == [("socket", 200)] * len(answers)
    assert len({a.socket_id for a in answers}) == 2, "the envelopes went to both connections"
    assert len(world.slack.calls_to("apps.connections.open")) == 2


async def test_socket_mode_serves_health_but_no_events_endpoint() -> None:
    async with socket_world() as world, aiohttp.ClientSession() as session:
        for port in world.ports:
            base = f"http://127.0.0.1:{port}"
            async with session.get(f"{base}/healthz") as health:
                assert health.status == 200
            async with session.post(f"{base}/slack/events", data=b"{}") as events:
                assert events.status in (404, 405)


async def test_simultaneous_accepts_on_two_connections_make_exactly_one_handoff() -> None:
    async with socket_world() as world:
        maria, lee = world.people["maria"], world.people["lee"]
        auth = world.collate.add_authorization(review=False, case_id="CASE-5102")
        await world.poll(0)
        card = world.only_card()

        answers = await asyncio.gather(
            maria.click(world.channel, card.ts, ActionId.ACCEPT.value),
            lee.click(world.channel, card.ts, ActionId.ACCEPT.value),
        )
        assert {a.socket_id for a in answers} == {1, 2}
        accepted = await eventually(
            lambda: (c := world.only_card()) and ActionId.COMPLETE.value in action_ids(c) and c,
            what="the accepted card",
        )
        for runtime in world.runtimes:
            await runtime.background.drain(5)

        winner = maria if f"<@{maria.id}>" in all_text(accepted) else lee
        loser = lee if winner is maria else maria
        assert world.collate.handoff_creates(auth["id"]) == 1
        assert world.dm_messages(winner)
        assert not world.dm_messages(loser)
        assert world.slack.ephemerals(user=loser.id), "the other person is told privately"


async def test_both_connections_come_back_after_slack_asks_for_a_refresh() -> None:
    async with socket_world() as world:
        await world.slack.disconnect_sockets("refresh_requested")
        await eventually(
            lambda: len(world.slack.calls_to("apps.connections.open")) == 4,
            what="both runtimes to ask for a new URL",
        )
        await eventually(lambda: world.slack.socket_connection_count == 2, what="two sockets")

        world.collate.add_authorization(review=False, case_id="CASE-5103")
        await world.poll(1)
        card = world.only_card()
        answer = await world.people["lee"].click(world.channel, card.ts, ActionId.ACCEPT.value)
        assert (answer.via, answer.status) == ("socket", 200)
        await eventually(
            lambda: ActionId.COMPLETE.value in action_ids(world.only_card()),
            what="the accepted card",
        )


async def test_the_other_connection_carries_everything_while_one_runtime_is_down() -> None:
    async with socket_world() as world:
        stopped = world.runtimes.pop(0)
        await stopped.stop()
        await eventually(lambda: world.slack.socket_connection_count == 1, what="one socket")

        world.collate.add_authorization(review=False, case_id="CASE-5104")
        await world.poll(0)
        card = world.only_card()
        maria = world.people["maria"]
        answers = [await maria.click(world.channel, card.ts, ActionId.ACCEPT.value)]
        first = await dm_link(world, maria)
        answers.append(await maria.click(first.channel, first.ts, ActionId.NEW_LINK.value))
        await dm_link(world, maria, not_url=link_urls(first)[0])

    assert [(a.via, a.status) for a in answers] == [("socket", 200)] * 2
    assert answers[0].socket_id == answers[1].socket_id
