"""Collate's objects as the bot reads them (contract §3 and §4), and nothing more.

Attributes are snake_case; the wire names (camelCase) are the aliases, and either spelling
populates a model. Unknown fields are dropped on purpose: Collate's docs grow, and fields the bot
must never hold (``answers``, which carry patient data) are simply not modelled. Every model is
frozen: a read is a snapshot of the case at one ``version``.

``parse_response`` turns a JSON body into a model, and a missing or invalid field into a
``CollateProtocolError`` that names the field by its wire path and shows none of the body.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
)
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

from bot.collate.errors import CollateProtocolError


def _null_as(empty: Callable[[], Any]) -> BeforeValidator:
    """Read an explicit JSON ``null`` as the empty value of the field's type."""
    return BeforeValidator(lambda value: empty() if value is None else value)


_Object = Annotated[dict[str, Any], _null_as(dict)]
_Array = Annotated[list[Any], _null_as(list)]


class CollateModel(BaseModel):
    """Base of every Collate object: camelCase aliases, unknown fields ignored, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
    )


class AuthorizationStatus(StrEnum):
    """The authorization lifecycle (contract §5)."""

    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    WAITING_ON_PAYER = "waiting_on_payer"
    COMPLETED = "completed"
    CANCELED = "canceled"


class NextActionType(StrEnum):
    """Known ``nextAction.type`` values. The field itself stays a plain string."""

    RESOLVE_REQUIREMENTS = "resolve_requirements"
    CONTINUE_AUTHORIZATION = "continue_authorization"
    APPROVE_SUBMISSION = "approve_submission"
    COMPLETE_PAYER_INTERACTION = "complete_payer_interaction"


class HandoffState(StrEnum):
    """``ManualHandoff.state``. ``offered`` is treated as "not usable yet"."""

    OFFERED = "offered"
    ACTIVE = "active"
    CLOSING = "closing"
    CLOSED = "closed"


class HandoffResult(StrEnum):
    """Known ``ManualHandoff.result`` values (contract §4.1). The field stays a plain string."""

    COMPLETED_REPORTED = "completed_reported"
    UNABLE_TO_COMPLETE = "unable_to_complete"
    EXPIRED = "expired"
    REVOKED = "revoked"
    INTERACTION_LOST_UNRECOVERABLE = "interaction_lost_unrecoverable"
    CANCELED = "canceled"


class ReportedOutcome(StrEnum):
    """``reportedOutcome`` values for ``complete`` (contract §4.3)."""

    SUBMITTED = "submitted"
    DECISION_OBSERVED = "decision_observed"
    NOT_REQUIRED_OBSERVED = "not_required_observed"
    FOLLOW_UP_REQUIRED_OBSERVED = "follow_up_required_observed"


class UnableToCompleteReason(StrEnum):
    """``reason`` values for ``unable_to_complete`` (contract §4.3)."""

    CHANNEL_BLOCKED = "channel_blocked"
    MISSING_INFORMATION = "missing_information"
    CREDENTIAL_OR_MFA_ISSUE = "credential_or_mfa_issue"
    CHANNEL_OUTAGE = "channel_outage"
    OPERATOR_ABANDONED_CASE = "operator_abandoned_case"
    WRONG_ROUTE = "wrong_route"
    OTHER = "other"


class Resolution(CollateModel):
    kind: str


class Covers(CollateModel):
    """The versions a next action was issued against. Keys other than the snapshot are kept."""

    model_config = ConfigDict(extra="allow")

    review_snapshot_id: str | None = None


class NextAction(CollateModel):
    type: str
    resolution: Resolution
    covers: Covers = Field(default_factory=Covers)


class ActiveHandoffRef(CollateModel):
    """``activeManualHandoff``: a hint that a handoff was accepted (D3)."""

    id: str
    state: HandoffState


class Payer(CollateModel):
    id: str
    display_name: str | None = None


class ServiceCode(CollateModel):
    system: str
    code: str


class ServiceRequest(CollateModel):
    payer_id: str | None = None
    coverage_state: str | None = None
    request_type: str | None = None
    service_code: ServiceCode | None = None


class SnapshotWarning(CollateModel):
    code: str
    message: str


class ReviewSnapshot(CollateModel):
    """What the accepting person reviews (contract §3). ``summary`` may carry PHI (D10)."""

    id: str
    status: str
    kind: str
    generated_at: datetime
    summary: _Object = Field(default_factory=dict, repr=False)
    warnings: Annotated[list[SnapshotWarning], _null_as(list)] = Field(default_factory=list)
    attachments: _Array = Field(default_factory=list, repr=False)

    @property
    def is_current(self) -> bool:
        """Only a ``current`` snapshot can be accepted; any other status is stale."""
        return self.status == "current"


class PayerReceipt(CollateModel):
    reference_number: str | None = None


class Submission(CollateModel):
    review_snapshot: ReviewSnapshot | None = None
    payer_receipt: PayerReceipt | None = None
    decision: dict[str, Any] | None = Field(default=None, repr=False)


class Authorization(CollateModel):
    """A prior authorization at one ``version``: the truth about the case (contract §3)."""

    id: str
    version: int
    status: AuthorizationStatus
    next_action: NextAction | None = None
    active_manual_handoff: ActiveHandoffRef | None = None
    outcome: str | None = None
    payer: Payer | None = None
    request: ServiceRequest | None = None
    submission: Submission | None = None
    metadata: _Object = Field(default_factory=dict, repr=False)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    completed_at: datetime | None = None
    canceled_at: datetime | None = None

    @property
    def offers_manual_handoff(self) -> bool:
        """Collate offers a manual handoff now: the only test for an offer (safety rule 1)."""
        action = self.next_action
        return (
            self.status is AuthorizationStatus.REQUIRES_ACTION
            and action is not None
            and action.type == NextActionType.COMPLETE_PAYER_INTERACTION
            and action.resolution.kind == "manual_handoff"
        )

    @property
    def required_review_snapshot_id(self) -> str | None:
        """The snapshot the next action requires the acceptor to have reviewed (rule 3)."""
        if self.next_action is None:
            return None
        return self.next_action.covers.review_snapshot_id

    @property
    def current_review_snapshot(self) -> ReviewSnapshot | None:
        """``submission.reviewSnapshot`` when it is current, else ``None``."""
        snapshot = self.submission.review_snapshot if self.submission else None
        if snapshot is None or not snapshot.is_current:
            return None
        return snapshot

    @property
    def case_reference(self) -> str | None:
        """``metadata.externalCaseId``: the case reference that is safe to show people."""
        reference = self.metadata.get("externalCaseId")
        return reference if isinstance(reference, str) else None

    @property
    def is_final(self) -> bool:
        """``completed`` or ``canceled``: terminal, the bot stops all writes."""
        return self.status in (AuthorizationStatus.COMPLETED, AuthorizationStatus.CANCELED)


class ManualHandoff(CollateModel):
    """A manual handoff (contract §4.1). ``result`` is the operator's claim, never payer truth."""

    id: str
    version: int
    prior_authorization_id: str
    state: HandoffState
    result: str | None = None
    access_available: bool = False
    final_submit_capable: bool = False
    created_at: datetime
    activated_at: datetime | None = None
    closed_at: datetime | None = None
    message: str | None = None


class AccessGrant(CollateModel):
    """An interactive access grant. ``url`` is a bearer capability: it never shows in repr/str."""

    id: str
    url: SecretStr
    expires_at: datetime


class CloseAuthorization(CollateModel):
    id: str
    version: int
    status: AuthorizationStatus


class Reconciliation(CollateModel):
    id: str
    state: str


class CloseResult(CollateModel):
    """The answer to complete, unable-to-complete and revoke (D7)."""

    manual_handoff_id: str
    state: HandoffState
    result: str
    authorization: CloseAuthorization
    reconciliation: Reconciliation


class Pagination(CollateModel):
    next_cursor: str | None = None


class AuthorizationPage(CollateModel):
    """One page of the list endpoint (D4)."""

    data: list[Authorization]
    pagination: Pagination


ModelT = TypeVar("ModelT", bound=CollateModel)


def parse_response(model: type[ModelT], payload: Any, root: str) -> ModelT:
    """Validate a decoded JSON body, naming the first bad field as ``root.wire.path``."""
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        first = error.errors(include_url=False, include_input=False, include_context=False)[0]
        raise _protocol_error(first, root) from None


def _protocol_error(detail: ErrorDetails, root: str) -> CollateProtocolError:
    path = _field_path(root, detail["loc"])
    if detail["type"] == "missing":
        problem = f"missing required field {path}"
    else:
        problem = f"invalid field {path} ({detail['type']})"
    return CollateProtocolError("protocol_error", problem, field_path=path)


def _field_path(root: str, location: tuple[int | str, ...]) -> str:
    path = root
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path
