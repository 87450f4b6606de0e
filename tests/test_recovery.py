"""What the bot does when a step fails half way: it remembers what it owes and makes it good."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from blocks import texts
from blocks.ids import ActionId
from bot.publishing import owed
from sim.collate import SimSettings
from sim.slack import all_text
from tests.harness import COLLATE_KEY, bot_world, eventually
from tests.test_accept import notices
from tests.test_closing import accepted_by
from tests.test_end_to_end import accepted_card, action_ids, buttons, link_urls, submit_complete


async def test_a_card_edit_slack_refused_is_redone_on_the_next_cycle() -> None:
    async with bot_world() as world:
        maria = world.people["maria"]
        auth, card = await accepted_by(world, maria, case_id="CASE-6100")
        world.slack.fail_next("chat.update", "internal_error", count=1)

        await submit_complete(world, maria, card, outcome="submitted", reference="R-9")
        record = await eventually(
            lambda: _record_owing(world, auth["id"]), what="a record that owes Slack an edit"
        )
        assert owed(record)
        assert world.collate.closes(auth["id"]) == 1

        await world.poll()

        assert buttons(world.only_card()) == []
        assert link_urls(world.dm_messages(maria)[-1]) == []
        record = await world.runtime.handoffs.store.load(auth["id"])
        assert record is not None
        assert record.pending == ""


async def _record_owing(world: Any, authorization_id: str) -> Any:
    record = await world.runtime.handoffs.store.load(authorization_id)
    return record if record is not None and record.pending else None


async def test_an_edit_that_can_never_land_is_logged_once_and_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with bot_world() as world:
        auth = world.collate.add_authorization(review=False, case_id="CASE-6200")
        await world.poll()
        world.slack.fail_next("chat.update", "message_not_found", count=10)
        world.collate.set_status(auth["id"], "processing")

        with caplog.at_level(logging.ERROR, logger="bot.publishing"):
            await world.poll()
            await world.poll()

        abandoned = [r for r in caplog.records if r.getMessage() == "slack.card_update_abandoned"]
        assert len(abandoned) == 1
        assert abandoned[0].__dict__["authorization_id"] == auth["id"]
        assert auth["id"] not in await world.runtime.handoffs.store.tracked()


async def test_an_accept_whose_record_was_lost_is_adopted_from_the_claim() -> None:
    async with bot_world() as world:
        maria = world.people["maria"]
        auth = world.collate.add_authorization(review=False, case_id="CASE-6300")
        await world.poll()
        store = world.runtime.handoffs.store
        record = await store.load(auth["id"])
        assert record is not None
        assert await store.claim(record, maria.id) == maria.id
        await _create_handoff_behind_the_bots_back(world.collate.base_url, auth["id"])

        await world.poll()

        card = await accepted_card(world)
        assert f"<@{maria.id}>" in all_text(card)
        dm = world.dm_messages(maria)[-1]
        assert link_urls(dm) == [], "no link is minted until the person asks"
        assert ActionId.NEW_LINK.value in action_ids(dm)
        await maria.click(dm.channel, dm.ts, ActionId.NEW_LINK.value)
        await eventually(lambda: link_urls(world.dm_messages(maria)[-1]))
        assert world.collate.handoff_creates(auth["id"]) == 1


async def _create_handoff_behind_the_bots_back(base_url: str, authorization_id: str) -> None:
    """The bot's create reached Collate, then the process lost what it was about to write."""
    async with httpx.AsyncClient(base_url=base_url) as http:
        headers = {"Authorization": f"Bearer {COLLATE_KEY}"}
        current = await http.get(f"/v1/prior-authorizations/{authorization_id}", headers=headers)
        version = current.json()["version"]
        response = await http.post(
            f"/v1/prior-authorizations/{authorization_id}/manual-handoffs",
            headers={**headers, "If-Match": f'"{version}"', "Idempotency-Key": "lost-write"},
            json={},
        )
        assert response.status_code == 200


async def test_a_person_the_bot_cannot_dm_is_told_where_to_find_the_link() -> None:
    async with bot_world() as world:
        maria = world.people["maria"]
        world.collate.add_authorization(review=False, case_id="CASE-6400")
        await world.poll()
        world.slack.fail_next("conversations.open", "messages_tab_disabled")

        await maria.click(world.channel, world.only_card().ts, ActionId.ACCEPT.value)

        await accepted_card(world)
        told = await eventually(lambda: notices(world, maria), what="a private notice")
        assert told[-1] == texts.could_not_dm()


async def test_a_spent_trigger_asks_the_person_to_press_again() -> None:
    async with bot_world() as world:
        maria = world.people["maria"]
        _, card = await accepted_by(world, maria, case_id="CASE-6500")
        world.slack.fail_next("views.open", "expired_trigger_id")

        await maria.click(world.channel, card.ts, ActionId.COMPLETE.value)

        told = await eventually(lambda: notices(world, maria), what="a private notice")
        assert told[-1] == texts.click_again()
        await maria.click(world.channel, card.ts, ActionId.COMPLETE.value)
        await eventually(lambda: world.slack.views(maria.id), what="the modal, second time")


async def test_a_slow_collate_gets_a_working_on_it_then_the_result() -> None:
    async with bot_world(sim_settings=SimSettings(reconcile_delay_seconds=0.2)) as world:
        maria = world.people["maria"]
        world.collate.add_authorization(review=False, case_id="CASE-6600")
        await world.poll()
        world.collate.set_latency(900)

        result = await maria.click(world.channel, world.only_card().ts, ActionId.ACCEPT.value)

        assert result.status == 200
        progress = await eventually(
            lambda: [n.text for n in world.slack.ephemerals(user=maria.id)], within=10
        )
        assert progress[0] == texts.working_on_it()
        await accepted_card(world)
