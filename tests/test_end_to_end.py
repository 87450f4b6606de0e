"""The whole handoff as people live it: offer → accept → private link → complete → reconciled.

Real Bolt app over signed HTTP, the real Collate client against the simulator, Redis.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from blocks.ids import ActionId, CallbackId
from sim.slack import SimMessage, all_text
from tests.block_kit import assert_valid_message_blocks, assert_valid_modal
from tests.harness import BotWorld, bot_world, eventually


def action_ids(message: SimMessage) -> set[str]:
    found: set[str] = set()
    for block in message.blocks:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if isinstance(element, dict) and "action_id" in element:
                found.add(element["action_id"])
    return found


def buttons(message: SimMessage) -> list[dict[str, Any]]:
    found = []
    for block in message.blocks:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if isinstance(element, dict) and element.get("type") == "button":
                found.append(element)
    return found


def link_urls(message: SimMessage) -> list[str]:
    return [button["url"] for button in buttons(message) if "url" in button]


async def accepted_card(world: BotWorld) -> SimMessage:
    return await eventually(
        lambda: (
            (card := world.only_card()) and ActionId.COMPLETE.value in action_ids(card) and card
        ),
        what="the card to show the accepted handoff",
    )


async def dm_with_link(world: BotWorld, person: Any, *, not_url: str | None = None) -> SimMessage:
    def ready() -> SimMessage | None:
        messages = world.dm_messages(person)
        if messages and link_urls(messages[-1]) and link_urls(messages[-1])[0] != not_url:
            return messages[-1]
        return None

    return await eventually(ready, what="a DM carrying a payer-session link")


async def submit_complete(world: BotWorld, person: Any, card: SimMessage, **values: str) -> None:
    await person.click(world.channel, card.ts, ActionId.COMPLETE.value)
    view = await eventually(lambda: world.slack.views(person.id), what="the complete modal")
    modal = view[-1]
    assert modal.view["callback_id"] == CallbackId.COMPLETE.value
    sent = [call for call in world.slack.calls if call.method == "views.open"][-1]
    assert_valid_modal(sent.args["view"])
    result = await person.submit_view(modal.id, complete_values(**values))
    assert result.status == 200


def complete_values(*, outcome: str = "submitted", reference: str = "") -> dict[str, Any]:
    from blocks import forms

    values: dict[str, Any] = {
        forms.COMPLETE_OUTCOME_BLOCK: {forms.COMPLETE_OUTCOME_ACTION: outcome},
    }
    if reference:
        values[forms.COMPLETE_REFERENCE_BLOCK] = {forms.COMPLETE_REFERENCE_ACTION: reference}
    return values


async def test_whole_handoff_with_a_review_snapshot(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with bot_world() as world:
        maria = world.people["maria"]
        auth = world.collate.add_authorization(review=True, case_id="CASE-2291")
        snapshot_id = auth["submission"]["reviewSnapshot"]["id"]
        world.collate.set_reconcile_result("completed:approved", auth["id"])

        await world.poll()
        await world.poll()
        card = world.only_card()
        assert_valid_message_blocks(card.blocks)
        assert "CASE-2291" in all_text(card)
        for warning in auth["submission"]["reviewSnapshot"]["warnings"]:
            assert warning["message"] in all_text(card)
        assert ActionId.ACCEPT.value in action_ids(card)

        await maria.click(world.channel, card.ts, ActionId.ACCEPT.value)
        card = await accepted_card(world)
        assert f"<@{maria.id}>" in all_text(card)
        assert ActionId.ACCEPT.value not in action_ids(card)
        assert world.collate.handoff_creates(auth["id"]) == 1
        creates = [r for r in world.collate.requests if r.path.endswith("/manual-handoffs")]
        assert creates[-1].body == {"acceptedReviewSnapshotId": snapshot_id}

        first = await dm_with_link(world, maria)
        first_url = link_urls(first)[0]
        assert first_url.startswith(world.collate.base_url + "/runtime/access/")
        assert first.unfurl_links is False

        await maria.click(first.channel, first.ts, ActionId.NEW_LINK.value)
        second_url = link_urls(await dm_with_link(world, maria, not_url=first_url))[0]
        assert len(world.dm_messages(maria)) == 1, "a new link edits the same DM"

        await submit_complete(world, maria, card, outcome="submitted", reference="ABC123")
        card = await eventually(
            lambda: (c := world.only_card()) and not buttons(c) and c, what="a closing card"
        )
        assert "ABC123" in all_text(card)
        dm = world.dm_messages(maria)[-1]
        assert link_urls(dm) == [], [(m.ts, m.text, m.blocks) for m in world.dm_messages(maria)]

        world.collate.advance(1.0)
        await eventually(lambda: world.collate.authorization(auth["id"])["status"] == "completed")
        await world.poll()
        card = world.only_card()
        assert "Approved" in all_text(card)
        assert buttons(card) == []
        assert_valid_message_blocks(card.blocks)
        assert len(world.thread(card)) >= 4

        grant_urls = {first_url, second_url}
        await assert_grant_urls_only_in_dm_history(world, grant_urls, caplog)


async def assert_grant_urls_only_in_dm_history(
    world: BotWorld, grant_urls: set[str], caplog: pytest.LogCaptureFixture
) -> None:
    redis_dump = await world.redis_dump()
    logs = "\n".join(
        record.getMessage() + str(record.__dict__)
        for record in caplog.records
        if not record.name.startswith("sim.")
    )
    channel_history = "\n".join(
        str(message.blocks) + message.text + str(message.edits)
        for message in world.cards() + world.thread(world.only_card())
    )
    values = "\n".join(
        str(element.get("value", "")) for card in world.cards() for element in buttons(card)
    )
    metadata = "\n".join(
        str(call.args.get("view", ""))
        for call in world.slack.calls
        if call.method.startswith("views.")
    )
    current_dm = str(world.dm_messages(world.people["maria"])[-1].blocks)
    for url in grant_urls:
        assert url not in redis_dump
        assert url not in logs
        assert url not in channel_history
        assert url not in values
        assert url not in metadata
        assert url not in current_dm


async def test_whole_handoff_without_a_review_snapshot() -> None:
    async with bot_world() as world:
        lee = world.people["lee"]
        auth = world.collate.add_authorization(review=False, case_id="CASE-3107")
        world.collate.set_reconcile_result("waiting_on_payer", auth["id"])

        await world.poll()
        card = world.only_card()
        accept = next(b for b in buttons(card) if b["action_id"] == ActionId.ACCEPT.value)
        assert "confirm" in accept

        await lee.click(world.channel, card.ts, ActionId.ACCEPT.value)
        card = await accepted_card(world)
        creates = [r for r in world.collate.requests if r.path.endswith("/manual-handoffs")]
        assert creates[-1].body in ({}, None)
        await dm_with_link(world, lee)

        await submit_complete(world, lee, card, outcome="submitted", reference="PAY-778")
        await eventually(lambda: not buttons(world.only_card()), what="a closing card")
        world.collate.advance(1.0)
        await eventually(
            lambda: world.collate.authorization(auth["id"])["status"] == "waiting_on_payer"
        )
        await world.poll()
        card = world.only_card()
        assert "PAY-778" in all_text(card)
        assert buttons(card) == []
        assert link_urls(world.dm_messages(lee)[-1]) == []
