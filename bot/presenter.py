"""From Collate's authorization and the bot's record to the view model ``blocks`` renders.

This is the only place that decides which of Collate's fields reach a person: the minimum
necessary of contract §9. The review summary travels raw; ``blocks`` filters it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from blocks.model import (
    CardView,
    CaseFacts,
    GrantView,
    HandoffDmView,
    OperatorReport,
    Reconciled,
    ReviewView,
)
from bot.collate import AccessGrant, Authorization, ManualHandoff
from bot.store import CardRecord


def case_facts(authorization: Authorization, *, offered_at: float = 0.0) -> CaseFacts:
    return CaseFacts(
        authorization_id=authorization.id,
        case_reference=authorization.case_reference,
        payer_name=authorization.payer.display_name if authorization.payer else None,
        service_code=_service_code(authorization),
        request_type=authorization.request.request_type if authorization.request else None,
        offered_at=_time(offered_at),
    )


def review_view(authorization: Authorization) -> ReviewView | None:
    """The snapshot the offer covers, or ``None`` when the offer needs no review."""
    if authorization.required_review_snapshot_id is None:
        return None
    snapshot = authorization.current_review_snapshot
    if snapshot is None:
        return None
    return ReviewView(
        snapshot_id=snapshot.id,
        warnings=tuple(warning.message for warning in snapshot.warnings),
        summary=snapshot.summary,
        attachment_count=len(snapshot.attachments),
    )


def card_view(record: CardRecord, authorization: Authorization) -> CardView:
    return CardView(
        facts=case_facts(authorization, offered_at=record.offered_at),
        phase=record.phase,
        review=review_view(authorization),
        review_updated=record.review_updated,
        acceptor_user_id=record.acceptor or None,
        accepted_at=_time(record.accepted_at),
        handoff_id=record.handoff_id or None,
        handoff_result=record.handoff_result or None,
        report=_report(record),
        reconciled=_reconciled(record, authorization),
    )


def dm_view(
    record: CardRecord,
    facts: CaseFacts,
    *,
    grant: AccessGrant | None,
    handoff: ManualHandoff | None = None,
    closed_summary: str | None = None,
    link_renewable: bool = False,
) -> HandoffDmView:
    return HandoffDmView(
        facts=facts,
        handoff_id=record.handoff_id,
        grant=GrantView(url=grant.url.get_secret_value(), expires_at=grant.expires_at)
        if grant
        else None,
        closed_summary=closed_summary,
        final_submit_capable=handoff.final_submit_capable
        if handoff
        else record.final_submit_capable,
        link_renewable=link_renewable,
        collate_message=handoff.message if handoff else None,
    )


def unavailable_view(record: CardRecord) -> CardView:
    """The card of an authorization Collate no longer knows: only what the record holds."""
    facts = CaseFacts(
        authorization_id=record.authorization_id,
        case_reference=None,
        payer_name=None,
        service_code=None,
        request_type=None,
        offered_at=_time(record.offered_at),
    )
    return CardView(facts=facts, phase=record.phase, acceptor_user_id=record.acceptor or None)


def _service_code(authorization: Authorization) -> str | None:
    code = authorization.request.service_code if authorization.request else None
    if code is None:
        return None
    return f"{code.system.upper()} {code.code}"


def _report(record: CardRecord) -> OperatorReport | None:
    if not record.report_kind:
        return None
    return OperatorReport(
        closed_by_user_id=record.closed_by,
        kind=record.report_kind,
        reported_outcome=record.report_outcome or None,
        observed_reference_number=record.report_reference or None,
        reason=record.report_reason or None,
    )


def _reconciled(record: CardRecord, authorization: Authorization) -> Reconciled | None:
    if not record.settled_at:
        return None
    receipt = authorization.submission.payer_receipt if authorization.submission else None
    next_action = authorization.next_action
    return Reconciled(
        status=str(authorization.status),
        outcome=authorization.outcome,
        payer_reference=receipt.reference_number if receipt else None,
        next_action_type=next_action.type if next_action else None,
        settled_at=_time(record.settled_at),
    )


def _time(epoch: float) -> datetime | None:
    return datetime.fromtimestamp(epoch, tz=UTC) if epoch else None
