"""The handoff as a person lives it, step by step, for one offer on a stage: card → accept → DM
with a link → complete → reconciled. Each step waits (bounded) for what the person would see."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from blocks import forms, texts
from blocks.ids import ActionId, CallbackId
from sim.slack import AppResponse, SimMessage, SimView, SlackPerson, all_text
from tests.faults.kit import Offer, Stage
from tests.harness import eventually
from tests.test_closing import more_option
from tests.test_end_to_end import action_ids, buttons, complete_values, link_urls

STEP_SECONDS = 10.0
"""How long one step may take when nothing is wrong (the watcher polls every 0.2 s)."""
RECOVERY_SECONDS = 18.0
"""How long the bot may take to catch up after a fault ends: a card's lock that its holder could
not release (Redis failed, or the process was killed, while it was held) lives 15 s."""


def told(stage: Stage, person: SlackPerson) -> list[str]:
    """Everything the bot told only this person: ephemeral notices, then plain DM texts."""
    world = stage.world
    notices = [notice.text for notice in world.slack.ephemerals(user=person.id)]
    dms = [message.text for message in world.dm_messages(person) if not message.blocks]
    return notices + dms


async def told_after(
    stage: Stage, person: SlackPerson, before: int, *, within: float = STEP_SECONDS
) -> list[str]:
    """What the person was told beyond the first ``before`` notices (waits for at least one)."""
    new = await eventually(
        lambda: told(stage, person)[before:], within=within, what=f"a notice to {person.name}"
    )
    return list(new)


async def until_done(
    stage: Stage,
    person: SlackPerson,
    act: Callable[[], Awaitable[object]],
    done: Callable[[], object],
    *,
    within: float = RECOVERY_SECONDS,
) -> None:
    """Do ``act`` as a person would after a fault: again each time the bot says to try again,
    until ``done()`` (sync or async) holds."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        before = len(told(stage, person))
        await act()
        while True:
            result = done()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            if texts.try_again_later() in told(stage, person)[before:]:
                break
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{person.name} could not get it done after the fault")
            await asyncio.sleep(0.05)


def current_card(stage: Stage, offer: Offer) -> SimMessage | None:
    """The offer's card as people see it now (the newest, if the bot posted more than one)."""
    live = [card for card in stage.cards(offer) if not card.deleted]
    return live[-1] if live else None


async def card_posted(stage: Stage, offer: Offer, *, within: float = STEP_SECONDS) -> SimMessage:
    card: SimMessage = await eventually(
        lambda: current_card(stage, offer), within=within, what=f"a card for {offer.case_id}"
    )
    return card


def offers_accept(card: SimMessage | None) -> bool:
    return card is not None and ActionId.ACCEPT.value in action_ids(card)


def shows_accepted_by(card: SimMessage | None, person: SlackPerson) -> bool:
    return (
        card is not None
        and ActionId.COMPLETE.value in action_ids(card)
        and f"<@{person.id}>" in all_text(card)
    )


async def accepted(
    stage: Stage, offer: Offer, person: SlackPerson, *, within: float = STEP_SECONDS
) -> SimMessage:
    def ready() -> SimMessage | None:
        card = current_card(stage, offer)
        return card if shows_accepted_by(card, person) else None

    card: SimMessage = await eventually(
        ready, within=within, what=f"the card to show {offer.case_id} accepted by {person.name}"
    )
    return card


async def click_accept(stage: Stage, offer: Offer, person: SlackPerson) -> AppResponse:
    card = await card_posted(stage, offer)
    return await person.click(stage.world.channel, card.ts, ActionId.ACCEPT.value)


def dm_link(stage: Stage, person: SlackPerson) -> str | None:
    messages = stage.world.dm_messages(person)
    for message in reversed(messages):
        urls = link_urls(message)
        if urls:
            return urls[0]
    return None


async def link_in_dm(
    stage: Stage,
    person: SlackPerson,
    *,
    not_url: str | None = None,
    within: float = STEP_SECONDS,
) -> str:
    """The payer-session link in the person's DM (a different one than ``not_url``)."""

    def ready() -> str | None:
        url = dm_link(stage, person)
        return url if url and url != not_url else None

    url: str = await eventually(ready, within=within, what=f"a link in {person.name}'s DM")
    return url


async def link_pressing_new_link(
    stage: Stage, person: SlackPerson, *, within: float = STEP_SECONDS
) -> str:
    """The link in the person's DM; when the DM only offers *New link* (a handoff the bot had to
    adopt after a fault), the person presses it, as the DM asks them to."""

    def ready() -> str | SimMessage | None:
        url = dm_link(stage, person)
        if url:
            return url
        dm = handoff_dm(stage, person)
        if dm is not None and ActionId.NEW_LINK.value in action_ids(dm):
            return dm
        return None

    found = await eventually(ready, within=within, what=f"a link or New link in {person.name}'s DM")
    if isinstance(found, str):
        return found
    await person.click(found.channel, found.ts, ActionId.NEW_LINK.value)
    return await link_in_dm(stage, person)


def handoff_dm(stage: Stage, person: SlackPerson) -> SimMessage | None:
    """The person's handoff DM: the newest DM with buttons."""
    messages = [message for message in stage.world.dm_messages(person) if message.blocks]
    for message in reversed(messages):
        if buttons(message):
            return message
    return messages[-1] if messages else None


async def new_link_from_dm(stage: Stage, person: SlackPerson) -> AppResponse:
    dm = handoff_dm(stage, person)
    assert dm is not None, f"{person.name} has no handoff DM"
    return await person.click(dm.channel, dm.ts, ActionId.NEW_LINK.value)


async def new_link_from_card(stage: Stage, offer: Offer, person: SlackPerson) -> AppResponse:
    card = await card_posted(stage, offer)
    option = more_option(card, ActionId.NEW_LINK)
    return await person.select(stage.world.channel, card.ts, ActionId.MORE.value, option)


async def open_complete(stage: Stage, offer: Offer, person: SlackPerson) -> SimView:
    """Click *Complete* on the card and wait for the modal."""
    card = await card_posted(stage, offer)
    before = len(stage.world.slack.views(person.id))
    await person.click(stage.world.channel, card.ts, ActionId.COMPLETE.value)
    views = await eventually(
        lambda: (
            len(stage.world.slack.views(person.id)) > before and stage.world.slack.views(person.id)
        ),
        what="the complete modal",
    )
    view: SimView = views[-1]
    assert view.callback_id == CallbackId.COMPLETE.value
    return view


async def open_revoke(stage: Stage, offer: Offer, person: SlackPerson) -> SimView:
    card = await card_posted(stage, offer)
    before = len(stage.world.slack.views(person.id))
    option = more_option(card, ActionId.REVOKE)
    await person.select(stage.world.channel, card.ts, ActionId.MORE.value, option)
    views = await eventually(
        lambda: (
            len(stage.world.slack.views(person.id)) > before and stage.world.slack.views(person.id)
        ),
        what="the revoke modal",
    )
    view: SimView = views[-1]
    return view


async def submit_complete(
    person: SlackPerson, view: SimView, *, reference: str = "REF-77"
) -> AppResponse:
    return await person.submit_view(
        view.id, complete_values(outcome="submitted", reference=reference)
    )


def revoke_values() -> dict[str, Any]:
    return {forms.REVOKE_REASON_BLOCK: {forms.REVOKE_REASON_ACTION: "case_changed"}}


def is_closed(card: SimMessage | None) -> bool:
    return card is not None and not buttons(card)


async def closed(stage: Stage, offer: Offer, *, within: float = STEP_SECONDS) -> SimMessage:
    def ready() -> SimMessage | None:
        card = current_card(stage, offer)
        return card if is_closed(card) else None

    card: SimMessage = await eventually(
        ready, within=within, what=f"the card of {offer.case_id} to show the handoff closed"
    )
    return card


def reconcile_now(stage: Stage) -> None:
    """Collate finishes reconciling every closed handoff (its clock moves past the delay)."""
    stage.world.collate.advance(31.0)


async def reconciled(stage: Stage, offer: Offer, *, within: float = STEP_SECONDS) -> SimMessage:
    """The card shows Collate's final answer (approved), and the bot stopped following it."""

    def ready() -> SimMessage | None:
        card = current_card(stage, offer)
        return card if card is not None and "Approved" in all_text(card) else None

    card: SimMessage = await eventually(
        ready, within=within, what=f"the card of {offer.case_id} to show the approval"
    )
    return card


def dm_has_no_link(stage: Stage, person: SlackPerson) -> bool:
    dm = handoff_dm(stage, person)
    return dm is not None and link_urls(dm) == []


async def link_removed(stage: Stage, person: SlackPerson, *, within: float = STEP_SECONDS) -> None:
    await eventually(
        lambda: dm_has_no_link(stage, person),
        within=within,
        what=f"the link to be edited out of {person.name}'s DM",
    )


def grant_mints(stage: Stage, offer: Offer) -> int:
    """Access grants Collate minted for the case (successful POSTs to access-grants)."""
    return sum(
        1
        for request in stage.world.collate.requests
        if request.method == "POST"
        and request.path.endswith("/access-grants")
        and offer.id in request.path
        and 200 <= request.status < 300
    )


async def whole_flow(stage: Stage, offer: Offer, person: SlackPerson) -> None:
    """Everything from the card to the approval, with nothing going wrong."""
    await click_accept(stage, offer, person)
    await accepted(stage, offer, person)
    await link_in_dm(stage, person)
    view = await open_complete(stage, offer, person)
    await submit_complete(person, view)
    await closed(stage, offer)
    await link_removed(stage, person)
    reconcile_now(stage)
    await reconciled(stage, offer)
