"""Patient data stays where Slack allows it: message content, minimum necessary, allow-listed.

A case whose review summary and Collate answers are full of patient-looking data is played from
offer to reconciliation, with a review DM and operator notes. None of it may reach a modal, a
button value, ``private_metadata``, a log line, Redis or the channel, unless its summary key is
allow-listed; the reviewer's private DM (message content) carries the full summary.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from blocks import forms
from blocks.ids import ActionId
from sim.slack import all_text
from tests.harness import BotWorld, bot_world, eventually
from tests.test_closing import closed_card
from tests.test_end_to_end import accepted_card, buttons, dm_with_link

PATIENT = {
    "name": "Jane Q. Patient",
    "dateOfBirth": "1961-04-12",
    "memberId": "W123456789",
    "address": {"street": "12 Elm Road", "city": "Springfield"},
}
SUMMARY = {
    "patient": PATIENT,
    "diagnosis": {"code": "M54.16", "text": "Lumbar radiculopathy"},
    "service": {"code": "72148", "label": "MRI lumbar spine"},
    "channel": "portal",
    "documents": 2,
}
NOTES = "Called the payer about Jane Q. Patient, DOB 1961-04-12"
PATIENT_VALUES = (
    "Jane Q. Patient",
    "1961-04-12",
    "W123456789",
    "12 Elm Road",
    "Springfield",
    "Lumbar radiculopathy",
    "MRI lumbar spine",
    NOTES,
)


async def play_with_patient_data(world: BotWorld) -> dict[str, Any]:
    maria, lee = world.people["maria"], world.people["lee"]
    auth = world.collate.add_authorization(review=True, summary=SUMMARY, case_id="CASE-5150")
    world.collate.set_reconcile_result("completed:approved", auth["id"])
    await world.poll()
    card = world.only_card()
    await lee.click(world.channel, card.ts, ActionId.REVIEW.value)
    await eventually(lambda: world.dm_messages(lee), what="the review DM")
    await maria.click(world.channel, card.ts, ActionId.ACCEPT.value)
    card = await accepted_card(world)
    dm = await dm_with_link(world, maria)
    await maria.click(dm.channel, dm.ts, ActionId.NEW_LINK.value)
    await maria.click(world.channel, card.ts, ActionId.COMPLETE.value)
    modal = (await eventually(lambda: world.slack.views(maria.id)))[-1]
    await maria.submit_view(
        modal.id,
        {
            forms.COMPLETE_OUTCOME_BLOCK: {forms.COMPLETE_OUTCOME_ACTION: "decision_observed"},
            forms.COMPLETE_NOTES_BLOCK: {forms.COMPLETE_NOTES_ACTION: NOTES},
        },
    )
    await closed_card(world)
    world.collate.advance(1.0)
    await eventually(lambda: world.collate.authorization(auth["id"])["status"] == "completed")
    await world.poll()
    return auth


def channel_text(world: BotWorld) -> str:
    cards = world.cards()
    parts = [all_text(card) + card.text + str(card.edits) for card in cards]
    parts += [all_text(reply) + reply.text for card in cards for reply in world.thread(card)]
    return "\n".join(parts)


def ids_only_surfaces(world: BotWorld) -> str:
    """Button values, views (title, blocks, private_metadata) and every option value sent."""
    views = [
        str(call.args.get("view", "")) for call in world.slack.calls if "views." in call.method
    ]
    values = [
        str(element.get("value", "")) + str(element.get("options", ""))
        for message in world.cards() + world.dm_messages(world.people["maria"])
        for block in message.blocks
        for element in block.get("elements", [])
    ]
    return "\n".join(views + values)


async def test_patient_data_never_leaves_the_surfaces_slack_allows(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with bot_world() as world:
        auth = await play_with_patient_data(world)

        logs = "\n".join(
            record.getMessage() + str(record.__dict__)
            for record in caplog.records
            if not record.name.startswith("sim.")
        )
        surfaces = {
            "channel": channel_text(world),
            "modals, button values and private_metadata": ids_only_surfaces(world),
            "logs": logs,
            "redis": await world.redis_dump(),
            "the acceptor's DM": str([m.blocks for m in world.dm_messages(world.people["maria"])]),
        }
        for where, text in surfaces.items():
            for value in PATIENT_VALUES:
                assert value not in text, f"{value!r} reached {where}"
        assert "portal" in surfaces["channel"]
        assert "72148" in surfaces["channel"]
        review = all_text(world.dm_messages(world.people["lee"])[-1])
        assert "Jane Q. Patient" in review
        assert "W123456789" in review
        assert buttons(world.only_card()) == []
        reports = [
            r.body for r in world.collate.requests if r.path.endswith("/complete") and r.body
        ]
        assert reports[-1]["operatorNotes"] == NOTES
        assert auth["id"] in surfaces["redis"]


async def test_an_allow_listed_summary_key_does_reach_the_card() -> None:
    async with bot_world(snapshot_summary_fields="patient.memberId,channel") as world:
        world.collate.add_authorization(review=True, summary=SUMMARY, case_id="CASE-5151")

        await world.poll()

        text = all_text(world.only_card())
        assert "W123456789" in text
        assert "portal" in text
        assert "Jane Q. Patient" not in text
        assert "72148" in text, "the service code is on every card, from the request"
