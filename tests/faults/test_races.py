"""Races across two bot processes sharing one Redis, Slack spreading the clicks over both: many
people accept at once and one handoff is made; complete and revoke land together and one close
is sent. And the watcher racing a close: a poll read before the close, answered after it."""

from __future__ import annotations

import asyncio

import pytest

from tests.faults import flow
from tests.faults.kit import FaultKit, Offer, Stage
from tests.faults.tap import Exchange, interaction
from tests.harness import eventually

pytestmark = pytest.mark.faults

TEST_SECONDS = 60.0
PEOPLE = ("maria", "lee", "sam", "ana", "raj", "kim")


async def two_bots(kit: FaultKit, **world_options: object) -> Stage:
    stage = await kit.stage(processes=True, **world_options)
    await stage.start_process("first")
    await stage.start_process("second")
    return stage


async def test_everyone_accepts_at_once_across_two_processes(kit: FaultKit) -> None:
    async with asyncio.timeout(TEST_SECONDS):
        stage = await two_bots(kit, people=PEOPLE)
        offer = stage.offer()
        card = await flow.card_posted(stage, offer)
        people = [stage.person(name) for name in PEOPLE]
        kit.recorder.fault("simultaneous accepts", len(people))

        answers = await asyncio.gather(
            *(person.click(stage.world.channel, card.ts, "handoff.accept") for person in people)
        )

        assert all(answer.ok for answer in answers)
        assert stage.relay is not None
        served = {exchange.target for exchange in stage.relay.exchanges[-len(people) :]}
        assert served == {process.root_url for process in stage.processes}, "both took clicks"
        winner = await eventually(
            lambda: next(
                (
                    person
                    for person in people
                    if flow.shows_accepted_by(flow.current_card(stage, offer), person)
                ),
                None,
            ),
            what="one person to win the offer",
        )
        await flow.link_in_dm(stage, winner)
        for person in people:
            if person is winner:
                continue
            told = await eventually(
                lambda person=person: flow.told(stage, person), what=f"{person.name} told"
            )
            assert any(f"<@{winner.id}>" in notice for notice in told), told
            assert stage.world.dm_messages(person) == []
        assert stage.collate.handoff_creates(offer.id) == 1

        view = await flow.open_complete(stage, offer, winner)
        await flow.submit_complete(winner, view)
        await flow.closed(stage, offer)
        await flow.link_removed(stage, winner)
        flow.reconcile_now(stage)
        await flow.reconciled(stage, offer)
        await stage.audit()


async def test_complete_and_revoke_together_across_two_processes_close_once(
    kit: FaultKit,
) -> None:
    async with asyncio.timeout(TEST_SECONDS):
        stage = await two_bots(
            kit, groups={"supervisors": ("sam",)}, supervisor_group="{supervisors}"
        )
        maria, sam = stage.person("maria"), stage.person("sam")
        offer = stage.offer()
        await flow.card_posted(stage, offer)
        await flow.click_accept(stage, offer, maria)
        await flow.accepted(stage, offer, maria)
        await flow.link_in_dm(stage, maria)
        complete = await flow.open_complete(stage, offer, maria)
        revoke = await flow.open_revoke(stage, offer, sam)
        kit.recorder.fault("simultaneous closes", 2)
        assert stage.relay is not None
        before = len(stage.relay.exchanges)

        answers = await asyncio.gather(
            flow.submit_complete(maria, complete),
            sam.submit_view(revoke.id, flow.revoke_values()),
        )

        assert all(answer.ok for answer in answers)
        submissions = [
            exchange
            for exchange in stage.relay.exchanges[before:]
            if interaction("view_submission")(exchange)
        ]
        assert len(submissions) == 2
        assert len({exchange.target for exchange in submissions}) == 2, "one at each process"
        await flow.closed(stage, offer)
        await flow.link_removed(stage, maria)
        assert stage.collate.closes(offer.id) == 1
        told = await eventually(
            lambda: [
                notice
                for notice in flow.told(stage, maria) + flow.told(stage, sam)
                if "already closed" in notice
            ],
            what="the one who lost the race to be told",
        )
        assert len(told) == 1
        await stage.audit()


async def test_a_poll_that_read_the_case_before_the_close_does_not_reoffer_it(
    kit: FaultKit,
) -> None:
    """The watcher's list of offers was read while the handoff was still active, and answered
    only once maria's close was recorded: that older read must not turn the card into a re-offer
    (no second card)."""
    async with asyncio.timeout(TEST_SECONDS):
        stage = await kit.stage()
        maria = stage.person("maria")
        offer = stage.offer()
        await flow.card_posted(stage, offer)
        await flow.click_accept(stage, offer, maria)
        await flow.accepted(stage, offer, maria)
        await flow.link_in_dm(stage, maria)
        await stage.idle(offer)
        view = await flow.open_complete(stage, offer, maria)
        closing = asyncio.Event()

        async def answer_after_the_close(_: Exchange) -> None:
            await asyncio.wait_for(closing.wait(), flow.STEP_SECONDS)

        kit.recorder.fault("stale poll")
        held = stage.collate_tap.on(
            lambda exchange: (
                exchange.method == "GET" and exchange.path.endswith("/v1/prior-authorizations")
            ),
            after=answer_after_the_close,
        )
        await eventually(lambda: held.count == 1, what="a poll to be in flight")

        await flow.submit_complete(maria, view)
        await eventually(
            lambda: _phase_is(stage, offer, "closing"), what="the close to be recorded"
        )
        closing.set()
        await eventually(lambda: held.fired.is_set(), what="the held poll to be answered")
        await asyncio.sleep(1.0)

        cards = stage.cards(offer)
        assert len(cards) == 1, [card.text for card in cards]
        assert flow.is_closed(flow.current_card(stage, offer))
        flow.reconcile_now(stage)
        await flow.reconciled(stage, offer)
        await stage.audit()


async def _phase_is(stage: Stage, offer: Offer, phase: str) -> bool:
    return (await stage.record(offer)).get("phase") == phase
