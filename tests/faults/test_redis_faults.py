"""A real Redis that goes down, hangs, refuses writes or runs out of memory, at every step of the
handoff. The bot still acks Slack within 3 s, tells the person privately that it could not act
right now, never makes a second card or handoff, and catches up by itself once Redis is back.

Two kinds of test: a fault that is already there when the step begins (``test_redis_fault_…``,
every kind at every step), and a fault that strikes at the worst moment inside a step, once
Collate or Slack has done its part and before the bot wrote it down (``test_redis_…_mid_step``;
two kinds each, together all four, to keep the suite within its few minutes).
"""

from __future__ import annotations

import asyncio

import pytest

from blocks import texts
from blocks.ids import ActionId
from sim.slack import SlackPerson
from tests.faults import flow
from tests.faults.kit import FaultKit, Offer, Stage
from tests.faults.redis_server import FAULT_KINDS
from tests.faults.tap import collate_call, slack_method
from tests.harness import eventually
from tests.test_end_to_end import action_ids, link_urls

pytestmark = pytest.mark.faults

STEPS = ("offer", "accept", "link", "complete", "reconcile")
WATCHER_FAULT_SECONDS = 1.6
"""How long a fault lasts at a step only the watcher takes part in: several polls, and longer
than one hung Redis call may take to time out."""
NOTICE_SECONDS = 8.0
"""How long the person may wait to be told the bot could not act."""
TEST_SECONDS = 60.0


async def told_to_try_again(stage: Stage, person: SlackPerson, before: int) -> None:
    await eventually(
        lambda: texts.try_again_later() in flow.told(stage, person)[before:],
        within=NOTICE_SECONDS,
        what=f"{person.name} to be told the bot could not act right now",
    )


# The steps, with nothing wrong --------------------------------------------------------------


async def accept(stage: Stage, offer: Offer, maria: SlackPerson) -> None:
    await flow.click_accept(stage, offer, maria)
    await flow.accepted(stage, offer, maria)
    await flow.link_in_dm(stage, maria)
    await stage.idle(offer)


async def new_link(stage: Stage, offer: Offer, maria: SlackPerson) -> None:
    first = await flow.link_in_dm(stage, maria)
    await flow.new_link_from_dm(stage, maria)
    await flow.link_in_dm(stage, maria, not_url=first)
    await stage.idle(offer)


async def complete(stage: Stage, offer: Offer, maria: SlackPerson) -> None:
    view = await flow.open_complete(stage, offer, maria)
    await flow.submit_complete(maria, view)
    await flow.closed(stage, offer)
    await flow.link_removed(stage, maria)
    await stage.idle(offer)


async def reconcile(stage: Stage, offer: Offer) -> None:
    flow.reconcile_now(stage)
    await flow.reconciled(stage, offer)
    await eventually(
        lambda: _not_followed(stage, offer), what="the bot to stop following the final case"
    )


async def _not_followed(stage: Stage, offer: Offer) -> bool:
    return offer.id not in await stage.tracked()


# The steps, with Redis in trouble -----------------------------------------------------------


async def offer_under(stage: Stage, kind: str) -> Offer:
    async with stage.redis_fault(kind):
        offer = stage.offer()
        await asyncio.sleep(WATCHER_FAULT_SECONDS)
        assert len(stage.cards(offer)) <= 1
    await flow.card_posted(stage, offer, within=flow.RECOVERY_SECONDS)
    return offer


async def accept_under(stage: Stage, offer: Offer, maria: SlackPerson, kind: str) -> None:
    before = len(flow.told(stage, maria))
    async with stage.redis_fault(kind):
        answer = await flow.click_accept(stage, offer, maria)
        assert answer.ok, answer
        await told_to_try_again(stage, maria, before)
    assert stage.collate.handoff_creates(offer.id) <= 1
    if flow.offers_accept(flow.current_card(stage, offer)):
        await flow.until_done(
            stage,
            maria,
            lambda: flow.click_accept(stage, offer, maria),
            lambda: not flow.offers_accept(flow.current_card(stage, offer)),
        )
    await flow.accepted(stage, offer, maria, within=flow.RECOVERY_SECONDS)
    await flow.link_pressing_new_link(stage, maria, within=flow.RECOVERY_SECONDS)


async def new_link_under(stage: Stage, maria: SlackPerson, kind: str) -> None:
    first = await flow.link_in_dm(stage, maria)
    before = len(flow.told(stage, maria))
    async with stage.redis_fault(kind):
        answer = await flow.new_link_from_dm(stage, maria)
        assert answer.ok, answer
        await told_to_try_again(stage, maria, before)
    assert flow.dm_link(stage, maria) == first, "a link the bot could not record is not shown"
    await flow.until_done(
        stage,
        maria,
        lambda: flow.new_link_from_dm(stage, maria),
        lambda: flow.dm_link(stage, maria) not in (None, first),
    )


async def complete_under(stage: Stage, offer: Offer, maria: SlackPerson, kind: str) -> None:
    view = await flow.open_complete(stage, offer, maria)
    before = len(flow.told(stage, maria))
    async with stage.redis_fault(kind):
        answer = await flow.submit_complete(maria, view)
        assert answer.ok, answer
        await eventually(
            lambda: flow.told(stage, maria)[before:],
            within=NOTICE_SECONDS,
            what="maria to be told what became of her report",
        )
        if stage.collate.closes(offer.id) == 0:
            await told_to_try_again(stage, maria, before)
    if stage.collate.closes(offer.id) == 0:

        async def complete_again() -> None:
            view = await flow.open_complete(stage, offer, maria)
            await flow.submit_complete(maria, view)

        await flow.until_done(
            stage, maria, complete_again, lambda: stage.collate.closes(offer.id) == 1
        )
    await flow.closed(stage, offer, within=flow.RECOVERY_SECONDS)
    await flow.link_removed(stage, maria, within=flow.RECOVERY_SECONDS)
    assert stage.collate.closes(offer.id) == 1


async def reconcile_under(stage: Stage, offer: Offer, kind: str) -> None:
    async with stage.redis_fault(kind):
        flow.reconcile_now(stage)
        await asyncio.sleep(WATCHER_FAULT_SECONDS)
        assert len(stage.cards(offer)) == 1
    await flow.reconciled(stage, offer, within=flow.RECOVERY_SECONDS)
    await eventually(
        lambda: _not_followed(stage, offer),
        within=flow.RECOVERY_SECONDS,
        what="the bot to stop following the final case",
    )


@pytest.mark.parametrize("kind", FAULT_KINDS)
@pytest.mark.parametrize("step", STEPS)
async def test_redis_fault_at_each_step(kit: FaultKit, step: str, kind: str) -> None:
    async with asyncio.timeout(TEST_SECONDS):
        stage = await kit.stage()
        maria = stage.person("maria")

        if step == "offer":
            offer = await offer_under(stage, kind)
        else:
            offer = stage.offer()
            await flow.card_posted(stage, offer)
            await stage.idle(offer)
        if step == "accept":
            await accept_under(stage, offer, maria, kind)
        else:
            await accept(stage, offer, maria)
        if step == "link":
            await new_link_under(stage, maria, kind)
        else:
            await new_link(stage, offer, maria)
        if step == "complete":
            await complete_under(stage, offer, maria, kind)
        else:
            await complete(stage, offer, maria)
        if step == "reconcile":
            await reconcile_under(stage, offer, kind)
        else:
            await reconcile(stage, offer)

        assert stage.collate.handoff_creates(offer.id) == 1
        assert stage.collate.closes(offer.id) == 1
        await stage.audit()


# Faults in the middle of a step ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["down", "oom"])
async def test_redis_fails_between_the_card_post_and_its_record_mid_step(
    kit: FaultKit, kind: str
) -> None:
    """Slack has the card; the bot cannot write down its ts. No second card, and the card works."""
    async with asyncio.timeout(TEST_SECONDS):
        stage = await kit.stage()
        maria = stage.person("maria")
        struck = stage.redis_fault_after(
            stage.slack_tap,
            slack_method("chat.postMessage", channel=stage.world.channel),
            kind,
        )
        offer = stage.offer()
        await eventually(lambda: struck.fired.is_set(), what="the card to be posted")
        await kit.settle()
        card = await flow.card_posted(stage, offer)
        await asyncio.sleep(1.0)
        assert len(stage.cards(offer)) == 1

        await maria.click(stage.world.channel, card.ts, ActionId.ACCEPT.value)
        await flow.accepted(stage, offer, maria, within=flow.RECOVERY_SECONDS)
        await flow.link_in_dm(stage, maria, within=flow.RECOVERY_SECONDS)
        await complete(stage, offer, maria)
        await reconcile(stage, offer)
        await stage.audit()


@pytest.mark.parametrize("kind", ["down", "hung"])
async def test_redis_fails_between_the_handoff_create_and_its_record_mid_step(
    kit: FaultKit, kind: str
) -> None:
    """Collate made the handoff; the bot could not record it. The watcher adopts it from the
    claim: the card shows the claim holder, who gets a DM with a *New link* button, and no link
    is minted before they press it."""
    async with asyncio.timeout(TEST_SECONDS):
        stage = await kit.stage()
        maria = stage.person("maria")
        offer = stage.offer()
        await flow.card_posted(stage, offer)
        struck = stage.redis_fault_after(
            stage.collate_tap, collate_call("POST", "/manual-handoffs"), kind
        )

        answer = await flow.click_accept(stage, offer, maria)
        assert answer.ok
        await eventually(lambda: struck.fired.is_set(), what="the handoff to be created")
        await kit.settle()

        await flow.accepted(stage, offer, maria, within=flow.RECOVERY_SECONDS)
        dm = await eventually(
            lambda: (
                (dm := flow.handoff_dm(stage, maria))
                and ActionId.NEW_LINK.value in action_ids(dm)
                and dm
            ),
            within=flow.RECOVERY_SECONDS,
            what="a DM to maria with a New link button",
        )
        assert link_urls(dm) == [], "no link is minted without a click"
        assert flow.grant_mints(stage, offer) == 0
        assert stage.collate.handoff_creates(offer.id) == 1

        await maria.click(dm.channel, dm.ts, ActionId.NEW_LINK.value)
        await flow.link_in_dm(stage, maria)
        await complete(stage, offer, maria)
        await reconcile(stage, offer)
        await stage.audit()


@pytest.mark.parametrize("kind", ["paused", "oom"])
async def test_redis_fails_between_the_close_and_its_record_mid_step(
    kit: FaultKit, kind: str
) -> None:
    """Collate closed the handoff; the bot could not record it. The watcher picks the close up
    from Collate's handoff result: the card closes and the link leaves the DM."""
    async with asyncio.timeout(TEST_SECONDS):
        stage = await kit.stage()
        maria = stage.person("maria")
        offer = stage.offer()
        await flow.card_posted(stage, offer)
        await accept(stage, offer, maria)
        view = await flow.open_complete(stage, offer, maria)
        struck = stage.redis_fault_after(stage.collate_tap, collate_call("POST", "/complete"), kind)

        answer = await flow.submit_complete(maria, view)
        assert answer.ok
        await eventually(lambda: struck.fired.is_set(), what="the handoff to be completed")
        await kit.settle()

        await flow.closed(stage, offer, within=flow.RECOVERY_SECONDS)
        await flow.link_removed(stage, maria, within=flow.RECOVERY_SECONDS)
        assert stage.collate.closes(offer.id) == 1
        await reconcile(stage, offer)
        await stage.audit()
