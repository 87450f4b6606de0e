"""Polls Collate (it has no webhooks, D9): new offers become cards; tracked cases are followed.

One replica polls at a time: the one holding the watcher lease in Redis. A cycle reads every page
of ``status=requires_action``, posts a card for each new offer, then reads each tracked
authorization that the list did not already return, until its case is final.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import defaultdict
from dataclasses import dataclass

from bot.collate import Authorization, CollateClient, CollateError
from bot.handoffs import HandoffService
from bot.store import LockTimeout, Store

logger = logging.getLogger(__name__)

FOLLOW_LOCK_WAIT_SECONDS = 0.5
"""A card someone else is editing (or a dead replica's lock) is skipped until the next cycle."""


class LeaseLost(Exception):
    """Another replica holds the polling lease now; this one stops its cycle."""


@dataclass(frozen=True)
class CycleReport:
    """What one poll cycle did, for logs and tests."""

    offers_seen: int
    cards_posted: int
    followed: int


class Watcher:
    """The polling loop. ``run`` until cancelled; ``cycle`` once (tests and the demo)."""

    def __init__(
        self,
        collate: CollateClient,
        store: Store,
        handoffs: HandoffService,
        *,
        interval_seconds: float,
        lease_seconds: float,
    ) -> None:
        self._collate = collate
        self._store = store
        self._handoffs = handoffs
        self._interval = interval_seconds
        self._lease = max(lease_seconds, interval_seconds * 2)
        self._holder = secrets.token_hex(6)

    async def run(self) -> None:
        try:
            while True:
                await self._cycle_if_leader()
                await asyncio.sleep(self._interval)
        finally:
            await self._release()

    async def _cycle_if_leader(self) -> None:
        try:
            if not await self._store.hold_watcher_lease(self._holder, self._lease):
                return
            report = await self._cycle_holding_lease()
            logger.debug("watcher.cycle", extra=report.__dict__)
        except CollateError as error:
            logger.warning(
                "watcher.collate_unavailable",
                extra={"error_code": error.code, "request_id": error.request_id},
            )
        except LeaseLost:
            logger.warning("watcher.lease_lost")
        except Exception:
            logger.exception("watcher.cycle_failed")

    async def _cycle_holding_lease(self) -> CycleReport:
        """A cycle can outlast the lease (a burst of offers paced per channel): renew it every
        third of its length while the cycle runs, and stop the cycle if it was lost."""
        cycle = asyncio.create_task(self.cycle())
        try:
            while True:
                done, _ = await asyncio.wait({cycle}, timeout=self._lease / 3)
                if done:
                    return cycle.result()
                if not await self._store.hold_watcher_lease(self._holder, self._lease):
                    raise LeaseLost()
        finally:
            cycle.cancel()

    async def _release(self) -> None:
        try:
            await self._store.release_watcher_lease(self._holder)
        except Exception:
            logger.warning("watcher.lease_release_failed")

    async def cycle(self) -> CycleReport:
        """One poll, a page at a time: each page's new offers get cards and its tracked cases
        are followed from it; then every tracked case no page returned is read. Only one page
        of authorizations is held at a time."""
        already_tracked = await self._store.tracked()
        seen: set[str] = set()
        posted = offers = followed = 0
        async for page in self._collate.pages_requiring_action():
            fresh = [authorization for authorization in page if authorization.id not in seen]
            seen.update(authorization.id for authorization in fresh)
            offers += sum(1 for authorization in fresh if authorization.offers_manual_handoff)
            posted += await self._take_offers(fresh, already_tracked)
            for authorization in fresh:
                if authorization.id in already_tracked:
                    await self._follow(authorization.id, authorization)
                    followed += 1
        for authorization_id in sorted(await self._store.tracked() - seen):
            await self._follow(authorization_id, None)
            followed += 1
        return CycleReport(offers_seen=offers, cards_posted=posted, followed=followed)

    async def _take_offers(self, listed: list[Authorization], tracked: set[str]) -> int:
        """Post the new offers' cards, each channel in its own task: Slack paces
        ``chat.postMessage`` per channel, so one throttled channel must not hold up the rest."""
        by_channel: dict[str, list[Authorization]] = defaultdict(list)
        for authorization in listed:
            by_channel[self._handoffs.channel_for(authorization)].append(authorization)

        async def post_in_order(offers: list[Authorization]) -> int:
            return sum([await self._take_offer(offer, tracked) for offer in offers])

        return sum(await asyncio.gather(*(post_in_order(o) for o in by_channel.values())))

    async def _take_offer(self, authorization: Authorization, tracked: set[str]) -> int:
        """Post a card for an offer that has none: 1 if a card was posted.

        A tracked card is followed instead (``refresh`` posts the new card when a closed handoff
        comes back as a new offer). An offer that already has an active handoff and no card was
        accepted outside this bot (D3): it gets no card.
        """
        if not authorization.offers_manual_handoff or authorization.id in tracked:
            return 0
        record = await self._store.load(authorization.id)
        if record is None and authorization.active_manual_handoff is not None:
            return 0
        posted = await self._handoffs.post_offer(authorization)
        return 1 if posted else 0

    async def _follow(self, authorization_id: str, fresh: Authorization | None) -> None:
        try:
            await self._handoffs.refresh(
                authorization_id, fresh, lock_wait_seconds=FOLLOW_LOCK_WAIT_SECONDS
            )
        except (CollateError, LockTimeout) as error:
            logger.warning(
                "watcher.follow_failed",
                extra={"authorization_id": authorization_id, "error": type(error).__name__},
            )
