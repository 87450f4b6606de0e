"""Endings Collate decides, each a designed state of the card, with the DM link removed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from blocks import texts
from blocks.ids import ActionId
from sim.collate import CollateSimulator
from sim.slack import SimMessage, all_text
from tests.harness import BotWorld, bot_world, eventually
from tests.test_closing import accepted_by, closed_card
from tests.test_end_to_end import action_ids, buttons, link_urls, submit_complete


async def settle(world: BotWorld, authorization_id: str, status: str) -> None:
    """Let the simulator's reconciliation run, then let the watcher see it."""
    world.collate.advance(1.0)
    await eventually(lambda: world.collate.authorization(authorization_id)["status"] == status)
    await world.poll()


def permalink_path(world: BotWorld, message: SimMessage) -> str:
    return f"/archives/{world.channel}/p{message.ts.replace('.', '')}"


EndedBy = Callable[[CollateSimulator, str], Any]


@pytest.mark.parametrize(
    ("ending", "result"),
    [
        (lambda sim, auth_id: sim.abandon_handoff(auth_id), "expired"),
        (lambda sim, auth_id: sim.lose_channel(auth_id), "interaction_lost_unrecoverable"),
        (lambda sim, auth_id: sim.cancel_authorization(auth_id), "canceled"),
    ],
)
async def test_collate_closes_the_handoff_itself(ending: EndedBy, result: str) -> None:
    async with bot_world() as world:
        maria = world.people["maria"]
        auth, card = await accepted_by(world, maria, case_id="CASE-2100")

        ending(world.collate, auth["id"])
        await world.poll()

        card = world.only_card()
        assert buttons(card) == []
        assert texts.HANDOFF_RESULT_WORDS[result] in all_text(card).lower()
        assert link_urls(world.dm_messages(maria)[-1]) == []
        assert texts.HANDOFF_RESULT_WORDS[result] in all_text(world.thread(card)[-1]).lower()


async def test_a_closed_handoff_that_comes_back_as_a_new_offer_gets_a_new_linked_card() -> None:
    async with bot_world() as world:
        maria = world.people["maria"]
        auth, _ = await accepted_by(world, maria, case_id="CASE-2200")
        world.collate.abandon_handoff(auth["id"])
        await world.poll()

        await settle(world, auth["id"], "requires_action")

        old, new = world.cards()
        assert ActionId.ACCEPT.value in action_ids(new)
        assert buttons(old) == []
        assert "new handoff" in all_text(old).lower()
        assert permalink_path(world, new) in str(old.blocks)
        assert permalink_path(world, old) in str(new.blocks)
        await world.people["lee"].click(world.channel, new.ts, ActionId.ACCEPT.value)
        await eventually(lambda: ActionId.COMPLETE.value in action_ids(world.cards()[-1]))
        assert world.collate.handoff_creates(auth["id"]) == 2


@pytest.mark.parametrize("outcome", sorted(texts.OUTCOME_WORDS))
async def test_the_card_shows_what_collate_reconciled_not_what_was_reported(outcome: str) -> None:
    async with bot_world() as world:
        maria = world.people["maria"]
        auth, card = await accepted_by(world, maria, case_id="CASE-2300")
        world.collate.set_reconcile_result(f"completed:{outcome}", auth["id"])

        await submit_complete(world, maria, card, outcome="decision_observed", reference="R-1")
        await closed_card(world)
        await settle(world, auth["id"], "completed")

        card = world.only_card()
        text = all_text(card).lower()
        assert texts.OUTCOME_WORDS[outcome] in text
        assert "operator's report" in text
        assert text.index(texts.OUTCOME_WORDS[outcome]) < text.index("operator's report")
        assert buttons(card) == []
        assert auth["id"] not in await world.runtime.handoffs.store.tracked()


async def test_waiting_on_payer_then_a_decision() -> None:
    async with bot_world() as world:
        maria = world.people["maria"]
        auth, card = await accepted_by(world, maria, case_id="CASE-2400")
        world.collate.set_reconcile_result("waiting_on_payer", auth["id"])
        await submit_complete(world, maria, card, outcome="submitted", reference="PAY-1")
        await closed_card(world)

        await settle(world, auth["id"], "waiting_on_payer")
        assert "waiting on payer" in all_text(world.only_card()).lower()
        world.collate.set_status(auth["id"], "completed", outcome="denied")
        await world.poll()

        assert "denied" in all_text(world.only_card()).lower()


async def test_back_with_collate_for_other_work_has_no_buttons() -> None:
    async with bot_world() as world:
        maria = world.people["maria"]
        auth, card = await accepted_by(world, maria, case_id="CASE-2500")
        world.collate.set_reconcile_result("requires_action:resolve_requirements", auth["id"])
        await submit_complete(world, maria, card, outcome="follow_up_required_observed")
        await closed_card(world)

        await settle(world, auth["id"], "requires_action")

        card = world.only_card()
        assert buttons(card) == []
        assert texts.NEXT_ACTION_NEEDS["resolve_requirements"] in all_text(card)


async def test_a_review_that_changes_while_offered_is_marked_updated() -> None:
    async with bot_world() as world:
        auth = world.collate.add_authorization(review=True, case_id="CASE-2600")
        await world.poll()
        before: SimMessage = world.only_card()
        assert "updated" not in all_text(before).lower()

        newer = world.collate.replace_review_snapshot(auth["id"])
        await world.poll()

        card = world.only_card()
        assert newer in all_text(card)
        assert "updated" in all_text(card).lower()
        assert "updated" in all_text(world.thread(card)[-1]).lower()
