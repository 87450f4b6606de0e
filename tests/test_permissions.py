"""Every action against every role: who may, who may not, and what the refused person is told.

Roles: maria (operator, accepts), lee (operator), sam (supervisor), ana (in the channel, in no
group). Permissions are checked on the click and again on the modal submit.
"""

from __future__ import annotations

from typing import Any

import pytest

from blocks import forms
from blocks.ids import ActionId
from tests.harness import BotWorld, bot_world, eventually
from tests.test_accept import notices
from tests.test_closing import accepted_by, more_option
from tests.test_end_to_end import accepted_card, link_urls

ROLES: dict[str, Any] = {
    "people": ("maria", "lee", "sam", "ana"),
    "groups": {"operators": ("maria", "lee"), "supervisors": ("sam",)},
    "operator_group": "{operators}",
    "supervisor_group": "{supervisors}",
}
EVERYONE = ("maria", "lee", "sam", "ana")
MAY = {
    ActionId.ACCEPT: {"maria", "lee"},
    ActionId.NEW_LINK: {"maria"},
    ActionId.COMPLETE: {"maria"},
    ActionId.UNABLE: {"maria"},
    ActionId.REVOKE: {"maria", "sam"},
}
MATRIX = [(action, name, name in allowed) for action, allowed in MAY.items() for name in EVERYONE]


def grants_minted(world: BotWorld) -> int:
    return sum(1 for r in world.collate.requests if r.path.endswith("/access-grants"))


@pytest.mark.parametrize(("action", "name", "allowed"), MATRIX)
async def test_permission_matrix(action: ActionId, name: str, allowed: bool) -> None:
    async with bot_world(**ROLES) as world:
        person = world.people[name]
        if action is ActionId.ACCEPT:
            auth = world.collate.add_authorization(review=False, case_id="CASE-3000")
            await world.poll()
            await person.click(world.channel, world.only_card().ts, ActionId.ACCEPT.value)
            await _expect_accept(world, person, auth, allowed)
            return
        auth, card = await accepted_by(world, world.people["maria"], case_id="CASE-3001")
        minted = grants_minted(world)
        if action is ActionId.COMPLETE:
            await person.click(world.channel, card.ts, action.value)
        else:
            await person.select(
                world.channel, card.ts, ActionId.MORE.value, more_option(card, action)
            )
        if allowed and action is ActionId.NEW_LINK:
            await eventually(lambda: grants_minted(world) > minted, what="a new grant")
        elif allowed:
            await eventually(lambda: world.slack.views(person.id), what="the modal")
        else:
            told = await eventually(lambda: notices(world, person), what="a refusal")
            assert "only" in told[-1].lower()
            assert world.slack.views(person.id) == []
            assert grants_minted(world) == minted
            assert world.dm_messages(person) == []


async def _expect_accept(world: BotWorld, person: Any, auth: dict[str, Any], allowed: bool) -> None:
    if allowed:
        card = await accepted_card(world)
        assert f"<@{person.id}>" in str(card.blocks)
        return
    told = await eventually(lambda: notices(world, person), what="a refusal")
    assert "operators" in told[-1].lower()
    assert world.collate.handoff_creates(auth["id"]) == 0


async def test_a_supervisor_removed_while_the_modal_was_open_cannot_submit_it() -> None:
    async with bot_world(**ROLES) as world:
        sam = world.people["sam"]
        auth, card = await accepted_by(world, world.people["maria"], case_id="CASE-3100")
        await sam.select(
            world.channel, card.ts, ActionId.MORE.value, more_option(card, ActionId.REVOKE)
        )
        modal = (await eventually(lambda: world.slack.views(sam.id)))[-1]

        world.slack.set_usergroup_users(world.ids["supervisors"], [])
        event = {"type": "subteam_members_changed", "subteam_id": world.ids["supervisors"]}
        assert (await world.slack.send_event(event)).status == 200
        reason = {forms.REVOKE_REASON_BLOCK: {forms.REVOKE_REASON_ACTION: "case_changed"}}
        await sam.submit_view(modal.id, reason)

        told = await eventually(lambda: notices(world, sam), what="a refusal")
        assert "only" in told[-1].lower()
        assert world.collate.closes(auth["id"]) == 0
        assert link_urls(world.dm_messages(world.people["maria"])[-1])


async def test_group_membership_is_cached_not_asked_on_every_click() -> None:
    async with bot_world(**ROLES) as world:
        for number in range(3):
            world.collate.add_authorization(review=False, case_id=f"CASE-32{number}")
        await world.poll()
        for card in world.cards():
            await world.people["ana"].click(world.channel, card.ts, ActionId.ACCEPT.value)
        await eventually(lambda: len(notices(world, world.people["ana"])) == 3)

        assert len(world.slack.calls_to("usergroups.users.list")) == 1
