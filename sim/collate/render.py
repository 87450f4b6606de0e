"""Records to the JSON shapes of contract §3 and §4."""

from __future__ import annotations

from typing import Any

from sim.collate import scenarios
from sim.collate.clock import iso
from sim.collate.state import (
    RESOLUTION_KINDS,
    Authorization,
    Grant,
    Handoff,
    Reconciliation,
    ReviewSnapshot,
)

Json = dict[str, Any]
SNAPSHOT_VERSIONS = {"requirementsVersion": 4, "answersVersion": 8, "attachmentsVersion": 2}


def authorization(auth: Authorization) -> Json:
    scenario = auth.scenario
    return {
        "id": auth.id,
        "version": auth.version,
        "status": auth.status,
        "outcome": auth.outcome,
        "payer": scenarios.payer(scenario),
        "request": scenarios.service_request(scenario),
        "nextAction": next_action(auth),
        "activeManualHandoff": active_handoff(auth),
        "submission": {
            "reviewSnapshot": snapshot(auth, auth.snapshot) if auth.snapshot else None,
            "payerReceipt": payer_receipt(auth),
            "decision": decision(auth),
        },
        "metadata": scenarios.fresh(auth.metadata),
        "providerNpi": "1487690012",
        "policy": {"finalSubmission": {"mode": "human_approval"}},
        "route": {"channel": scenario.channel, "payerId": scenario.payer_id},
        "questionnaire": {"id": f"qnr_{scenario.code_system}_{scenario.code}", "version": 3},
        "answers": scenarios.fresh(auth.answers),
        "requirements": [],
        "attachments": scenarios.attachments(scenario),
        "createdAt": iso(auth.created_at),
        "updatedAt": iso(auth.updated_at),
        "completedAt": iso(auth.completed_at),
        "canceledAt": iso(auth.canceled_at),
    }


def next_action(auth: Authorization) -> Json | None:
    if auth.status != "requires_action" or auth.next_action is None:
        return None
    covers: Json = {"priorAuthorizationVersion": auth.next_action_version}
    if auth.snapshot is not None:
        covers["reviewSnapshotId"] = auth.snapshot.id
    return {
        "type": auth.next_action,
        "resolution": {"kind": RESOLUTION_KINDS[auth.next_action]},
        "covers": covers,
    }


def active_handoff(auth: Authorization) -> Json | None:
    handoff = auth.active_handoff
    return None if handoff is None else {"id": handoff.id, "state": handoff.state}


def snapshot(auth: Authorization, review: ReviewSnapshot) -> Json:
    scenario = auth.scenario
    return {
        "id": review.id,
        "status": review.status,
        "kind": "final_payer_submission",
        "generatedAt": iso(review.generated_at),
        "covers": {"priorAuthorizationVersion": review.covers_version, **SNAPSHOT_VERSIONS},
        "summary": scenarios.fresh(review.summary),
        "answers": scenarios.snapshot_answers(scenario),
        "attachments": scenarios.attachments(scenario),
        "warnings": [dict(warning) for warning in review.warnings],
        "transparency": {"liveSessionEndpoint": f"/v1/prior-authorizations/{auth.id}/live-session"},
    }


def payer_receipt(auth: Authorization) -> Json | None:
    receipt = auth.payer_receipt
    if receipt is None:
        return None
    return {"referenceNumber": receipt.reference_number, "receivedAt": iso(receipt.received_at)}


def decision(auth: Authorization) -> Json | None:
    if auth.decision is None:
        return None
    return {"outcome": auth.decision.outcome, "decidedAt": iso(auth.decision.decided_at)}


def handoff(record: Handoff) -> Json:
    return {
        "id": record.id,
        "version": record.version,
        "priorAuthorizationId": record.authorization_id,
        "state": record.state,
        "result": record.result,
        "accessAvailable": record.is_active,
        "finalSubmitCapable": record.final_submit_capable,
        "createdAt": iso(record.created_at),
        "activatedAt": iso(record.created_at),
        "closedAt": iso(record.closed_at),
        "message": record.message,
    }


def grant(record: Grant, base_url: str) -> Json:
    return {
        "id": record.id,
        "url": f"{base_url}/runtime/access/{record.id}",
        "expiresAt": iso(record.expires_at),
    }


def close_response(auth: Authorization, record: Handoff, reconciliation: Reconciliation) -> Json:
    """The D7 shape: the handoff is reported ``closing`` even though reads already see it closed."""
    return {
        "manualHandoffId": record.id,
        "state": "closing",
        "result": record.result,
        "authorization": {"id": auth.id, "version": auth.version, "status": auth.status},
        "reconciliation": {"id": reconciliation.id, "state": "pending"},
    }


def live_session(auth: Authorization) -> Json:
    """Who holds the payer channel right now (§4.5); informational only."""
    record = auth.active_handoff
    automation_owns = auth.status == "processing"
    live = automation_owns or record is not None
    owner: Json | None = None
    if record is not None:
        owner = {"type": "manual_handoff", "manualHandoffId": record.id}
    elif automation_owns:
        owner = {"type": "automation", "manualHandoffId": None}
    return {
        "priorAuthorizationId": auth.id,
        "priorAuthorizationVersion": auth.version,
        "state": "live" if live else "not_live",
        "channel": auth.scenario.channel,
        "owner": owner,
        "access": {"available": live, "supportedModes": ["read_only"]},
        "handoff": _live_handoff(auth, record, automation_owns),
        "safety": {
            "irreversibleBoundaryState": "before_final_submit",
            "finalSubmitCapable": auth.scenario.final_submit_capable,
            "requiresReviewApprovalForSubmit": auth.review_required,
            "reviewSnapshotId": auth.snapshot.id if auth.snapshot else None,
        },
    }


def _live_handoff(auth: Authorization, record: Handoff | None, automation_owns: bool) -> Json:
    if record is not None:
        return {"allowed": False, "state": "active", "reason": None, "manualHandoffId": record.id}
    if auth.offers_handoff:
        return {"allowed": True, "state": "offered", "reason": None, "manualHandoffId": None}
    reason = "automation_owns_processing" if automation_owns else None
    return {"allowed": False, "state": "unavailable", "reason": reason, "manualHandoffId": None}
