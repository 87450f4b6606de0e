"""The simulator's own records: plain dataclasses, independent of the bot's models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sim.collate.scenarios import Scenario

TERMINAL_STATUSES = frozenset({"completed", "canceled"})
STATUSES = ("requires_action", "processing", "waiting_on_payer", "completed", "canceled")
RESOLUTION_KINDS = {
    "resolve_requirements": "update_authorization",
    "continue_authorization": "confirm",
    "approve_submission": "confirm",
    "complete_payer_interaction": "manual_handoff",
}
OFFER_ACTION = "complete_payer_interaction"


@dataclass
class ReviewSnapshot:
    id: str
    generated_at: float
    covers_version: int
    summary: dict[str, Any]
    warnings: list[dict[str, Any]]
    status: str = "current"


@dataclass
class Grant:
    id: str
    authorization_id: str
    handoff_id: str
    expires_at: float
    ended_reason: str | None = None
    """``access_grant_revoked`` or ``channel_session_lost`` when it ended before expiring."""
    opens: int = 0


@dataclass
class CloseReport:
    """What the operator claimed when closing (kept for tests; never part of the API)."""

    endpoint: str
    reported_outcome: str | None = None
    observed_reference_number: str | None = None
    reason: str | None = None
    notes: str | None = None


@dataclass
class Handoff:
    id: str
    authorization_id: str
    created_at: float
    last_mint_at: float
    final_submit_capable: bool
    message: str | None
    version: int = 1
    state: str = "active"
    result: str | None = None
    closed_at: float | None = None
    grant_ids: list[str] = field(default_factory=list)
    close_report: CloseReport | None = None

    @property
    def is_active(self) -> bool:
        return self.state == "active"


@dataclass
class Reconciliation:
    """A pending reconciliation. Its direction is decided when it falls due (D7)."""

    id: str
    due_at: float
    handoff_result: str
    reported_outcome: str | None = None
    reference_number: str | None = None


@dataclass
class PayerReceipt:
    reference_number: str
    received_at: float


@dataclass
class Decision:
    outcome: str
    decided_at: float


@dataclass
class Authorization:
    id: str
    scenario: Scenario
    created_at: float
    metadata: dict[str, Any]
    summary: dict[str, Any]
    warnings: list[dict[str, Any]]
    answers: dict[str, Any]
    review_required: bool
    version: int = 1
    status: str = "processing"
    updated_at: float = 0.0
    next_action: str | None = None
    next_action_version: int | None = None
    snapshot: ReviewSnapshot | None = None
    stale_snapshot_ids: set[str] = field(default_factory=set)
    outcome: str | None = None
    completed_at: float | None = None
    canceled_at: float | None = None
    payer_receipt: PayerReceipt | None = None
    decision: Decision | None = None
    handoffs: dict[str, Handoff] = field(default_factory=dict)
    active_handoff_id: str | None = None
    reconciliation: Reconciliation | None = None
    reconcile_override: str | None = None
    handoff_creates: int = 0
    closes: int = 0

    @property
    def active_handoff(self) -> Handoff | None:
        if self.active_handoff_id is None:
            return None
        return self.handoffs[self.active_handoff_id]

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def offers_handoff(self) -> bool:
        return self.status == "requires_action" and self.next_action == OFFER_ACTION

    def bump(self, at: float) -> None:
        self.version += 1
        self.updated_at = at
