"""Closing a handoff all three ways, by the right people, once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from blocks import forms
from blocks.card import decode_more_option
from blocks.ids import ActionId, CallbackId
from sim.slack import SimMessage, SlackPerson, all_text
from tests.harness import BotWorld, bot_world, eventually
from tests.test_accept import notices
from tests.test_end_to_end import accepted_card, buttons, dm_with_link, link_urls, submit_complete


def more_option(card: SimMessage, action: ActionId) -> str:
    for block in card.blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == ActionId.MORE.value:
                for option in element["options"]:
                    if decode_more_option(option["value"])[0] is action:
                        return str(option["value"])
    raise AssertionError(f"the card offers no {action.value} in its overflow")


async def open_modal(
    world: BotWorld, person: SlackPerson, card: SimMessage, action: ActionId
) -> Any:
    before = len(world.slack.views(person.id))
    await person.select(world.channel, card.ts, ActionId.MORE.value, more_option(card, action))
    views = await eventually(
        lambda: len(world.slack.views(person.id)) > before and world.slack.views(person.id),
        what=f"the {action.value} modal",
    )
    return views[-1]


async def accepted_by(world: BotWorld, person: SlackPerson, **case: Any) -> tuple[dict, Any]:
    auth = world.collate.add_authorization(review=False, **case)
    await world.poll()
    await person.click(world.channel, world.only_card().ts, ActionId.ACCEPT.value)
    card = await accepted_card(world)
    await dm_with_link(world, person)
    return auth, card


async def closed_card(world: BotWorld) -> SimMessage:
    return await eventually(
        lambda: (card := world.only_card()) and not buttons(card) and card, what="a closed card"
    )


@pytest.mark.parametrize("reason", list(forms.UnableReason))
async def test_unable_to_complete_for_each_reason(reason: forms.UnableReason) -> None:
    async with bot_world() as world:
        maria = world.people["maria"]
        auth, card = await accepted_by(world, maria, case_id="CASE-1100")
        modal = await open_modal(world, maria, card, ActionId.UNABLE)
        assert modal.view["callback_id"] == CallbackId.UNABLE.value
        values: dict[str, Any] = {forms.UNABLE_REASON_BLOCK: {forms.UNABLE_REASON_ACTION: reason}}
        if reason is forms.UnableReason.OTHER:
            refused = await maria.submit_view(modal.id, values)
            assert forms.UNABLE_NOTES_BLOCK in (refused.errors or {})
            values[forms.UNABLE_NOTES_BLOCK] = {forms.UNABLE_NOTES_ACTION: "Portal shows a loop"}

        result = await maria.submit_view(modal.id, values)

        assert result.status == 200
        card = await closed_card(world)
        assert link_urls(world.dm_messages(maria)[-1]) == []
        handoff_id = world.collate.authorization(auth["id"])["activeManualHandoff"]
        assert handoff_id is None
        closes = [r for r in world.collate.requests if r.path.endswith("/unable-to-complete")]
        assert closes[-1].body["reason"] == reason.value
        assert "reconciling" in all_text(card).lower()


@pytest.mark.parametrize("closer", ["maria", "sam"])
async def test_revoke_by_the_acceptor_or_a_supervisor(closer: str) -> None:
    async with bot_world(groups={"supervisors": ("sam",)}, supervisor_group="{supervisors}") as w:
        maria = w.people["maria"]
        _, card = await accepted_by(w, maria, case_id="CASE-1200")
        person = w.people[closer]
        modal = await open_modal(w, person, card, ActionId.REVOKE)
        assert modal.view["callback_id"] == CallbackId.REVOKE.value

        await person.submit_view(
            modal.id,
            {
                forms.REVOKE_REASON_BLOCK: {
                    forms.REVOKE_REASON_ACTION: forms.RevokeReason.ACCEPTED_BY_MISTAKE
                },
            },
        )

        card = await closed_card(w)
        assert f"<@{person.id}>" in all_text(card)
        revokes = [r for r in w.collate.requests if r.path.endswith("/revoke")]
        assert [r.body["reason"] for r in revokes] == ["accepted_by_mistake"]
        assert link_urls(w.dm_messages(maria)[-1]) == []
        assert "automation" not in all_text(card).lower()


async def test_complete_and_revoke_at_the_same_moment_end_with_one_close() -> None:
    async with bot_world(groups={"supervisors": ("sam",)}, supervisor_group="{supervisors}") as w:
        maria, sam = w.people["maria"], w.people["sam"]
        auth, card = await accepted_by(w, maria, case_id="CASE-1300")
        await maria.click(w.channel, card.ts, ActionId.COMPLETE.value)
        complete = (await eventually(lambda: w.slack.views(maria.id)))[-1]
        revoke = await open_modal(w, sam, card, ActionId.REVOKE)
        reason = {forms.REVOKE_REASON_BLOCK: {forms.REVOKE_REASON_ACTION: "case_changed"}}
        outcome = {forms.COMPLETE_OUTCOME_BLOCK: {forms.COMPLETE_OUTCOME_ACTION: "submitted"}}

        await asyncio.gather(
            maria.submit_view(complete.id, outcome), sam.submit_view(revoke.id, reason)
        )

        await closed_card(w)
        assert w.collate.closes(auth["id"]) == 1
        told = await eventually(
            lambda: notices(w, maria) + notices(w, sam), what="the loser being told"
        )
        assert any("already closed" in notice for notice in told)


async def test_the_modal_refuses_bad_input_inline_and_loses_nothing() -> None:
    async with bot_world() as world:
        maria = world.people["maria"]
        auth, card = await accepted_by(world, maria, case_id="CASE-1400")
        await maria.click(world.channel, card.ts, ActionId.COMPLETE.value)
        modal = (await eventually(lambda: world.slack.views(maria.id)))[-1]

        refused = await maria.submit_view(
            modal.id,
            {
                forms.COMPLETE_OUTCOME_BLOCK: {forms.COMPLETE_OUTCOME_ACTION: "submitted"},
                forms.COMPLETE_REFERENCE_BLOCK: {forms.COMPLETE_REFERENCE_ACTION: "AB C<!here>"},
            },
        )

        assert forms.COMPLETE_REFERENCE_BLOCK in (refused.errors or {})
        assert world.slack.views(maria.id), "the modal stays open with what was typed"
        assert world.collate.closes(auth["id"]) == 0
        await submit_complete(world, maria, card, reference="AB-C.1")
        await closed_card(world)
