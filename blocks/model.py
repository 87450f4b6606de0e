"""What a surface shows, as plain immutable values: the input of every builder in ``blocks``.

The core (``bot``) fills these from Collate's authorization and the bot's own records; the
builders turn them into Block Kit and do no I/O. Only the minimum necessary reaches a view:
case reference, payer, service code, states, people and times. The review snapshot's summary is
carried raw and filtered by the builders against the allow-list they are given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, TypedDict


class CardPhase(StrEnum):
    """Every state the channel card can be in."""

    OFFERED = "offered"
    """Collate offers a handoff; nobody has accepted yet. Buttons: accept (or review & accept)."""
    ACCEPTED = "accepted"
    """Someone accepted; the handoff is active.

    Buttons: complete, more (unable, revoke, new link)."""
    CLOSING = "closing"
    """The acceptor (or a supervisor) closed it; Collate is reconciling. No buttons."""
    ENDED_BY_COLLATE = "ended_by_collate"
    """Collate closed the handoff itself: see ``CardView.handoff_result``. No buttons."""
    WAITING_ON_PAYER = "waiting_on_payer"
    """Reconciled: the payer has the submission (``reconciled.payer_reference``). No buttons."""
    COMPLETED = "completed"
    """Reconciled: final, with ``reconciled.outcome``. No buttons."""
    BACK_WITH_COLLATE = "back_with_collate"
    """Reconciled back to ``requires_action`` with another action type. No buttons."""
    REOFFERED = "reoffered"
    """Reconciled back to a new handoff offer, which got its own card (``successor_link``)."""
    WITHDRAWN = "withdrawn"
    """The offer lapsed before anyone accepted (the case moved on or was canceled). No buttons."""
    UNAVAILABLE = "unavailable"
    """Collate no longer knows the authorization (404). No buttons."""


@dataclass(frozen=True)
class CaseFacts:
    """The minimum necessary about a case, safe for a channel message."""

    authorization_id: str
    case_reference: str | None
    """``metadata.externalCaseId``; the builders fall back to the authorization id."""
    payer_name: str | None
    service_code: str | None
    """Already formatted, e.g. ``CPT 72148``."""
    request_type: str | None
    """``inpatient`` | ``outpatient`` | ``drug``."""
    offered_at: datetime | None


@dataclass(frozen=True)
class ReviewView:
    """The review snapshot a handoff offer covers."""

    snapshot_id: str
    warnings: Sequence[str]
    """Warning messages, in Collate's order; always shown in full before acceptance."""
    summary: Mapping[str, Any]
    """``reviewSnapshot.summary`` as Collate sent it (D10); filtered by the builders."""
    attachment_count: int


@dataclass(frozen=True)
class OperatorReport:
    """What the person closing the handoff reported. Never payer truth; notes never included."""

    closed_by_user_id: str
    kind: str
    """``completed_reported`` | ``unable_to_complete`` | ``revoked``."""
    reported_outcome: str | None = None
    """For ``completed_reported``: ``submitted`` | ``decision_observed`` | ..."""
    observed_reference_number: str | None = None
    reason: str | None = None
    """For ``unable_to_complete`` (enum value) and ``revoked`` (a label from the common list)."""


@dataclass(frozen=True)
class Reconciled:
    """What Collate reports about the case after reconciliation: the payer truth."""

    status: str
    outcome: str | None = None
    payer_reference: str | None = None
    next_action_type: str | None = None
    settled_at: datetime | None = None


@dataclass(frozen=True)
class CardView:
    """Everything the channel card shows, in any phase."""

    facts: CaseFacts
    phase: CardPhase
    review: ReviewView | None = None
    review_updated: bool = False
    """The snapshot changed while offered; the card shows an "updated" mark."""
    acceptor_user_id: str | None = None
    accepted_at: datetime | None = None
    handoff_id: str | None = None
    handoff_result: str | None = None
    """For ``ENDED_BY_COLLATE``: ``expired`` | ``interaction_lost_unrecoverable`` | ``canceled``."""
    report: OperatorReport | None = None
    reconciled: Reconciled | None = None
    predecessor_link: str | None = None
    """Permalink of the thread of an earlier card for the same case, for a new offer."""
    successor_link: str | None = None
    """Permalink of the new card that replaced this one (``REOFFERED``)."""


@dataclass(frozen=True)
class GrantView:
    """A freshly minted interactive grant, for the acceptor's DM only. Never persisted."""

    url: str
    expires_at: datetime


@dataclass(frozen=True)
class HandoffDmView:
    """The acceptor's direct message about their handoff."""

    facts: CaseFacts
    handoff_id: str
    grant: GrantView | None
    """``None`` once the handoff closed or the grant expired: the DM then carries no link."""
    closed_summary: str | None = None
    """Why there is no link (e.g. "This handoff is closed."), shown when ``grant`` is None."""
    link_renewable: bool = False
    """With ``grant`` None: the handoff is still active (only the link lapsed), so the DM keeps a
    New link button. False once the handoff is closed."""
    final_submit_capable: bool | None = None
    collate_message: str | None = None
    """``ManualHandoff.message``."""


class SlackMessage(TypedDict):
    """Arguments for ``chat.postMessage`` / ``chat.update``: fallback text and blocks."""

    text: str
    blocks: list[dict[str, Any]]


@dataclass(frozen=True)
class FormErrors:
    """Inline modal errors keyed by ``block_id``, for ``response_action: errors``."""

    errors: Mapping[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.errors)
