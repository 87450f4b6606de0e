"""Checks that decide whether a call may go ahead (contract §7 and D5), with no side effects."""

from __future__ import annotations

from sim.collate import errors
from sim.collate.settings import ACTION_TYPES, OUTCOMES
from sim.collate.state import STATUSES, Authorization, Handoff


def check_version(resource: str, expected: int, actual: int) -> None:
    if expected != actual:
        raise errors.version_conflict(resource, expected, actual)


def check_review(auth: Authorization, snapshot_id: str | None) -> None:
    """D5: the snapshot the person saw must be the current one; a supplied id is always checked."""
    current = auth.snapshot
    if snapshot_id is None and current is None:
        return
    if current is not None and snapshot_id == current.id and current.status == "current":
        return
    raise errors.conflict(
        "review_stale",
        "The accepted review snapshot is missing or no longer current.",
        currentReviewSnapshotId=current.id if current else None,
    )


def require_active(auth: Authorization) -> Handoff:
    record = auth.active_handoff
    if record is None:
        raise errors.SimControlError(f"{auth.id} has no active handoff")
    return record


def check_values(status: str, next_action: str | None, outcome: str | None = None) -> None:
    """Control arguments must use the contract's enums."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    if next_action is not None and next_action not in ACTION_TYPES:
        raise ValueError(f"unknown next action {next_action!r}")
    if outcome is not None and outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
