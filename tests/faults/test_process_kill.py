"""The bot process killed with SIGKILL at each step of the handoff, and a new one started on the
same Redis: the flow goes on, no card or handoff is made twice, and a DM link whose handoff
closed while no bot was running is still removed.

Each bot here is a separate process started with the real CLI and environment settings; the
relays (``Tap``) kill it at the exact moment named, usually with Collate's or Slack's answer in
flight, so the process never learns that its call went through.
"""

from __future__ import annotations

import asyncio

import pytest

from blocks.ids import ActionId
from tests.faults import flow
from tests.faults.kit import FaultKit, Offer, Stage
from tests.faults.tap import Exchange, Matcher, collate_call, interaction, slack_method
from tests.harness import eventually
from tests.test_end_to_end import action_ids, link_urls

pytestmark = pytest.mark.faults

TEST_SECONDS = 75.0


async def bot_stage(kit: FaultKit) -> Stage:
    stage = await kit.stage(processes=True)
    await stage.start_process("first")
    return stage


async def restart(stage: Stage, hook_fired: asyncio.Event) -> None:
    """Once the kill happened, start the next bot process on the same Redis."""
    await asyncio.wait_for(hook_fired.wait(), flow.STEP_SECONDS)
    await stage.start_process("second")


async def accept_and_link(stage: Stage, offer: Offer) -> None:
    maria = stage.person("maria")
    await flow.click_accept(stage, offer, maria)
    await flow.accepted(stage, offer, maria)
    await flow.link_in_dm(stage, maria)


async def complete_and_reconcile(stage: Stage, offer: Offer) -> None:
    maria = stage.person("maria")
    view = await flow.open_complete(stage, offer, maria)
    await flow.submit_complete(maria, view)
    await flow.closed(stage, offer, within=flow.RECOVERY_SECONDS)
    await flow.link_removed(stage, maria, within=flow.RECOVERY_SECONDS)
    await reconcile(stage, offer)


async def reconcile(stage: Stage, offer: Offer) -> None:
    flow.reconcile_now(stage)
    await flow.reconciled(stage, offer, within=flow.RECOVERY_SECONDS)
    await eventually(
        lambda: _not_followed(stage, offer),
        within=flow.RECOVERY_SECONDS,
        what="the bot to stop following the final case",
    )


async def _not_followed(stage: Stage, offer: Offer) -> bool:
    return offer.id not in await stage.tracked()


async def test_killed_after_the_card_was_posted_before_it_was_recorded(kit: FaultKit) -> None:
    async with asyncio.timeout(TEST_SECONDS):
        stage = await bot_stage(kit)
        maria = stage.person("maria")
        killed = stage.kill_after(
            stage.slack_tap,
            slack_method("chat.postMessage", channel=stage.world.channel),
            stage.processes[0],
        )
        offer = stage.offer()
        await restart(stage, killed.fired)

        card = await flow.card_posted(stage, offer)
        await asyncio.sleep(1.0)
        assert len(stage.cards(offer)) == 1
        await maria.click(stage.world.channel, card.ts, ActionId.ACCEPT.value)
        await flow.accepted(stage, offer, maria, within=flow.RECOVERY_SECONDS)
        await flow.link_pressing_new_link(stage, maria, within=flow.RECOVERY_SECONDS)
        await complete_and_reconcile(stage, offer)
        await stage.audit()


async def test_killed_after_the_card_was_posted_and_recorded(kit: FaultKit) -> None:
    async with asyncio.timeout(TEST_SECONDS):
        stage = await bot_stage(kit)
        offer = stage.offer()
        await flow.card_posted(stage, offer)
        await eventually(lambda: _has(stage, offer, "ts"), what="the card's ts in the bot's record")
        await stage.kill(stage.processes[0])
        await stage.start_process("second")

        # NOTE: the kill may land before the first process released the card's lock; then the
        # accept is shown once that lock expires (the watcher adopts it from maria's claim).
        maria = stage.person("maria")
        await flow.click_accept(stage, offer, maria)
        await flow.accepted(stage, offer, maria, within=flow.RECOVERY_SECONDS)
        await flow.link_pressing_new_link(stage, maria, within=flow.RECOVERY_SECONDS)
        await complete_and_reconcile(stage, offer)
        await stage.audit()


async def _has(stage: Stage, offer: Offer, name: str) -> bool:
    return bool((await stage.record(offer)).get(name))


async def test_killed_between_the_handoff_create_and_its_record(kit: FaultKit) -> None:
    """The new process adopts the handoff from the claim: the card shows maria, her DM offers
    a New link (no link is minted without her click)."""
    async with asyncio.timeout(TEST_SECONDS):
        stage = await bot_stage(kit)
        maria = stage.person("maria")
        offer = stage.offer()
        await flow.card_posted(stage, offer)
        killed = stage.kill_after(
            stage.collate_tap, collate_call("POST", "/manual-handoffs"), stage.processes[0]
        )

        await flow.click_accept(stage, offer, maria)
        await restart(stage, killed.fired)

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
        assert link_urls(dm) == []
        assert flow.grant_mints(stage, offer) == 0
        await maria.click(dm.channel, dm.ts, ActionId.NEW_LINK.value)
        await flow.link_in_dm(stage, maria)
        await complete_and_reconcile(stage, offer)
        assert stage.collate.handoff_creates(offer.id) == 1
        await stage.audit()


async def test_killed_right_after_the_accept_click_was_acked(kit: FaultKit) -> None:
    """Whatever the killed process had done of the accept, maria gets her handoff (clicking
    again if the card still asks her to), and there is one."""
    async with asyncio.timeout(TEST_SECONDS):
        stage = await bot_stage(kit)
        maria = stage.person("maria")
        offer = stage.offer()
        await flow.card_posted(stage, offer)
        killed = stage.kill_after(
            stage.relay,
            interaction("block_actions", action_id=ActionId.ACCEPT.value),
            stage.processes[0],
        )

        answer = await flow.click_accept(stage, offer, maria)
        assert answer.ok
        await restart(stage, killed.fired)
        await asyncio.sleep(1.5)
        if flow.offers_accept(flow.current_card(stage, offer)):
            await flow.click_accept(stage, offer, maria)
        await flow.accepted(stage, offer, maria, within=flow.RECOVERY_SECONDS)
        await flow.link_pressing_new_link(stage, maria, within=flow.RECOVERY_SECONDS)
        await complete_and_reconcile(stage, offer)
        await stage.audit()


async def test_killed_after_the_dm_and_the_handoff_closed_meanwhile(kit: FaultKit) -> None:
    async with asyncio.timeout(TEST_SECONDS):
        stage = await bot_stage(kit)
        maria = stage.person("maria")
        offer = stage.offer()
        await flow.card_posted(stage, offer)
        await accept_and_link(stage, offer)
        await eventually(lambda: _has(stage, offer, "dm_ts"), what="the DM's ts in the record")
        await stage.kill(stage.processes[0])

        stage.collate.cancel_authorization(offer.id)
        await stage.start_process("second")

        await flow.link_removed(stage, maria, within=flow.RECOVERY_SECONDS)
        await flow.closed(stage, offer, within=flow.RECOVERY_SECONDS)
        await eventually(
            lambda: _not_followed(stage, offer),
            within=flow.RECOVERY_SECONDS,
            what="the bot to stop following the canceled case",
        )
        await stage.audit()


async def test_killed_as_the_dm_was_posted_and_the_handoff_closed_meanwhile(
    kit: FaultKit,
) -> None:
    """The DM with the link reached Slack; the process died before it wrote the DM's ts down.
    The handoff closes while no bot runs: the link must still leave the DM."""
    async with asyncio.timeout(TEST_SECONDS):
        stage = await bot_stage(kit)
        maria = stage.person("maria")
        offer = stage.offer()
        await flow.card_posted(stage, offer)
        killed = stage.kill_after(
            stage.slack_tap, slack_method("chat.postMessage", channel="D"), stage.processes[0]
        )

        await flow.click_accept(stage, offer, maria)
        await asyncio.wait_for(killed.fired.wait(), flow.STEP_SECONDS)
        stage.collate.cancel_authorization(offer.id)
        await stage.start_process("second")

        await flow.closed(stage, offer, within=flow.RECOVERY_SECONDS)
        await eventually(
            lambda: flow.dm_link(stage, maria) is None,
            within=flow.RECOVERY_SECONDS,
            what="the link to leave maria's DM",
        )
        await stage.audit()


async def test_killed_between_the_close_and_its_record(kit: FaultKit) -> None:
    async with asyncio.timeout(TEST_SECONDS):
        stage = await bot_stage(kit)
        maria = stage.person("maria")
        offer = stage.offer()
        await flow.card_posted(stage, offer)
        await accept_and_link(stage, offer)
        view = await flow.open_complete(stage, offer, maria)
        killed = stage.kill_after(
            stage.collate_tap, collate_call("POST", "/complete"), stage.processes[0]
        )

        await flow.submit_complete(maria, view)
        await restart(stage, killed.fired)

        await flow.closed(stage, offer, within=flow.RECOVERY_SECONDS)
        await flow.link_removed(stage, maria, within=flow.RECOVERY_SECONDS)
        await reconcile(stage, offer)
        assert stage.collate.closes(offer.id) == 1
        await stage.audit()


async def test_killed_right_after_the_complete_was_acked(kit: FaultKit) -> None:
    async with asyncio.timeout(TEST_SECONDS):
        stage = await bot_stage(kit)
        maria = stage.person("maria")
        offer = stage.offer()
        await flow.card_posted(stage, offer)
        await accept_and_link(stage, offer)
        view = await flow.open_complete(stage, offer, maria)
        killed = stage.kill_after(stage.relay, interaction("view_submission"), stage.processes[0])

        answer = await flow.submit_complete(maria, view)
        assert answer.ok
        await restart(stage, killed.fired)
        await asyncio.sleep(1.5)
        if stage.collate.closes(offer.id) == 0:
            view = await flow.open_complete(stage, offer, maria)
            await flow.submit_complete(maria, view)
        await flow.closed(stage, offer, within=flow.RECOVERY_SECONDS)
        await flow.link_removed(stage, maria, within=flow.RECOVERY_SECONDS)
        await reconcile(stage, offer)
        assert stage.collate.closes(offer.id) == 1
        await stage.audit()


async def test_killed_while_reading_the_reconciled_case(kit: FaultKit) -> None:
    async with asyncio.timeout(TEST_SECONDS):
        stage = await bot_stage(kit)
        maria = stage.person("maria")
        offer = stage.offer()
        await flow.card_posted(stage, offer)
        await accept_and_link(stage, offer)
        view = await flow.open_complete(stage, offer, maria)
        await flow.submit_complete(maria, view)
        await flow.closed(stage, offer)
        await flow.link_removed(stage, maria)
        killed = stage.kill_after(stage.collate_tap, _reads_a_final_case(offer), stage.processes[0])

        flow.reconcile_now(stage)
        await restart(stage, killed.fired)
        await reconcile(stage, offer)
        await stage.audit()


def _reads_a_final_case(offer: Offer) -> Matcher:
    def matches(exchange: Exchange) -> bool:
        return exchange.method == "GET" and exchange.path.endswith("/" + offer.id)

    return matches


async def test_killed_after_the_reconciled_card_edit_before_its_record(kit: FaultKit) -> None:
    """The card shows the approval; the record was not written. The lock the killed process
    held expires, and the next process finishes the record (and stops following the case)."""
    async with asyncio.timeout(TEST_SECONDS):
        stage = await bot_stage(kit)
        maria = stage.person("maria")
        offer = stage.offer()
        card = await flow.card_posted(stage, offer)
        await accept_and_link(stage, offer)
        view = await flow.open_complete(stage, offer, maria)
        await flow.submit_complete(maria, view)
        await flow.closed(stage, offer)
        await flow.link_removed(stage, maria)
        killed = stage.kill_after(
            stage.slack_tap,
            slack_method("chat.update", channel=stage.world.channel, ts=card.ts),
            stage.processes[0],
        )

        flow.reconcile_now(stage)
        await restart(stage, killed.fired)
        await reconcile(stage, offer)
        await stage.audit()
