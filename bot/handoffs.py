"""The handoff use cases: offer, accept, link, close, and following Collate's truth.

Handlers and the watcher call these; they hold no Slack payloads and build no Block Kit. Each
write to a card record happens under the authorization's lock, on a record loaded inside it, so
two replicas (or a click and the watcher) never edit one card out of order.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError

from blocks import dm
from blocks.ids import ActionId, ActionRef
from blocks.model import CardPhase, CaseFacts, SlackMessage
from bot import presenter, redaction
from bot.collate import (
    AccessGrant,
    Authorization,
    AuthorizationNotFound,
    CloseResult,
    CollateClient,
    HandoffState,
    ManualHandoff,
    ManualHandoffNotAllowed,
    NotActionable,
    ReviewStale,
    VersionConflict,
)
from bot.lifecycle import Change, follow, needs_handoff_read
from bot.publishing import SLACK_UNAVAILABLE, Delivery, Publisher
from bot.refusals import (
    AlreadyAccepted,
    CannotDm,
    HandoffClosed,
    NotPermitted,
    OfferGone,
    ShownLater,
    SnapshotChanged,
    StaleButton,
    TryAgainLater,
)
from bot.roles import Roles
from bot.routing import Router
from bot.store import LOCK_TTL_SECONDS, CardRecord, LockTimeout, Store
from bot.surfaces import Surfaces

logger = logging.getLogger(__name__)

MAX_CONFLICT_RETRIES = 3
UNKNOWN_POST_GRACE_SECONDS = 120.0
CloseCall = Callable[[Authorization, ManualHandoff], Awaitable[CloseResult]]


@dataclass(frozen=True)
class ClosingReport:
    """What the person closing a handoff reported, as the card records it (never notes)."""

    kind: str
    outcome: str = ""
    reference: str = ""
    reason: str = ""


class HandoffService:
    """The core of the bot: every change to a handoff card goes through one of these methods."""

    def __init__(
        self,
        collate: CollateClient,
        store: Store,
        surfaces: Surfaces,
        *,
        router: Router,
        roles: Roles,
        summary_fields: frozenset[str],
        supervisor_channel: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._collate = collate
        self._store = store
        self._surfaces = surfaces
        self._router = router
        self._roles = roles
        self._publisher = Publisher(
            store, surfaces, summary_fields=summary_fields, supervisor_channel=supervisor_channel
        )
        self._clock = clock

    @property
    def store(self) -> Store:
        return self._store

    @property
    def surfaces(self) -> Surfaces:
        return self._surfaces

    @property
    def roles(self) -> Roles:
        return self._roles

    async def card_channel(self, authorization_id: str) -> str:
        """Where a person acting on this authorization's card can be told things privately
        (empty, meaning a DM, when the store cannot say)."""
        try:
            record = await self._store.load(authorization_id)
        except RedisError:
            return ""
        return record.channel if record else ""

    # Offers -----------------------------------------------------------------------------------

    async def post_offer(self, authorization: Authorization) -> CardRecord | None:
        """Post a card for a new offer, unless the authorization already has a live card.

        Waits its turn in the channel first (Slack's per-channel pace), outside the lock."""
        await self._surfaces.wait_turn(self._router.channel_for(authorization))
        async with self._store.locked(authorization.id):
            previous = await self._store.load(authorization.id)
            if previous is not None and not previous.final:
                if previous.ts or not self._may_post_again(previous):
                    return None
                record = previous
            else:
                record = self._new_offer_record(authorization, previous)
                await self._store.save(record)
            try:
                ts = await self._publisher.post_card(record, authorization)
            except SLACK_UNAVAILABLE:
                await self._store.save(record.evolve(post_failed=True))
                raise
            record = record.evolve(ts=ts, post_failed=False)
            await self._store.save(record)
        logger.info("handoff.offered", extra=_ids(record))
        await self._publisher.announce_offer(record, authorization)
        return record

    def _may_post_again(self, reserved: CardRecord) -> bool:
        """A reserved record has no ts: post again if Slack refused the post; if the process or
        Redis failed around it, the card may exist, so wait for a click on it to tell its ts
        (``adopt_card_ts``) and only post again after ``UNKNOWN_POST_GRACE_SECONDS``."""
        if reserved.post_failed:
            return True
        return self._clock() - reserved.offered_at > UNKNOWN_POST_GRACE_SECONDS

    async def adopt_card_ts(self, authorization_id: str, channel: str, ts: str) -> None:
        """A click on a card whose post was never recorded tells the bot where the card is."""
        if not ts:
            return
        async with self._store.locked(authorization_id):
            record = await self._store.load(authorization_id)
            if record is None or record.ts or record.channel != channel:
                return
            await self._store.save(record.evolve(ts=ts, post_failed=False))
        logger.warning("handoff.card_ts_adopted", extra={"authorization_id": authorization_id})

    def _new_offer_record(
        self, authorization: Authorization, previous: CardRecord | None
    ) -> CardRecord:
        return CardRecord(
            authorization_id=authorization.id,
            generation=previous.generation + 1 if previous else 1,
            phase=CardPhase.OFFERED,
            version=authorization.version,
            channel=self._router.channel_for(authorization),
            offered_at=self._clock(),
            snapshot_id=authorization.required_review_snapshot_id or "",
            predecessor_channel=previous.channel if previous else "",
            predecessor_ts=previous.ts if previous else "",
        )

    # Accept -----------------------------------------------------------------------------------

    async def accept(self, ref: ActionRef, user_id: str) -> None:
        """Accept the offer for ``user_id``: exactly one person wins, however many click."""
        if not await self._roles.is_operator(user_id):
            raise NotPermitted(ActionId.ACCEPT, operators_only=True)
        record = await self._open_offer(ref)
        holder = await self._store.claim(record, user_id)
        if holder != user_id:
            raise AlreadyAccepted(holder)
        try:
            authorization, handoff = await self._create_handoff(record, ref)
        except BaseException:
            with contextlib.suppress(RedisError):
                await self._store.release_claim(record, user_id)
            raise
        try:
            record = await self._record_acceptance(record, authorization, handoff, user_id)
        except (RedisError, LockTimeout):
            # The handoff exists and the claim names this person: the watcher adopts it.
            raise ShownLater() from None
        logger.info("handoff.accepted", extra=_ids(record))
        await self._deliver_link(record, authorization, handoff)

    async def _open_offer(self, ref: ActionRef) -> CardRecord:
        record = await self._store.load(ref.authorization_id)
        if record is None:
            raise StaleButton()
        if record.acceptor:
            raise AlreadyAccepted(record.acceptor)
        if record.phase is not CardPhase.OFFERED:
            raise OfferGone()
        return record

    async def _create_handoff(
        self, record: CardRecord, ref: ActionRef
    ) -> tuple[Authorization, ManualHandoff]:
        for _ in range(MAX_CONFLICT_RETRIES):
            authorization = await self._collate.get_authorization(record.authorization_id)
            await self._check_offer_still_open(record, authorization, ref)
            try:
                handoff = await self._collate.create_handoff(
                    authorization, accepted_review_snapshot_id=ref.review_snapshot_id
                )
            except VersionConflict:
                continue
            except ReviewStale:
                await self.refresh(record.authorization_id)
                raise SnapshotChanged() from None
            except ManualHandoffNotAllowed:
                await self.refresh(record.authorization_id)
                raise OfferGone() from None
            return authorization, handoff
        raise TryAgainLater()

    async def _check_offer_still_open(
        self, record: CardRecord, authorization: Authorization, ref: ActionRef
    ) -> None:
        if not authorization.offers_manual_handoff:
            await self.refresh(record.authorization_id, authorization)
            raise OfferGone()
        required = authorization.required_review_snapshot_id
        current = authorization.current_review_snapshot
        shown = ref.review_snapshot_id
        if required != shown or (required is not None and (current is None or current.id != shown)):
            await self.refresh(record.authorization_id, authorization)
            raise SnapshotChanged()

    async def _record_acceptance(
        self,
        record: CardRecord,
        authorization: Authorization,
        handoff: ManualHandoff,
        user_id: str,
    ) -> CardRecord:
        async with self._store.locked(record.authorization_id):
            current = await self._store.load(record.authorization_id) or record
            accepted = current.evolve(
                phase=CardPhase.ACCEPTED,
                version=authorization.version,
                handoff_id=handoff.id,
                acceptor=user_id,
                accepted_at=self._clock(),
                final_submit_capable=handoff.final_submit_capable,
            )
            return await self._publisher.publish(
                accepted, authorization, {Delivery.CARD, Delivery.REPLY}
            )

    # Review -----------------------------------------------------------------------------------

    async def send_review(self, ref: ActionRef, user_id: str) -> None:
        """DM the person the full review snapshot (message content, where Slack permits PHI)."""
        record = await self._open_offer(ref)
        authorization = await self._collate.get_authorization(record.authorization_id)
        review = presenter.review_view(authorization)
        if review is None or review.snapshot_id != ref.review_snapshot_id:
            await self.refresh(record.authorization_id, authorization)
            raise SnapshotChanged()
        facts = presenter.case_facts(authorization, offered_at=record.offered_at)
        dm_channel = await self._surfaces.open_dm(user_id)
        await self._surfaces.post(dm_channel, dm.review_dm(facts, review))

    # Links ------------------------------------------------------------------------------------

    async def issue_link(self, ref: ActionRef, user_id: str) -> None:
        """Mint a fresh interactive grant for the acceptor and put it in their DM."""
        record = await self._closer_record(ref, user_id, ActionId.NEW_LINK)
        authorization = await self._collate.get_authorization(record.authorization_id)
        handoff = await self._collate.get_handoff(record.authorization_id, record.handoff_id)
        if handoff.state is not HandoffState.ACTIVE:
            await self.refresh(record.authorization_id, authorization)
            raise HandoffClosed(handoff.result)
        await self._deliver_link(record, authorization, handoff)

    async def _deliver_link(
        self, record: CardRecord, authorization: Authorization, handoff: ManualHandoff | None
    ) -> None:
        try:
            grant = await self._collate.create_access_grant(
                record.authorization_id, record.handoff_id
            )
        except NotActionable:
            await self.refresh(record.authorization_id)
            raise HandoffClosed(None) from None
        redaction.remember_grant_url(grant.url.get_secret_value(), until=grant.expires_at)
        await self._put_link_in_dm(record, authorization, handoff, grant)
        logger.info("handoff.link_issued", extra=_ids(record))

    async def _put_link_in_dm(
        self,
        record: CardRecord,
        authorization: Authorization,
        handoff: ManualHandoff | None,
        grant: AccessGrant,
    ) -> None:
        # NOTE: the grant URL lives only in this frame's locals while the DM is posted: it is a
        # bearer capability (contract §9), so it never reaches the record, a log or a channel.
        facts = presenter.case_facts(authorization, offered_at=record.offered_at)
        async with self._store.locked(record.authorization_id):
            current = await self._store.load(record.authorization_id) or record
            if not current.dm_ts:
                current = await self._reserve_dm(current, facts)
            view = presenter.dm_view(current, facts, grant=grant, handoff=handoff)
            dm_channel, dm_ts = await self._post_dm(current, dm.handoff_dm(view))
            updated = current.evolve(
                dm_channel=dm_channel,
                dm_ts=dm_ts,
                dm_has_link=True,
                grant_expires_at=grant.expires_at.timestamp(),
            )
            await self._store.save(updated)
        await self._publisher.announce_link(updated, authorization)

    async def _reserve_dm(self, record: CardRecord, facts: CaseFacts) -> CardRecord:
        """Post the DM without a link and record where it is, before any link goes in: a DM
        the bot cannot find again could never have its link removed."""
        view = presenter.dm_view(record, facts, grant=None, link_renewable=True)
        dm_channel, dm_ts = await self._post_dm(record, dm.handoff_dm(view))
        reserved = record.evolve(dm_channel=dm_channel, dm_ts=dm_ts)
        await self._store.save(reserved)
        return reserved

    async def _post_dm(self, record: CardRecord, message: SlackMessage) -> tuple[str, str]:
        """Post (or edit) the acceptor's DM; ``CannotDm`` when Slack will not deliver it."""
        try:
            dm_channel = record.dm_channel or await self._surfaces.open_dm(record.acceptor)
            if record.dm_ts:
                await self._surfaces.update(dm_channel, record.dm_ts, message)
                return dm_channel, record.dm_ts
            return dm_channel, await self._surfaces.post(dm_channel, message)
        except SlackApiError as error:
            if str(error.response.get("error")) not in _UNDELIVERABLE_DM:
                raise
            logger.warning(
                "slack.dm_failed",
                extra={**_ids(record), "error_code": error.response.get("error")},
            )
            raise CannotDm() from None

    async def expire_dm_link(self, record: CardRecord, authorization: Authorization) -> None:
        """The grant in the DM has expired: edit the link out, keep the way to a new one."""
        facts = presenter.case_facts(authorization, offered_at=record.offered_at)
        view = presenter.dm_view(record, facts, grant=None, link_renewable=True)
        await self._surfaces.update(record.dm_channel, record.dm_ts, dm.handoff_dm(view))
        await self._store.save(record.evolve(dm_has_link=False))

    # Closing ----------------------------------------------------------------------------------

    async def check_closer(self, ref: ActionRef, user_id: str, action: ActionId) -> CardRecord:
        """The record of an active handoff that ``user_id`` may act on with ``action``."""
        return await self._closer_record(ref, user_id, action)

    async def unable_to_complete(
        self, ref: ActionRef, user_id: str, *, reason: str, operator_notes: str | None
    ) -> None:
        async def call(authorization: Authorization, handoff: ManualHandoff) -> CloseResult:
            return await self._collate.unable_to_complete(
                authorization, handoff, reason=reason, operator_notes=operator_notes
            )

        report = ClosingReport(kind="unable_to_complete", reason=reason)
        await self._close(ref, user_id, call, report, ActionId.UNABLE)

    async def revoke(self, ref: ActionRef, user_id: str, *, reason: str, notes: str | None) -> None:
        async def call(authorization: Authorization, handoff: ManualHandoff) -> CloseResult:
            return await self._collate.revoke(authorization, handoff, reason=reason, notes=notes)

        report = ClosingReport(kind="revoked", reason=reason)
        await self._close(ref, user_id, call, report, ActionId.REVOKE)

    async def complete(
        self,
        ref: ActionRef,
        user_id: str,
        *,
        reported_outcome: str,
        observed_reference_number: str | None,
        operator_notes: str | None,
    ) -> None:
        async def call(authorization: Authorization, handoff: ManualHandoff) -> CloseResult:
            return await self._collate.complete(
                authorization,
                handoff,
                reported_outcome=reported_outcome,
                observed_reference_number=observed_reference_number,
                operator_notes=operator_notes,
            )

        report = ClosingReport(
            kind="completed_reported",
            outcome=reported_outcome,
            reference=observed_reference_number or "",
        )
        await self._close(ref, user_id, call, report, ActionId.COMPLETE)

    async def _close(
        self,
        ref: ActionRef,
        user_id: str,
        call: CloseCall,
        report: ClosingReport,
        action: ActionId,
    ) -> None:
        record = await self._closer_record(ref, user_id, action)
        authorization = await self._send_close(record, call)
        try:
            closing = await self._record_close(record, authorization, report, user_id)
        except (RedisError, LockTimeout):
            # Collate has the close; the watcher reads its result and updates the card.
            raise ShownLater() from None
        logger.info("handoff.closed", extra={**_ids(closing), "result": report.kind})

    async def _record_close(
        self,
        record: CardRecord,
        authorization: Authorization,
        report: ClosingReport,
        user_id: str,
    ) -> CardRecord:
        async with self._store.locked(record.authorization_id):
            current = await self._store.load(record.authorization_id) or record
            closing = current.evolve(
                phase=CardPhase.CLOSING,
                version=authorization.version,
                report_kind=report.kind,
                report_outcome=report.outcome,
                report_reference=report.reference,
                report_reason=report.reason,
                closed_by=user_id,
            )
            return await self._publisher.publish(
                closing, authorization, {Delivery.DM, Delivery.CARD, Delivery.REPLY}
            )

    async def _send_close(self, record: CardRecord, call: CloseCall) -> Authorization:
        """Send a close with the latest versions; on a conflict re-read and retry while active."""
        for _ in range(MAX_CONFLICT_RETRIES):
            authorization = await self._collate.get_authorization(record.authorization_id)
            handoff = await self._collate.get_handoff(record.authorization_id, record.handoff_id)
            if handoff.state is not HandoffState.ACTIVE:
                await self.refresh(record.authorization_id, authorization)
                raise HandoffClosed(handoff.result)
            try:
                closed = await call(authorization, handoff)
            except VersionConflict:
                continue
            except NotActionable:
                await self.refresh(record.authorization_id)
                raise HandoffClosed(None) from None
            # NOTE: keep the version the close produced, so a list read taken before the close
            # but answered after it is recognised as stale (contract §10).
            return authorization.model_copy(update={"version": closed.authorization.version})
        raise TryAgainLater()

    async def _closer_record(self, ref: ActionRef, user_id: str, action: ActionId) -> CardRecord:
        """The active handoff's record, if ``user_id`` may ``action`` it: the acceptor may do
        anything; a supervisor may revoke."""
        record = await self._store.load(ref.authorization_id)
        if record is None or (ref.handoff_id and ref.handoff_id != record.handoff_id):
            raise StaleButton()
        if record.phase is not CardPhase.ACCEPTED:
            raise HandoffClosed(record.handoff_result or record.report_kind or None)
        if record.acceptor == user_id:
            return record
        if action is ActionId.REVOKE and await self._roles.is_supervisor(user_id):
            return record
        supervisors = action is ActionId.REVOKE and self._roles.has_supervisors
        raise NotPermitted(action, acceptor=record.acceptor, supervisors=supervisors)

    # Following Collate ------------------------------------------------------------------------

    def channel_for(self, authorization: Authorization) -> str:
        """The channel a new card for this authorization goes to."""
        return self._router.channel_for(authorization)

    async def refresh(
        self,
        authorization_id: str,
        authorization: Authorization | None = None,
        *,
        lock_wait_seconds: float = LOCK_TTL_SECONDS + 1,
    ) -> None:
        """Bring one card up to date with Collate; ``authorization`` saves a read when fresh.

        Deliveries a record still owes are made first, then Collate's latest read is applied.
        """
        if authorization is None:
            authorization = await self._read(authorization_id)
        async with self._store.locked(authorization_id, wait_seconds=lock_wait_seconds):
            record = await self._store.load(authorization_id)
            if record is None:
                return
            if record.pending:
                record = await self._publisher.publish(record, authorization, set())
            record = await self._adopt_if_accepted(record, authorization)
            change = follow(
                record,
                authorization,
                handoff_result=await self._closed_handoff_result(record, authorization),
                now=self._clock(),
            )
            if change is not None:
                await self._apply(change, authorization)
            elif authorization is not None:
                await self._expire_link_if_due(record, authorization)
        unposted = not record.ts and record.phase is CardPhase.OFFERED and change is None
        # Ask only when a new post is allowed: post_offer first waits for a posting slot.
        unposted = unposted and self._may_post_again(record)
        if unposted and authorization is not None and authorization.offers_manual_handoff:
            await self.post_offer(authorization)
        if change is not None and change.reoffer and authorization is not None:
            successor = await self.post_offer(authorization)
            if successor is not None:
                await self._publisher.point_to_successor(change.record, successor, authorization)

    async def _adopt_if_accepted(
        self, record: CardRecord, authorization: Authorization | None
    ) -> CardRecord:
        """An offer Collate shows as accepted while the card does not: the accept went through
        but its record write was lost (Redis failed, or the process stopped). The claim says who
        accepted; they get the card and a DM from which to ask for a link."""
        active = authorization.active_manual_handoff if authorization else None
        if authorization is None or active is None or record.phase is not CardPhase.OFFERED:
            return record
        holder = await self._store.claim_holder(record)
        if holder is None:
            return record
        adopted = record.evolve(
            phase=CardPhase.ACCEPTED,
            version=authorization.version,
            handoff_id=active.id,
            acceptor=holder,
            accepted_at=self._clock(),
        )
        adopted = await self._publisher.publish(
            adopted, authorization, {Delivery.CARD, Delivery.REPLY}
        )
        logger.warning("handoff.adopted", extra=_ids(adopted))
        facts = presenter.case_facts(authorization, offered_at=adopted.offered_at)
        view = presenter.dm_view(adopted, facts, grant=None, link_renewable=True)
        with contextlib.suppress(CannotDm):
            dm_channel, dm_ts = await self._post_dm(adopted, dm.handoff_dm(view))
            adopted = adopted.evolve(dm_channel=dm_channel, dm_ts=dm_ts)
            await self._store.save(adopted)
        return adopted

    async def _read(self, authorization_id: str) -> Authorization | None:
        try:
            return await self._collate.get_authorization(authorization_id)
        except AuthorizationNotFound:
            return None

    async def _closed_handoff_result(
        self, record: CardRecord, authorization: Authorization | None
    ) -> str | None:
        if authorization is None or not needs_handoff_read(record, authorization):
            return None
        handoff = await self._collate.get_handoff(record.authorization_id, record.handoff_id)
        if handoff.state in (HandoffState.CLOSING, HandoffState.CLOSED):
            return handoff.result
        return None

    async def _apply(self, change: Change, authorization: Authorization | None) -> None:
        deliveries = {Delivery.CARD}
        if change.announce:
            deliveries.add(Delivery.REPLY)
        if change.close_dm:
            deliveries.add(Delivery.DM)
        record = await self._publisher.publish(change.record, authorization, deliveries)
        logger.info("handoff.followed", extra=_ids(record))

    async def _expire_link_if_due(self, record: CardRecord, authorization: Authorization) -> None:
        due = record.dm_has_link and 0 < record.grant_expires_at <= self._clock()
        if due and record.phase is CardPhase.ACCEPTED:
            await self.expire_dm_link(record, authorization)


_UNDELIVERABLE_DM = frozenset(
    {"cannot_dm_bot", "messages_tab_disabled", "user_not_found", "user_disabled", "not_allowed"}
)
"""``conversations.open`` / ``chat.postMessage`` errors that mean this person gets no DM."""


def _ids(record: CardRecord) -> dict[str, object]:
    return {
        "authorization_id": record.authorization_id,
        "handoff_id": record.handoff_id or None,
        "version": record.version,
        "channel": record.channel,
        "phase": str(record.phase),
    }
