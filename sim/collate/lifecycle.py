"""The authorization and handoff lifecycle of contract §5, applied to the simulator's records.

Every method is synchronous, so that one request's checks and changes happen without another
request running in between. Times are passed in explicitly: a transition that fell due while the
clock was fast-forwarded is stamped with the moment it fell due, not the moment it was noticed.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from functools import partial
from typing import Any

from sim.collate import errors, reconcile, rules, scenarios
from sim.collate.clock import SimClock
from sim.collate.ids import new_id
from sim.collate.settings import SimSettings
from sim.collate.state import (
    OFFER_ACTION,
    Authorization,
    CloseReport,
    Decision,
    Grant,
    Handoff,
    PayerReceipt,
    Reconciliation,
    ReviewSnapshot,
)

RESULT_BY_ENDPOINT = {
    "complete": "completed_reported",
    "unable-to-complete": "unable_to_complete",
    "revoke": "revoked",
}
DueEvent = tuple[float, Callable[[float], None]]


class SimState:
    """All authorizations, handoffs and grants, and the rules that move them."""

    def __init__(self, settings: SimSettings, clock: SimClock) -> None:
        self.settings = settings
        self.clock = clock
        self.authorizations: dict[str, Authorization] = {}
        self.grants: dict[str, Grant] = {}
        self._scenarios_used = 0

    # Lookups

    def authorization(self, authorization_id: str) -> Authorization:
        auth = self.authorizations.get(authorization_id)
        if auth is None:
            raise errors.authorization_not_found(authorization_id)
        return auth

    def handoff(self, authorization_id: str, handoff_id: str) -> tuple[Authorization, Handoff]:
        auth = self.authorization(authorization_id)
        record = auth.handoffs.get(handoff_id)
        if record is None:
            raise errors.handoff_not_found(handoff_id)
        return auth, record

    def page(
        self, status: str | None, limit: int, after_id: str | None
    ) -> tuple[list[Authorization], str | None]:
        """One page of the list in creation order, and the id to continue after (or ``None``)."""
        items = list(self.authorizations.values())
        if after_id is not None:
            items = items[list(self.authorizations).index(after_id) + 1 :]
        if status is not None and self.settings.list_honours_status_filter:
            items = [auth for auth in items if auth.status == status]
        page = items[:limit]
        continue_after = page[-1].id if len(items) > limit else None
        return page, continue_after

    # Setup

    def add(
        self,
        *,
        status: str,
        next_action: str | None,
        review: bool,
        case_id: str | None,
        payer_id: str | None,
        summary: dict[str, Any] | None,
        warnings: list[dict[str, Any]] | None,
        metadata: dict[str, Any] | None,
    ) -> Authorization:
        """A new authorization, created ``processing`` and then moved to ``status``."""
        rules.check_values(status, next_action)
        summary, warnings = copy.deepcopy(summary), copy.deepcopy(warnings)
        scenario = scenarios.pick_scenario(self._scenarios_used, payer_id)
        self._scenarios_used += 1
        now = self.clock.now()
        auth = Authorization(
            id=new_id("auth"),
            scenario=scenario,
            created_at=now,
            updated_at=now,
            metadata=scenarios.customer_metadata(metadata, case_id),
            summary=scenarios.review_summary(scenario) if summary is None else summary,
            warnings=scenarios.review_warnings(scenario) if warnings is None else warnings,
            answers=scenarios.authorization_answers(scenario),
            review_required=review,
        )
        self.authorizations[auth.id] = auth
        if status == "requires_action":
            self._require_action(auth, next_action, review=review, at=now)
        elif status != "processing":
            self._move(auth, status, None, None, now)
        return auth

    # E3, E5, E6-E8

    def accept(
        self, auth: Authorization, expected_version: int, snapshot_id: str | None
    ) -> tuple[Handoff, bool]:
        """The active handoff, and whether this call created it (E3 order of checks)."""
        rules.check_version("Authorization", expected_version, auth.version)
        existing = auth.active_handoff
        if existing is not None:
            return existing, False
        if not auth.offers_handoff:
            raise errors.conflict(
                "manual_handoff_not_allowed",
                f"No manual handoff can be accepted while the authorization is {auth.status}.",
            )
        rules.check_review(auth, snapshot_id)
        return self._open_handoff(auth), True

    def mint_grant(self, record: Handoff) -> Grant:
        if not record.is_active:
            raise errors.not_actionable(f"Manual handoff is {record.state}, not active.")
        now = self.clock.now()
        grant = Grant(
            id=new_id("rag"),
            authorization_id=record.authorization_id,
            handoff_id=record.id,
            expires_at=now + self.settings.grant_ttl_seconds,
        )
        self.grants[grant.id] = grant
        record.grant_ids.append(grant.id)
        record.last_mint_at = now
        return grant

    def close(
        self, auth: Authorization, record: Handoff, expected_version: int, report: CloseReport
    ) -> Reconciliation:
        """An operator's close (E6-E8), after the version and state checks."""
        if self.settings.if_match_version == "handoff":
            rules.check_version("Manual handoff", expected_version, record.version)
        else:
            rules.check_version("Authorization", expected_version, auth.version)
        if not record.is_active:
            raise errors.not_actionable(f"Manual handoff is {record.state}, not active.")
        record.close_report = report
        auth.closes += 1
        return self._close(
            auth,
            record,
            RESULT_BY_ENDPOINT[report.endpoint],
            self.clock.now(),
            reported_outcome=report.reported_outcome,
            reference_number=report.observed_reference_number,
        )

    def open_grant(self, grant_id: str) -> Grant:
        """Validate and audit an access URL being opened."""
        grant = self.check_grant(grant_id)
        grant.opens += 1
        return grant

    def check_grant(self, grant_id: str) -> Grant:
        """The grant behind an access URL, if a person may still use it."""
        grant = self.grants.get(grant_id)
        if grant is None or grant.ended_reason == "access_grant_revoked":
            raise errors.NotFoundError("access_grant_revoked", "This access link was revoked.")
        if grant.ended_reason == "channel_session_lost":
            raise errors.NotFoundError("channel_session_lost", "The payer channel was lost.")
        if self.clock.now() >= grant.expires_at:
            raise errors.NotFoundError("access_grant_expired", "This access link has expired.")
        return grant

    def write_answers(self, auth: Authorization, answers: dict[str, Any]) -> None:
        if auth.active_handoff is not None or auth.is_terminal:
            raise errors.conflict(
                "prior_authorization_not_mutable", "Answers cannot change now (D3)."
            )
        auth.answers.update(answers)
        auth.bump(self.clock.now())

    # Collate-side events (control surface)

    def offer(self, auth: Authorization, *, review: bool) -> None:
        self._check_movable(auth)
        auth.review_required = review
        auth.reconciliation = None
        self._require_action(auth, OFFER_ACTION, review=review, at=self.clock.now())

    def set_status(
        self, auth: Authorization, status: str, next_action: str | None, outcome: str | None
    ) -> None:
        rules.check_values(status, next_action, outcome)
        if next_action is not None and status != "requires_action":
            raise ValueError("next_action only goes with status requires_action")
        if status == "canceled":
            self.cancel(auth)
            return
        self._check_movable(auth)
        auth.reconciliation = None
        self._move(auth, status, next_action, outcome, self.clock.now())

    def replace_snapshot(self, auth: Authorization) -> str:
        if auth.is_terminal:
            raise errors.SimControlError(f"{auth.id} is {auth.status}")
        now = self.clock.now()
        auth.bump(now)
        snapshot = self._new_snapshot(auth, now)
        if auth.next_action is not None:
            auth.next_action_version = auth.version
        return snapshot.id

    def expire_grants(self, auth: Authorization) -> None:
        now = self.clock.now()
        for record in auth.handoffs.values():
            for grant_id in record.grant_ids:
                grant = self.grants[grant_id]
                grant.expires_at = min(grant.expires_at, now)

    def lose_channel(self, auth: Authorization) -> None:
        record = rules.require_active(auth)
        self._close(
            auth,
            record,
            "interaction_lost_unrecoverable",
            self.clock.now(),
            grant_end="channel_session_lost",
        )

    def abandon(self, auth: Authorization) -> None:
        self._close(auth, rules.require_active(auth), "expired", self.clock.now())

    def cancel(self, auth: Authorization) -> None:
        if auth.is_terminal:
            raise errors.SimControlError(f"{auth.id} is already {auth.status}")
        now = self.clock.now()
        record = auth.active_handoff
        if record is not None:
            self._end_handoff(record, "canceled", now, "access_grant_revoked")
        auth.active_handoff_id = None
        auth.reconciliation = None
        auth.status = "canceled"
        auth.next_action = None
        auth.canceled_at = now
        auth.bump(now)

    # Time

    def run_due(self) -> None:
        """Apply abandonments and reconciliations that fell due, oldest first."""
        now = self.clock.now()
        while (event := self._earliest_due(now)) is not None:
            due_at, apply = event
            apply(due_at)

    def _earliest_due(self, now: float) -> DueEvent | None:
        earliest: DueEvent | None = None
        for auth in self.authorizations.values():
            for event in self._due_events(auth):
                if event[0] <= now and (earliest is None or event[0] < earliest[0]):
                    earliest = event
        return earliest

    def _due_events(self, auth: Authorization) -> list[DueEvent]:
        events: list[DueEvent] = []
        record = auth.active_handoff
        if record is not None:
            due_at = record.last_mint_at + self.settings.abandon_after_seconds
            events.append((due_at, partial(self._expire_idle, auth, record)))
        if auth.reconciliation is not None:
            events.append((auth.reconciliation.due_at, partial(self._reconcile, auth)))
        return events

    # Transitions

    def _open_handoff(self, auth: Authorization) -> Handoff:
        now = self.clock.now()
        record = Handoff(
            id=new_id("mhand"),
            authorization_id=auth.id,
            created_at=now,
            last_mint_at=now,
            final_submit_capable=auth.scenario.final_submit_capable,
            message=auth.scenario.handoff_message,
        )
        auth.handoffs[record.id] = record
        auth.active_handoff_id = record.id
        auth.handoff_creates += 1
        auth.bump(now)
        return record

    def _close(
        self,
        auth: Authorization,
        record: Handoff,
        result: str,
        at: float,
        *,
        reported_outcome: str | None = None,
        reference_number: str | None = None,
        grant_end: str = "access_grant_revoked",
    ) -> Reconciliation:
        """L4-L6: the handoff closes, the authorization goes to ``processing`` to reconcile."""
        self._end_handoff(record, result, at, grant_end)
        auth.active_handoff_id = None
        auth.status = "processing"
        auth.next_action = None
        auth.bump(at)
        auth.reconciliation = Reconciliation(
            id=new_id("rec"),
            due_at=at + self.settings.reconcile_delay_seconds,
            handoff_result=result,
            reported_outcome=reported_outcome,
            reference_number=reference_number,
        )
        return auth.reconciliation

    def _expire_idle(self, auth: Authorization, record: Handoff, at: float) -> None:
        """L5: no grant was minted within the abandonment window (D6)."""
        self._close(auth, record, "expired", at)

    def _end_handoff(self, record: Handoff, result: str, at: float, grant_end: str) -> None:
        record.state = "closing"
        record.result = result
        record.version += 1
        for grant_id in record.grant_ids:
            grant = self.grants[grant_id]
            if grant.ended_reason is None and at < grant.expires_at:
                grant.ended_reason = grant_end
        record.state = "closed"
        record.closed_at = at
        record.version += 1

    def _reconcile(self, auth: Authorization, at: float) -> None:
        """L8-L10. Only an authorization still ``processing`` is resolved."""
        reconciliation = auth.reconciliation
        auth.reconciliation = None
        if reconciliation is None or auth.status != "processing":
            return
        setting = auth.reconcile_override or self.settings.reconcile_result
        resolved = reconcile.resolve(
            setting, reconciliation.handoff_result, reconciliation.reported_outcome
        )
        kind, _, argument = resolved.partition(":")
        if kind == "waiting_on_payer":
            self._wait_on_payer(auth, reconciliation.reference_number, at)
        elif kind == "completed":
            self._complete(auth, argument, reconciliation.reference_number, at)
        else:
            review = auth.review_required if argument == OFFER_ACTION else None
            self._require_action(auth, argument, review=review, at=at)

    def _move(
        self,
        auth: Authorization,
        status: str,
        next_action: str | None,
        outcome: str | None,
        at: float,
    ) -> None:
        if status == "requires_action":
            review = auth.review_required if next_action == OFFER_ACTION else None
            self._require_action(auth, next_action, review=review, at=at)
        elif status == "processing":
            auth.status = "processing"
            auth.next_action = None
            auth.bump(at)
        elif status == "waiting_on_payer":
            self._wait_on_payer(auth, None, at)
        elif status == "completed":
            self._complete(auth, outcome or "approved", None, at)
        else:
            self.cancel(auth)

    def _require_action(
        self, auth: Authorization, action: str | None, *, review: bool | None, at: float
    ) -> None:
        """``review``: ``True`` issues a new snapshot, ``False`` drops it, ``None`` keeps it."""
        auth.status = "requires_action"
        auth.next_action = action
        auth.bump(at)
        if review:
            self._new_snapshot(auth, at)
        elif review is False:
            self._retire_snapshot(auth)
        auth.next_action_version = auth.version

    def _wait_on_payer(self, auth: Authorization, reference_number: str | None, at: float) -> None:
        auth.status = "waiting_on_payer"
        auth.next_action = None
        reference = reference_number or scenarios.payer_reference(auth.scenario)
        auth.payer_receipt = PayerReceipt(reference_number=reference, received_at=at)
        auth.bump(at)

    def _complete(
        self, auth: Authorization, outcome: str, reference_number: str | None, at: float
    ) -> None:
        auth.status = "completed"
        auth.next_action = None
        auth.outcome = outcome
        auth.completed_at = at
        auth.decision = Decision(outcome=outcome, decided_at=at)
        if reference_number and auth.payer_receipt is None:
            auth.payer_receipt = PayerReceipt(reference_number=reference_number, received_at=at)
        auth.bump(at)

    def _new_snapshot(self, auth: Authorization, at: float) -> ReviewSnapshot:
        self._retire_snapshot(auth)
        auth.snapshot = ReviewSnapshot(
            id=new_id("rev"),
            generated_at=at,
            covers_version=auth.version,
            summary=copy.deepcopy(auth.summary),
            warnings=copy.deepcopy(auth.warnings),
        )
        return auth.snapshot

    def _retire_snapshot(self, auth: Authorization) -> None:
        if auth.snapshot is not None:
            auth.snapshot.status = "superseded"
            auth.stale_snapshot_ids.add(auth.snapshot.id)
        auth.snapshot = None

    def _check_movable(self, auth: Authorization) -> None:
        if auth.is_terminal:
            raise errors.SimControlError(f"{auth.id} is {auth.status}, which is terminal")
        if auth.active_handoff is not None:
            raise errors.SimControlError(
                f"{auth.id} has an active handoff: use lose_channel, abandon_handoff or "
                "cancel_authorization first"
            )
