"""Finding offers by polling: never during processing, one card per offer, across restarts."""

from __future__ import annotations

import asyncio

from blocks.ids import ActionId
from sim.collate import SimSettings
from sim.slack import all_text
from tests.harness import bot_world, eventually
from tests.test_end_to_end import accepted_card, action_ids, buttons, dm_with_link, link_urls


async def test_no_card_while_collate_is_processing_then_one_when_it_offers() -> None:
    async with bot_world() as world:
        auth = world.collate.add_authorization(status="processing", case_id="CASE-8100")
        other = world.collate.add_authorization(
            next_action="resolve_requirements", case_id="CASE-8101"
        )

        await world.poll()
        assert world.cards() == []

        world.collate.offer_handoff(auth["id"])
        await world.poll()
        card = world.only_card()
        assert "CASE-8100" in all_text(card)
        assert "CASE-8101" not in all_text(card)
        assert other["id"] not in str(await world.redis_dump())


async def test_one_card_per_offer_across_a_restart() -> None:
    async with bot_world() as world:
        world.collate.add_authorization(review=True, case_id="CASE-8200")
        await world.poll()
        first = world.only_card()

        await world.restart_bot()
        await world.poll()
        await world.poll()

        assert world.only_card().ts == first.ts
        await world.people["maria"].click(world.channel, first.ts, ActionId.ACCEPT.value)
        await accepted_card(world)


async def test_a_server_that_ignores_the_status_filter_still_gets_offers_only() -> None:
    async with bot_world(sim_settings=SimSettings(list_honours_status_filter=False)) as world:
        world.collate.add_authorization(status="processing", case_id="CASE-8300")
        world.collate.add_authorization(status="waiting_on_payer", case_id="CASE-8301")
        world.collate.add_authorization(review=False, case_id="CASE-8302")

        await world.poll()

        assert "CASE-8302" in all_text(world.only_card())


async def test_every_page_of_offers_is_read() -> None:
    async with bot_world() as world:
        for number in range(130):
            world.collate.add_authorization(review=False, case_id=f"CASE-9{number:03d}")

        await world.poll()

        assert len(world.cards()) == 130
        lists = [r for r in world.collate.requests if r.path == "/v1/prior-authorizations"]
        assert len(lists) == 2


async def test_an_offer_that_lapses_before_anyone_accepts_is_withdrawn() -> None:
    async with bot_world() as world:
        auth = world.collate.add_authorization(review=False, case_id="CASE-8400")
        await world.poll()
        assert ActionId.ACCEPT.value in action_ids(world.only_card())

        world.collate.set_status(auth["id"], "processing")
        await world.poll()

        card = world.only_card()
        assert buttons(card) == []
        assert "withdrawn" in all_text(card).lower()


async def test_an_expired_link_is_edited_out_of_the_dm_and_a_new_one_can_be_had() -> None:
    short_grants = SimSettings(grant_ttl_seconds=1, reconcile_delay_seconds=0.2)
    async with bot_world(sim_settings=short_grants) as world:
        maria = world.people["maria"]
        world.collate.add_authorization(review=False, case_id="CASE-8500")
        await world.poll()
        await maria.click(world.channel, world.only_card().ts, ActionId.ACCEPT.value)
        await accepted_card(world)
        dm = await dm_with_link(world, maria)
        old_url = link_urls(dm)[0]

        await asyncio.sleep(1.1)
        await world.poll()

        dm = world.dm_messages(maria)[-1]
        assert link_urls(dm) == []
        assert ActionId.NEW_LINK.value in action_ids(dm)
        await maria.click(dm.channel, dm.ts, ActionId.NEW_LINK.value)
        await eventually(lambda: link_urls(world.dm_messages(maria)[-1]) not in ([], [old_url]))
