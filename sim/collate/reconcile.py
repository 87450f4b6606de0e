"""Which way reconciliation resolves a closed handoff (D7), before any state is touched."""

from __future__ import annotations

AUTO = "auto"
REOFFER = "requires_action:complete_payer_interaction"
AUTO_BY_REPORTED_OUTCOME = {
    "submitted": "waiting_on_payer",
    "decision_observed": "completed:approved",
    "not_required_observed": "completed:not_required",
    "follow_up_required_observed": "requires_action:resolve_requirements",
}


def resolve(setting: str, handoff_result: str, reported_outcome: str | None) -> str:
    """The concrete result for a close: the setting itself, or the D7 ``auto`` mapping."""
    if setting != AUTO:
        return setting
    if handoff_result == "completed_reported" and reported_outcome is not None:
        return AUTO_BY_REPORTED_OUTCOME[reported_outcome]
    return REOFFER
