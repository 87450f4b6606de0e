"""Showing a card's record in Slack, and remembering what still has to be shown.

Every change to a card is saved with the deliveries it owes (``Delivery``) before any Slack call,
and each delivery is crossed off once Slack took it. A delivery that failed stays on the record,
and the watcher's next cycle delivers it again, until Slack takes it or it is plainly impossible
(the message or channel is gone): that is logged once, with ids, and dropped.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from enum import StrEnum

import aiohttp
from slack_sdk.errors import SlackApiError

from blocks import card, dm
from blocks.model import CardPhase, CardView, SlackMessage
from bot import presenter
from bot.collate import Authorization
from bot.store import CardRecord, Store
from bot.surfaces import Surfaces

logger = logging.getLogger(__name__)

IMPOSSIBLE = frozenset(
    {
        "message_not_found",
        "channel_not_found",
        "cant_update_message",
        "not_in_channel",
        "is_archived",
        "edit_window_closed",
    }
)
"""Slack errors that no retry will fix."""


SLACK_UNAVAILABLE = (SlackApiError, aiohttp.ClientError, TimeoutError)
"""Failures after slack_sdk's own retries: the delivery stays owed and the watcher tries again."""


class Delivery(StrEnum):
    """What a change of a card owes Slack, in the order it is delivered."""

    DM = "dm"
    """Edit the link out of the acceptor's DM (first: the link is a bearer capability)."""
    CARD = "card"
    """Edit the card to show the record."""
    REPLY = "reply"
    """Reply in the card's thread, and tell the supervisors' channel."""


def owed(record: CardRecord) -> set[Delivery]:
    return {Delivery(item) for item in record.pending.split(",") if item}


class Publisher:
    """Delivers records to Slack through ``Surfaces``; built by the core, used under its lock."""

    def __init__(
        self,
        store: Store,
        surfaces: Surfaces,
        *,
        summary_fields: frozenset[str],
        supervisor_channel: str | None,
    ) -> None:
        self._store = store
        self._surfaces = surfaces
        self._summary_fields = summary_fields
        self._floor = supervisor_channel

    async def publish(
        self,
        record: CardRecord,
        authorization: Authorization | None,
        deliveries: set[Delivery],
    ) -> CardRecord:
        """Save ``record`` owing ``deliveries`` (plus any it already owed), then deliver them."""
        remaining = owed(record) | deliveries
        record = record.evolve(pending=_encode(remaining))
        await self._store.save(record)
        try:
            for delivery in sorted(remaining, key=list(Delivery).index):
                await self._deliver(delivery, record, authorization)
                remaining.discard(delivery)
        except SLACK_UNAVAILABLE as error:
            logger.warning(
                "slack.delivery_deferred",
                extra={
                    "authorization_id": record.authorization_id,
                    "channel": record.channel,
                    "error": type(error).__name__,
                },
            )
        finally:
            dm_closed = Delivery.DM in deliveries and Delivery.DM not in remaining
            record = record.evolve(
                pending=_encode(remaining), dm_has_link=record.dm_has_link and not dm_closed
            )
            await self._store.save(record)
        return record

    async def _deliver(
        self, delivery: Delivery, record: CardRecord, authorization: Authorization | None
    ) -> None:
        try:
            if delivery is Delivery.DM:
                await self._close_dm(record, authorization)
            elif delivery is Delivery.CARD:
                await self._update_card(record, authorization)
            else:
                await self._announce(record, self._view(record, authorization))
        except SlackApiError as error:
            code = str(error.response.get("error", ""))
            if code not in IMPOSSIBLE:
                raise
            logger.error(
                "slack.card_update_abandoned",
                extra={
                    "authorization_id": record.authorization_id,
                    "channel": record.channel,
                    "error_code": code,
                    "result": delivery.value,
                },
            )

    async def post_card(self, record: CardRecord, authorization: Authorization) -> str:
        """Post a new card; return its ts."""
        message = await self._card(record, authorization)
        return await self._surfaces.post(record.channel, message)

    async def point_to_successor(
        self, old: CardRecord, new: CardRecord, authorization: Authorization
    ) -> None:
        """The replaced card links to the new offer's card."""
        link = await self._surfaces.permalink(new.channel, new.ts)
        view = replace(presenter.card_view(old, authorization), successor_link=link)
        message = card.card_message(view, summary_fields=self._summary_fields)
        await self._surfaces.update(old.channel, old.ts, message)

    async def announce_link(self, record: CardRecord, authorization: Authorization) -> None:
        """A new link was issued: say so in the thread and to the supervisors (never the link)."""
        await self._surfaces.reply(record.channel, record.ts, card.link_issued_reply())
        if self._floor:
            link = await self._surfaces.permalink(record.channel, record.ts)
            facts = presenter.case_facts(authorization)
            await self._surfaces.reply(self._floor, "", card.floor_link_issued(facts, link))

    async def announce_offer(self, record: CardRecord, authorization: Authorization) -> None:
        await self._tell_floor(record, presenter.card_view(record, authorization))

    def _view(self, record: CardRecord, authorization: Authorization | None) -> CardView:
        if authorization is None:
            return presenter.unavailable_view(record)
        return presenter.card_view(record, authorization)

    async def _card(self, record: CardRecord, authorization: Authorization | None) -> SlackMessage:
        view = self._view(record, authorization)
        if record.predecessor_ts and record.phase is CardPhase.OFFERED:
            link = await self._surfaces.permalink(record.predecessor_channel, record.predecessor_ts)
            view = replace(view, predecessor_link=link)
        return card.card_message(view, summary_fields=self._summary_fields)

    async def _update_card(self, record: CardRecord, authorization: Authorization | None) -> None:
        if record.ts:
            await self._surfaces.update(
                record.channel, record.ts, await self._card(record, authorization)
            )

    async def _announce(self, record: CardRecord, view: CardView) -> None:
        if record.ts:
            await self._surfaces.reply(record.channel, record.ts, card.thread_reply(view))
            await self._tell_floor(record, view)

    async def _tell_floor(self, record: CardRecord, view: CardView) -> None:
        if not self._floor:
            return
        link = await self._surfaces.permalink(record.channel, record.ts)
        await self._surfaces.reply(self._floor, "", card.floor_line(view, link))

    async def _close_dm(self, record: CardRecord, authorization: Authorization | None) -> None:
        if not record.dm_ts:
            return
        view = presenter.dm_view(record, self._view(record, authorization).facts, grant=None)
        await self._surfaces.update(record.dm_channel, record.dm_ts, dm.handoff_dm(view))


def _encode(deliveries: set[Delivery]) -> str:
    return ",".join(sorted(delivery.value for delivery in deliveries))
