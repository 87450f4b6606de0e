"""Accepting an offer under pressure: many clicks, a snapshot that moved, a version that moved."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from blocks import texts
from blocks.ids import ActionId
from sim.collate import CollateSimulator
from sim.slack import all_text
from tests.harness import BotWorld, bot_world, eventually
from tests.test_end_to_end import accepted_card, action_ids, dm_with_link


def notices(world: BotWorld, person: Any) -> list[str]:
    """What only this person was told (ephemeral notices), less "working on it" progress notes."""
    progress = texts.working_on_it()
    return [n.text for n in world.slack.ephemerals(user=person.id) if n.text != progress]


async def test_simultaneous_accepts_make_exactly_one_handoff() -> None:
    async with bot_world(people=("maria", "lee", "sam", "ana")) as world:
        auth = world.collate.add_authorization(review=True, case_id="CASE-4410")
        await world.poll()
        card = world.only_card()
        people = list(world.people.values())

        results = await asyncio.gather(
            *(person.click(world.channel, card.ts, ActionId.ACCEPT.value) for person in people)
        )

        assert all(result.status == 200 for result in results)
        card = await accepted_card(world)
        assert world.collate.handoff_creates(auth["id"]) == 1
        winners = [person for person in people if f"<@{person.id}>" in all_text(card)]
        assert len(winners) == 1
        winner = winners[0]
        await dm_with_link(world, winner)
        for person in people:
            if person is winner:
                continue
            told = await eventually(lambda p=person: notices(world, p), what="a private notice")
            assert f"<@{winner.id}>" in told[-1]
            assert world.dm_messages(person) == []


async def test_a_snapshot_that_changed_since_it_was_shown_is_not_accepted() -> None:
    async with bot_world() as world:
        maria = world.people["maria"]
        auth = world.collate.add_authorization(review=True, case_id="CASE-5120")
        await world.poll()
        card = world.only_card()
        shown = auth["submission"]["reviewSnapshot"]["id"]
        newer = world.collate.replace_review_snapshot(auth["id"])

        await maria.click(world.channel, card.ts, ActionId.ACCEPT.value)

        told = await eventually(lambda: notices(world, maria), what="a private notice")
        assert "changed" in told[-1].lower()
        assert world.collate.handoff_creates(auth["id"]) == 0
        assert not [r for r in world.collate.requests if r.path.endswith("/manual-handoffs")]
        card = world.only_card()
        assert newer in all_text(card)
        assert shown not in all_text(card)
        assert ActionId.ACCEPT.value in action_ids(card)

        await maria.click(world.channel, card.ts, ActionId.ACCEPT.value)
        await accepted_card(world)
        creates = [r for r in world.collate.requests if r.path.endswith("/manual-handoffs")]
        assert [r.body for r in creates] == [{"acceptedReviewSnapshotId": newer}]


class _MovesTheVersionOnFirstCreate(httpx.AsyncBaseTransport):
    """Collate changes the case between the bot's read and its create, exactly once."""

    def __init__(self, collate: CollateSimulator) -> None:
        self._collate = collate
        self._inner = httpx.AsyncHTTPTransport()
        self._moved = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if request.method == "POST" and path.endswith("/manual-handoffs") and not self._moved:
            self._moved = True
            self._collate.touch(path.split("/")[3])
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_a_stale_version_is_recovered_by_reading_again() -> None:
    async with bot_world(collate_transport=_MovesTheVersionOnFirstCreate) as world:
        maria = world.people["maria"]
        auth = world.collate.add_authorization(review=False, case_id="CASE-6001")
        await world.poll()
        card = world.only_card()

        await maria.click(world.channel, card.ts, ActionId.ACCEPT.value)

        await accepted_card(world)
        creates = [r for r in world.collate.requests if r.path.endswith("/manual-handoffs")]
        assert [r.error_code for r in creates] == ["version_conflict", None]
        assert creates[0].headers["if-match"] != creates[1].headers["if-match"]
        assert creates[0].headers["idempotency-key"] != creates[1].headers["idempotency-key"]
        assert world.collate.handoff_creates(auth["id"]) == 1
        await dm_with_link(world, maria)


async def test_only_the_acceptor_may_get_a_link_or_complete() -> None:
    async with bot_world() as world:
        maria, lee = world.people["maria"], world.people["lee"]
        auth = world.collate.add_authorization(review=False, case_id="CASE-7002")
        await world.poll()
        await maria.click(world.channel, world.only_card().ts, ActionId.ACCEPT.value)
        card = await accepted_card(world)
        await dm_with_link(world, maria)
        grants_before = _grant_mints(world, auth["id"])

        await lee.click(world.channel, card.ts, ActionId.COMPLETE.value)
        await lee.select(world.channel, card.ts, ActionId.MORE.value, _new_link_option(card))

        told = await eventually(lambda: len(notices(world, lee)) >= 2 and notices(world, lee))
        assert all(f"<@{maria.id}>" in notice for notice in told)
        assert world.slack.views(lee.id) == []
        assert _grant_mints(world, auth["id"]) == grants_before
        assert world.dm_messages(lee) == []
        assert world.collate.closes(auth["id"]) == 0


def _grant_mints(world: BotWorld, authorization_id: str) -> int:
    return sum(
        1
        for request in world.collate.requests
        if request.method == "POST"
        and request.path.endswith("/access-grants")
        and authorization_id in request.path
    )


def _new_link_option(card: Any) -> str:
    for block in card.blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == ActionId.MORE.value:
                for option in element["options"]:
                    if "link" in option["text"]["text"].lower():
                        return str(option["value"])
    raise AssertionError("the card has no new-link option")
