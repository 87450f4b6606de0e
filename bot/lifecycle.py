"""How a card follows its authorization: Collate's truth in, the card's next record out.

Pure functions, no I/O. The watcher reads Collate, calls ``follow``, and applies the ``Change``.
Only Collate's authorization decides the reconciled phases (safety rule 4): the operator's report
stays a report.
"""

from __future__ import annotations

from dataclasses import dataclass

from blocks.model import CardPhase
from bot.collate import Authorization, AuthorizationStatus
from bot.store import CardRecord

_AFTER_CLOSE = frozenset(
    {CardPhase.CLOSING, CardPhase.ENDED_BY_COLLATE, CardPhase.WAITING_ON_PAYER}
)
_COLLATE_ENDINGS = frozenset({"expired", "interaction_lost_unrecoverable", "canceled"})


@dataclass(frozen=True)
class Change:
    """What the watcher must do for one card after reading its authorization."""

    record: CardRecord
    """The card's next record; ``record.final`` once the case is over for this card."""
    announce: bool = True
    """Edit the card and reply in its thread."""
    close_dm: bool = False
    """The handoff is over: edit the acceptor's DM so the link is gone."""
    reoffer: bool = False
    """Collate offers a new handoff: post a new card; this one becomes ``REOFFERED``."""


def needs_handoff_read(record: CardRecord, authorization: Authorization) -> bool:
    """Whether the handoff the card shows as active may have closed (then read it: E4)."""
    if record.phase is not CardPhase.ACCEPTED:
        return False
    active = authorization.active_manual_handoff
    return active is None or active.id != record.handoff_id


def follow(
    record: CardRecord,
    authorization: Authorization | None,
    *,
    handoff_result: str | None = None,
    now: float,
) -> Change | None:
    """The change Collate's latest read asks for, or ``None`` when the card is up to date.

    ``authorization`` is ``None`` when Collate answers 404. ``handoff_result`` is the result of the
    card's handoff when ``needs_handoff_read`` said to read it.
    """
    if authorization is None:
        return Change(record.evolve(phase=CardPhase.UNAVAILABLE, final=True), close_dm=True)
    if authorization.version < record.version:
        return None
    if record.phase is CardPhase.OFFERED:
        return _follow_offer(record, authorization)
    if record.phase is CardPhase.ACCEPTED:
        return _follow_active(record, authorization, handoff_result, now)
    if record.phase in _AFTER_CLOSE:
        return _follow_reconciliation(record, authorization, now)
    return None


def _follow_offer(record: CardRecord, authorization: Authorization) -> Change | None:
    if not authorization.offers_manual_handoff:
        withdrawn = record.evolve(
            phase=CardPhase.WITHDRAWN, version=authorization.version, final=True
        )
        return Change(withdrawn)
    snapshot_id = authorization.required_review_snapshot_id or ""
    if snapshot_id != record.snapshot_id:
        updated = record.evolve(
            snapshot_id=snapshot_id, review_updated=True, version=authorization.version
        )
        return Change(updated)
    return None


def _follow_active(
    record: CardRecord, authorization: Authorization, handoff_result: str | None, now: float
) -> Change | None:
    if authorization.status is AuthorizationStatus.CANCELED:
        ended = _ended(record, authorization, "canceled").evolve(final=True)
        return Change(ended, close_dm=True)
    active = authorization.active_manual_handoff
    if active is not None and active.id == record.handoff_id:
        return None
    if handoff_result is None:
        return None
    closed = _closed_elsewhere(record, authorization, handoff_result)
    settled = _follow_reconciliation(closed, authorization, now)
    if settled is not None:
        return Change(settled.record, close_dm=True, reoffer=settled.reoffer)
    return Change(closed, close_dm=True)


def _closed_elsewhere(
    record: CardRecord, authorization: Authorization, handoff_result: str
) -> CardRecord:
    if handoff_result in _COLLATE_ENDINGS:
        return _ended(record, authorization, handoff_result)
    return record.evolve(
        phase=CardPhase.CLOSING,
        report_kind=record.report_kind or handoff_result,
        version=authorization.version,
    )


def _ended(record: CardRecord, authorization: Authorization, result: str) -> CardRecord:
    return record.evolve(
        phase=CardPhase.ENDED_BY_COLLATE, handoff_result=result, version=authorization.version
    )


def _follow_reconciliation(
    record: CardRecord, authorization: Authorization, now: float
) -> Change | None:
    status = authorization.status
    settled = record.evolve(version=authorization.version, settled_at=now)
    if status is AuthorizationStatus.PROCESSING:
        return None
    if status is AuthorizationStatus.WAITING_ON_PAYER:
        if record.phase is CardPhase.WAITING_ON_PAYER:
            return None
        return Change(settled.evolve(phase=CardPhase.WAITING_ON_PAYER))
    if status is AuthorizationStatus.COMPLETED:
        return Change(settled.evolve(phase=CardPhase.COMPLETED, final=True))
    if status is AuthorizationStatus.CANCELED:
        if record.phase is CardPhase.ENDED_BY_COLLATE and record.handoff_result == "canceled":
            return Change(record.evolve(final=True), announce=False)
        return Change(_ended(record, authorization, "canceled").evolve(final=True))
    if authorization.offers_manual_handoff:
        return Change(settled.evolve(phase=CardPhase.REOFFERED, final=True), reoffer=True)
    return Change(settled.evolve(phase=CardPhase.BACK_WITH_COLLATE, final=True))
