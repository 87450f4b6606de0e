"""Slack delivers things twice: an event it retries (``X-Slack-Retry-Num``), an interaction a
proxy or a Socket Mode reconnect hands over again. Each is handled once, across two bot
processes sharing one Redis, deduplicated on its own ids (the event's ``event_id``, the
interaction's ``trigger_id``) and never dropped just because it carries a retry header."""

from __future__ import annotations

import asyncio

import pytest

from blocks import texts
from blocks.ids import ActionId
from sim.slack import SlackPerson
from tests.faults import flow
from tests.faults.kit import FaultKit, Stage
from tests.faults.tap import Exchange, interaction
from tests.harness import eventually

pytestmark = pytest.mark.faults

TEST_SECONDS = 60.0
HARMLESS_NOTICES = frozenset({texts.working_on_it()})
"""What a person may be told while one click of theirs is handled (twice delivered or not)."""


async def two_bots(kit: FaultKit, **world_options: object) -> Stage:
    stage = await kit.stage(processes=True, **world_options)
    await stage.start_process("first")
    await stage.start_process("second")
    return stage


def refusals_to(stage: Stage, person: SlackPerson) -> list[str]:
    return [notice for notice in flow.told(stage, person) if notice not in HARMLESS_NOTICES]


async def _group_cached(stage: Stage, key: str) -> bool:
    client = stage.kit.redis.client()
    try:
        return bool(await client.exists(key))
    finally:
        await client.aclose()


async def _cache_group(stage: Stage, key: str, members: list[str]) -> None:
    client = stage.kit.redis.client()
    try:
        await client.sadd(key, "*", *members)
        await client.expire(key, 300)
    finally:
        await client.aclose()


async def test_an_event_slack_retries_is_handled_once_not_dropped_for_its_header(
    kit: FaultKit,
) -> None:
    """The first delivery never reached a bot (the ingress answered 500); Slack's retry, with
    ``X-Slack-Retry-Num: 1``, is handled; its second retry, at the other process, is not."""
    async with asyncio.timeout(TEST_SECONDS):
        stage = await two_bots(
            kit, groups={"operators": ("maria", "lee")}, operator_group="{operators}"
        )
        group_id = stage.world.ids["operators"]
        key = f"{stage.settings.redis_key_prefix}:group:{group_id}"
        members = [stage.person("maria").id, stage.person("lee").id]
        await _cache_group(stage, key, members)
        assert stage.relay is not None
        kit.recorder.fault("event delivery lost")
        stage.relay.on(_event_callback, reply=(500, {}))
        event = {"type": "subteam_members_changed", "subteam_id": group_id}

        lost = await stage.slack.send_event(event)
        assert lost.status == 500
        assert await _group_cached(stage, key), "no bot saw the first delivery"

        kit.recorder.fault("event retried")
        retry = await stage.slack.resend_event(lost.event_id or "", retry_num=1)
        assert retry.ok

        async def forgotten() -> bool:
            return not await _group_cached(stage, key)

        await eventually(forgotten, what="the retried event to be handled")

        await _cache_group(stage, key, members)
        kit.recorder.fault("event retried")
        again = await stage.slack.resend_event(lost.event_id or "", retry_num=2)
        assert again.ok
        retries = [exchange for exchange in stage.relay.exchanges if _event_callback(exchange)]
        assert len({exchange.target for exchange in retries[1:]}) == 2, "one at each process"
        await asyncio.sleep(0.5)
        assert await _group_cached(stage, key), "the same event is handled once"
        assert stage.logged("slack.event_repeated") == 1
        await stage.audit()


def _event_callback(exchange: Exchange) -> bool:
    return b'"event_callback"' in exchange.body


@pytest.mark.parametrize("concurrent", [True, False], ids=["at-once", "after-the-ack"])
async def test_an_accept_delivered_twice_is_handled_once(kit: FaultKit, concurrent: bool) -> None:
    async with asyncio.timeout(TEST_SECONDS):
        stage = await two_bots(kit)
        maria = stage.person("maria")
        offer = stage.offer()
        await flow.card_posted(stage, offer)
        assert stage.relay is not None
        kit.recorder.fault("interaction delivered twice")
        copy = stage.relay.copy(
            interaction("block_actions", action_id=ActionId.ACCEPT.value), concurrent=concurrent
        )

        await flow.click_accept(stage, offer, maria)
        await flow.accepted(stage, offer, maria)
        await flow.link_in_dm(stage, maria)
        await stage.relay.settle()
        await asyncio.sleep(0.5)

        assert [status for status, _ in copy.answers] == [200]
        for status, seconds in copy.answers:
            kit.recorder.ack("a repeated accept", seconds, status)
        assert stage.collate.handoff_creates(offer.id) == 1
        assert flow.grant_mints(stage, offer) == 1
        assert refusals_to(stage, maria) == []
        assert len(stage.world.dm_messages(maria)) == 1

        view = await flow.open_complete(stage, offer, maria)
        await flow.submit_complete(maria, view)
        await flow.closed(stage, offer)
        await flow.link_removed(stage, maria)
        flow.reconcile_now(stage)
        await flow.reconciled(stage, offer)
        await stage.audit()


async def test_a_submission_delivered_twice_closes_once(kit: FaultKit) -> None:
    async with asyncio.timeout(TEST_SECONDS):
        stage = await two_bots(kit)
        maria = stage.person("maria")
        offer = stage.offer()
        await flow.card_posted(stage, offer)
        await flow.click_accept(stage, offer, maria)
        await flow.accepted(stage, offer, maria)
        await flow.link_in_dm(stage, maria)
        view = await flow.open_complete(stage, offer, maria)
        assert stage.relay is not None
        kit.recorder.fault("interaction delivered twice")
        copy = stage.relay.copy(interaction("view_submission"), concurrent=True)

        answer = await flow.submit_complete(maria, view)
        assert answer.ok
        await flow.closed(stage, offer)
        await flow.link_removed(stage, maria)
        await stage.relay.settle()
        await asyncio.sleep(0.5)

        for status, seconds in copy.answers:
            kit.recorder.ack("a repeated submission", seconds, status)
        assert stage.collate.closes(offer.id) == 1
        assert refusals_to(stage, maria) == []
        flow.reconcile_now(stage)
        await flow.reconciled(stage, offer)
        await stage.audit()
