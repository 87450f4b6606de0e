"""The three close forms: their input ids, their choices, and parsing what a person submitted.

Input ``block_id`` / ``action_id`` values are stable: Slack keeps what someone typed across a
``views.update`` only while they stay the same, and ``response_action: errors`` names blocks.
A parser returns the form, or ``FormErrors`` keyed by ``block_id`` for the modal to show inline.
Free text is validated here and sent to Collate only; it is never shown in Slack.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from blocks import texts
from blocks.model import FormErrors

REFERENCE_MAX = 64
NOTES_MAX = 2000
OTHER_REASON_MAX = 200

_REFERENCE_CHARS = re.compile(r"[A-Za-z0-9\-_./]+")


class ReportedOutcome(StrEnum):
    """``reportedOutcome`` of complete (contract §4.3)."""

    SUBMITTED = "submitted"
    DECISION_OBSERVED = "decision_observed"
    NOT_REQUIRED_OBSERVED = "not_required_observed"
    FOLLOW_UP_REQUIRED_OBSERVED = "follow_up_required_observed"


class UnableReason(StrEnum):
    """``reason`` of unable-to-complete (contract §4.3)."""

    CHANNEL_BLOCKED = "channel_blocked"
    MISSING_INFORMATION = "missing_information"
    CREDENTIAL_OR_MFA_ISSUE = "credential_or_mfa_issue"
    CHANNEL_OUTAGE = "channel_outage"
    OPERATOR_ABANDONED_CASE = "operator_abandoned_case"
    WRONG_ROUTE = "wrong_route"
    OTHER = "other"


class RevokeReason(StrEnum):
    """The common revoke reasons offered in the modal; ``OTHER`` takes the person's own words."""

    USER_CLOSED_TASK = "user_closed_task"
    ACCEPTED_BY_MISTAKE = "accepted_by_mistake"
    HANDING_OVER = "handing_over"
    CASE_CHANGED = "case_changed"
    OTHER = "other"


COMPLETE_OUTCOME_BLOCK = "complete.outcome"
COMPLETE_OUTCOME_ACTION = "reportedOutcome"
COMPLETE_REFERENCE_BLOCK = "complete.reference"
COMPLETE_REFERENCE_ACTION = "observedReferenceNumber"
COMPLETE_NOTES_BLOCK = "complete.notes"
COMPLETE_NOTES_ACTION = "operatorNotes"

UNABLE_REASON_BLOCK = "unable.reason"
UNABLE_REASON_ACTION = "reason"
UNABLE_NOTES_BLOCK = "unable.notes"
UNABLE_NOTES_ACTION = "operatorNotes"

REVOKE_REASON_BLOCK = "revoke.reason"
REVOKE_REASON_ACTION = "reason"
REVOKE_OTHER_BLOCK = "revoke.other_reason"
REVOKE_OTHER_ACTION = "otherReason"
REVOKE_NOTES_BLOCK = "revoke.notes"
REVOKE_NOTES_ACTION = "notes"


@dataclass(frozen=True)
class CompleteForm:
    reported_outcome: ReportedOutcome
    observed_reference_number: str | None
    operator_notes: str | None


@dataclass(frozen=True)
class UnableForm:
    reason: UnableReason
    operator_notes: str | None


@dataclass(frozen=True)
class RevokeForm:
    reason: str
    """A ``RevokeReason`` value, or the person's own words when they chose "other"."""
    notes: str | None


StateValues = Mapping[str, Any]
"""``view.state.values``: ``{block_id: {action_id: {"type": …, "value" | "selected_option"}}}``."""


def parse_complete(values: StateValues) -> CompleteForm | FormErrors:
    errors: dict[str, str] = {}
    outcome = _choice(values, COMPLETE_OUTCOME_BLOCK, COMPLETE_OUTCOME_ACTION, ReportedOutcome)
    reference = _text(values, COMPLETE_REFERENCE_BLOCK, COMPLETE_REFERENCE_ACTION)
    notes = _text(values, COMPLETE_NOTES_BLOCK, COMPLETE_NOTES_ACTION)

    _check_choice(errors, COMPLETE_OUTCOME_BLOCK, outcome, texts.CHOOSE_OUTCOME)
    _check_reference(errors, COMPLETE_REFERENCE_BLOCK, reference)
    _check_length(errors, COMPLETE_NOTES_BLOCK, notes, NOTES_MAX)

    if errors or not isinstance(outcome, ReportedOutcome):
        return FormErrors(errors)
    return CompleteForm(outcome, reference, notes)


def parse_unable(values: StateValues) -> UnableForm | FormErrors:
    errors: dict[str, str] = {}
    reason = _choice(values, UNABLE_REASON_BLOCK, UNABLE_REASON_ACTION, UnableReason)
    notes = _text(values, UNABLE_NOTES_BLOCK, UNABLE_NOTES_ACTION)

    _check_choice(errors, UNABLE_REASON_BLOCK, reason, texts.CHOOSE_REASON)
    _check_length(errors, UNABLE_NOTES_BLOCK, notes, NOTES_MAX)
    if reason is UnableReason.OTHER and notes is None:
        errors[UNABLE_NOTES_BLOCK] = texts.NOTE_NEEDED

    if errors or not isinstance(reason, UnableReason):
        return FormErrors(errors)
    return UnableForm(reason, notes)


def parse_revoke(values: StateValues) -> RevokeForm | FormErrors:
    errors: dict[str, str] = {}
    reason = _choice(values, REVOKE_REASON_BLOCK, REVOKE_REASON_ACTION, RevokeReason)
    other = _text(values, REVOKE_OTHER_BLOCK, REVOKE_OTHER_ACTION)
    notes = _text(values, REVOKE_NOTES_BLOCK, REVOKE_NOTES_ACTION)

    _check_choice(errors, REVOKE_REASON_BLOCK, reason, texts.CHOOSE_REASON)
    _check_length(errors, REVOKE_OTHER_BLOCK, other, OTHER_REASON_MAX)
    _check_length(errors, REVOKE_NOTES_BLOCK, notes, NOTES_MAX)
    if reason is RevokeReason.OTHER and other is None:
        errors[REVOKE_OTHER_BLOCK] = texts.OTHER_REASON_NEEDED

    if errors or not isinstance(reason, RevokeReason):
        return FormErrors(errors)
    said = other if reason is RevokeReason.OTHER and other is not None else reason.value
    return RevokeForm(said, notes)


class _Invalid:
    """A choice was submitted but is not one the form offers."""


_INVALID = _Invalid()
_Choice = TypeVar("_Choice", bound=StrEnum)


def _choice(
    values: StateValues, block_id: str, action_id: str, choices: type[_Choice]
) -> _Choice | _Invalid | None:
    selected = _entry(values, block_id, action_id).get("selected_option")
    if not isinstance(selected, Mapping):
        return None
    value = selected.get("value")
    if not isinstance(value, str) or value not in {choice.value for choice in choices}:
        return _INVALID
    return choices(value)


def _text(values: StateValues, block_id: str, action_id: str) -> str | None:
    """The typed text, stripped; ``None`` when nothing (or only whitespace) was typed."""
    value = _entry(values, block_id, action_id).get("value")
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _entry(values: StateValues, block_id: str, action_id: str) -> Mapping[str, Any]:
    block = values.get(block_id)
    entry = block.get(action_id) if isinstance(block, Mapping) else None
    return entry if isinstance(entry, Mapping) else {}


def _check_choice(errors: dict[str, str], block_id: str, choice: object, missing: str) -> None:
    if choice is None:
        errors[block_id] = missing
    elif isinstance(choice, _Invalid):
        errors[block_id] = texts.UNKNOWN_CHOICE


def _check_reference(errors: dict[str, str], block_id: str, reference: str | None) -> None:
    if reference is None:
        return
    if len(reference) > REFERENCE_MAX:
        errors[block_id] = texts.too_long(REFERENCE_MAX)
    elif not _REFERENCE_CHARS.fullmatch(reference):
        errors[block_id] = texts.REFERENCE_CHARSET


def _check_length(errors: dict[str, str], block_id: str, text: str | None, limit: int) -> None:
    if text is not None and len(text) > limit:
        errors[block_id] = texts.too_long(limit)
