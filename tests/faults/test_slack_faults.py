"""Slack in trouble: 429 with Retry-After, 5xx, a card or channel that is gone, a bot that is not in
the channel, an expired trigger, a person the bot cannot DM. Edits that must happen are kept and
retried until Slack takes them; plainly impossible ones are logged once, with ids; a failed DM
tells the person where to find the link."""

from __future__ import annotations

import asyncio

import pytest

from blocks import texts
from tests.faults import flow
from tests.faults.kit import FaultKit, Offer, Stage
from tests.faults.tap import Exchange, slack_method
from tests.harness import eventually

pytestmark = pytest.mark.faults

TEST_SECONDS = 60.0
SERVER_ERROR = (500, {"ok": False, "error": "internal_error"})
ABANDONED = "slack.card_update_abandoned"


async def finish(stage: Stage, offer: Offer) -> None:
    """Complete and reconcile an accepted handoff, with nothing going wrong any more."""
    maria = stage.person("maria")
    view = await flow.open_complete(stage, offer, maria)
    await flow.submit_complete(maria, view)
    await flow.closed(stage, offer)
    await flow.link_removed(stage, maria)
    flow.reconcile_now(stage)
    await flow.reconciled(stage, offer)


async def accept(stage: Stage, offer: Offer) -> None:
    maria = stage.person("maria")
    await flow.click_accept(stage, offer, maria)
    await flow.accepted(stage, offer, maria)
    await flow.link_in_dm(stage, maria)


async def test_a_rate_limited_card_post_is_retried_into_one_card(kit: FaultKit) -> None:
    async with asyncio.timeout(TEST_SECONDS):
        stage = await kit.stage()
        stage.slack_fault("chat.postMessage", "ratelimited", status=429, retry_after=1)
        offer = stage.offer()

        await flow.card_posted(stage, offer)
        await asyncio.sleep(0.6)
        posts = [
            call
            for call in stage.slack.calls_to("chat.postMessage")
            if call.args.get("channel") == stage.world.channel
        ]
        assert [call.status for call in posts[:2]] == [429, 200]
        await accept(stage, offer)
        await finish(stage, offer)
        await stage.audit()


@pytest.mark.parametrize(
    ("error", "status", "count"),
    [("ratelimited", 429, 1), ("internal_error", 500, 3)],
)
async def test_a_card_edit_slack_refused_for_now_is_delivered_later(
    kit: FaultKit, error: str, status: int, count: int
) -> None:
    """More 5xx than slack_sdk's own retries cover: the edit stays owed, the watcher redoes it."""
    async with asyncio.timeout(TEST_SECONDS):
        stage = await kit.stage()
        maria = stage.person("maria")
        offer = stage.offer()
        await flow.card_posted(stage, offer)
        retry_after = 1 if status == 429 else None
        stage.slack_fault("chat.update", error, status=status, retry_after=retry_after, count=count)

        await flow.click_accept(stage, offer, maria)
        await flow.accepted(stage, offer, maria, within=flow.RECOVERY_SECONDS)
        await flow.link_pressing_new_link(stage, maria, within=flow.RECOVERY_SECONDS)
        await finish(stage, offer)
        assert stage.logged(ABANDONED) == 0
        await stage.audit()


async def test_a_dm_edit_that_failed_still_takes_the_link_out(kit: FaultKit) -> None:
    """The handoff closed and Slack answered 5xx to every try of the DM edit for a while: the
    link still leaves the DM, on a later cycle."""
    async with asyncio.timeout(TEST_SECONDS):
        stage = await kit.stage()
        maria = stage.person("maria")
        offer = stage.offer()
        await flow.card_posted(stage, offer)
        await accept(stage, offer)
        view = await flow.open_complete(stage, offer, maria)
        dm_channel = stage.slack.dm_channel_id(maria.id)
        refusals = 5
        stage.kit.recorder.fault("slack internal_error", refusals)
        refused = stage.slack_tap.on(
            slack_method("chat.update", channel=dm_channel), reply=SERVER_ERROR, times=refusals
        )

        await flow.submit_complete(maria, view)
        await flow.closed(stage, offer)
        await flow.link_removed(stage, maria, within=flow.RECOVERY_SECONDS)
        assert refused.count == refusals
        flow.reconcile_now(stage)
        await flow.reconciled(stage, offer)
        await stage.audit()


async def test_a_deleted_card_is_logged_once_and_the_handoff_goes_on(kit: FaultKit) -> None:
    """Someone deleted the card as maria accepted: its edit is plainly impossible. Logged once
    with ids, dropped, never retried; maria still gets her link."""
    async with asyncio.timeout(TEST_SECONDS):
        stage = await kit.stage()
        maria = stage.person("maria")
        offer = stage.offer()
        card = await flow.card_posted(stage, offer)

        async def delete_the_card(_: Exchange) -> None:
            stage.kit.recorder.fault("slack message_not_found")
            stage.slack.message(stage.world.channel, card.ts).deleted = True

        stage.slack_tap.on(
            slack_method("chat.update", channel=stage.world.channel, ts=card.ts),
            before=delete_the_card,
        )
        await flow.click_accept(stage, offer, maria)
        await flow.link_in_dm(stage, maria)
        await eventually(lambda: stage.logged(ABANDONED) >= 1, what="the abandoned edit logged")
        await asyncio.sleep(1.0)

        abandoned = stage.kit.logs.named(ABANDONED)
        assert len(abandoned) == 1, [record.__dict__ for record in abandoned]
        assert abandoned[0].__dict__.get("authorization_id") == offer.id
        assert abandoned[0].__dict__.get("channel") == stage.world.channel
        assert stage.collate.handoff_creates(offer.id) == 1
        await stage.audit()


async def test_a_channel_slack_no_longer_finds_is_logged_once(kit: FaultKit) -> None:
    async with asyncio.timeout(TEST_SECONDS):
        stage = await kit.stage()
        maria = stage.person("maria")
        offer = stage.offer()
        await flow.card_posted(stage, offer)
        stage.kit.recorder.fault("slack channel_not_found")
        gone = stage.slack_tap.on(
            slack_method("chat.update", channel=stage.world.channel),
            reply=(200, {"ok": False, "error": "channel_not_found"}),
            times=None,
        )

        await flow.click_accept(stage, offer, maria)
        await flow.link_in_dm(stage, maria)
        await eventually(lambda: stage.logged(ABANDONED) >= 1, what="the abandoned edit logged")
        await asyncio.sleep(1.0)

        assert stage.logged(ABANDONED) == 1
        assert gone.count == 1, "an impossible edit is not tried again"
        record = stage.kit.logs.named(ABANDONED)[0].__dict__
        assert (record.get("authorization_id"), record.get("channel")) == (
            offer.id,
            stage.world.channel,
        )
        await stage.audit()


async def test_a_bot_removed_from_the_channel_posts_the_card_once_it_is_back(
    kit: FaultKit,
) -> None:
    async with asyncio.timeout(TEST_SECONDS):
        stage = await kit.stage()
        stage.kit.recorder.fault("slack not_in_channel")
        stage.slack.set_bot_member(stage.world.channel, False)
        offer = stage.offer()
        await eventually(
            lambda: any(
                call.error == "not_in_channel" for call in stage.slack.calls_to("chat.postMessage")
            ),
            what="the card post to be refused",
        )
        await asyncio.sleep(0.6)
        assert stage.cards(offer) == []

        stage.slack.set_bot_member(stage.world.channel, True)
        await flow.card_posted(stage, offer, within=flow.RECOVERY_SECONDS)
        await asyncio.sleep(0.6)
        await accept(stage, offer)
        await finish(stage, offer)
        await stage.audit()


async def test_an_expired_trigger_asks_the_person_to_click_again(kit: FaultKit) -> None:
    async with asyncio.timeout(TEST_SECONDS):
        stage = await kit.stage()
        maria = stage.person("maria")
        offer = stage.offer()
        await flow.card_posted(stage, offer)
        await accept(stage, offer)
        stage.slack_fault("views.open", "expired_trigger_id")
        card = await flow.card_posted(stage, offer)
        before = len(flow.told(stage, maria))

        await maria.click(stage.world.channel, card.ts, "handoff.complete")

        await eventually(
            lambda: texts.click_again() in flow.told(stage, maria)[before:],
            what="maria to be asked to click again",
        )
        assert stage.slack.views(maria.id) == []
        await finish(stage, offer)
        await stage.audit()


@pytest.mark.parametrize(
    ("method", "error"),
    [
        ("conversations.open", "cannot_dm_bot"),
        ("conversations.open", "user_not_found"),
        ("chat.postMessage", "messages_tab_disabled"),
    ],
)
async def test_a_person_the_bot_cannot_dm_is_told_where_the_link_is(
    kit: FaultKit, method: str, error: str
) -> None:
    async with asyncio.timeout(TEST_SECONDS):
        stage = await kit.stage()
        maria = stage.person("maria")
        offer = stage.offer()
        await flow.card_posted(stage, offer)
        stage.kit.recorder.fault(f"slack {error}")
        if method == "conversations.open":
            stage.slack_tap.on(slack_method(method), reply=(200, {"ok": False, "error": error}))
        else:
            stage.slack_tap.on(
                slack_method(method, channel="D"), reply=(200, {"ok": False, "error": error})
            )
        before = len(flow.told(stage, maria))

        await flow.click_accept(stage, offer, maria)

        await flow.accepted(stage, offer, maria)
        await eventually(
            lambda: texts.could_not_dm() in flow.told(stage, maria)[before:],
            what="maria to be told where to find the link",
        )
        notices = [
            notice
            for notice in stage.slack.ephemerals(user=maria.id)
            if notice.text == texts.could_not_dm()
        ]
        assert [notice.channel for notice in notices] == [stage.world.channel]
        assert flow.dm_link(stage, maria) is None

        await flow.new_link_from_card(stage, offer, maria)
        await flow.link_in_dm(stage, maria)
        await finish(stage, offer)
        await stage.audit()
