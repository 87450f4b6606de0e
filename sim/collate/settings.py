"""The simulator's switchable behaviours (contract §11), changeable while it runs."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

IF_MATCH_MODES = ("authorization", "handoff")
OUTCOMES = ("approved", "denied", "modified", "not_required", "failed")
ACTION_TYPES = (
    "resolve_requirements",
    "continue_authorization",
    "approve_submission",
    "complete_payer_interaction",
)


@dataclass
class SimSettings:
    """Switches named as in the contract's decisions table (D1, D4, D6, D7)."""

    if_match_version: str = "authorization"
    list_honours_status_filter: bool = True
    grant_ttl_seconds: float = 600
    abandon_after_seconds: float = 1800
    reconcile_delay_seconds: float = 5.0
    reconcile_result: str = "auto"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` when a switch holds a value the contract does not define."""
        for field in fields(self):
            if not isinstance(getattr(self, field.name), _TYPES[field.name]):
                raise ValueError(f"{field.name} has the wrong type")
        if self.if_match_version not in IF_MATCH_MODES:
            raise ValueError(f"if_match_version must be one of {IF_MATCH_MODES}")
        for name in ("grant_ttl_seconds", "abandon_after_seconds", "reconcile_delay_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        validate_reconcile_result(self.reconcile_result)

    def update(self, changes: dict[str, Any]) -> None:
        """Apply named changes all at once, or none of them when one is invalid."""
        known = {field.name for field in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(unknown)}")
        candidate = SimSettings(**{**self.as_dict(), **changes})
        for name in changes:
            setattr(self, name, getattr(candidate, name))

    def as_dict(self) -> dict[str, Any]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


_NUMBER = (int, float)
_TYPES: dict[str, type | tuple[type, ...]] = {
    "if_match_version": str,
    "list_honours_status_filter": bool,
    "grant_ttl_seconds": _NUMBER,
    "abandon_after_seconds": _NUMBER,
    "reconcile_delay_seconds": _NUMBER,
    "reconcile_result": str,
}


def validate_reconcile_result(result: str) -> None:
    """``auto``, ``waiting_on_payer``, ``completed:<outcome>`` or ``requires_action:<type>``."""
    kind, _, argument = result.partition(":")
    if result in ("auto", "waiting_on_payer"):
        return
    if kind == "completed" and argument in OUTCOMES:
        return
    if kind == "requires_action" and argument in ACTION_TYPES:
        return
    raise ValueError(f"unknown reconcile_result {result!r}")
