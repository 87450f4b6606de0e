"""Reading what a request says: bodies, ``If-Match``, close bodies (§4.3) and list queries (D4)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from multidict import MultiMapping

from sim.collate.errors import ApiError, bad_request, issue
from sim.collate.state import STATUSES, CloseReport

REPORTED_OUTCOMES = (
    "submitted",
    "decision_observed",
    "not_required_observed",
    "follow_up_required_observed",
)
UNABLE_REASONS = (
    "channel_blocked",
    "missing_information",
    "credential_or_mfa_issue",
    "channel_outage",
    "operator_abandoned_case",
    "wrong_route",
    "other",
)
NOTES_FIELD = {
    "complete": "operatorNotes",
    "unable-to-complete": "operatorNotes",
    "revoke": "notes",
}
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
_IF_MATCH = re.compile(r'"([0-9]+)"')
_NOT_JSON = object()


@dataclass(frozen=True)
class RequestBody:
    """A request body as bytes, as JSON when it parses, and as a fingerprint for idempotency."""

    raw: bytes
    parsed: Any

    @classmethod
    def of(cls, raw: bytes) -> RequestBody:
        if not raw.strip():
            return cls(raw, None)
        try:
            return cls(raw, json.loads(raw))
        except ValueError:
            return cls(raw, _NOT_JSON)

    @property
    def json(self) -> Any:
        """The parsed body, or ``None`` when it is empty or not JSON."""
        return None if self.parsed is _NOT_JSON else self.parsed

    @property
    def fingerprint(self) -> str:
        """Equal for equal JSON, whatever its key order or spacing."""
        if self.parsed is _NOT_JSON:
            return "raw:" + hashlib.sha256(self.raw).hexdigest()
        return json.dumps(self.parsed, sort_keys=True, separators=(",", ":"))

    def object(self, *, empty_allowed: bool) -> dict[str, Any]:
        if self.parsed is None and empty_allowed:
            return {}
        if self.parsed is _NOT_JSON:
            raise bad_request("The body is not valid JSON.", issue("body", "not valid JSON"))
        if not isinstance(self.parsed, dict):
            raise bad_request("The body must be a JSON object.", issue("body", "not an object"))
        return self.parsed


@dataclass(frozen=True)
class ListQuery:
    status: str | None
    limit: int
    after_id: str | None


def if_match_version(headers: Mapping[str, str]) -> int:
    """The integer inside a quoted ``If-Match`` value (§7)."""
    value = headers.get("If-Match")
    if value is None:
        raise bad_request("If-Match is required.", issue("If-Match", "missing"))
    match = _IF_MATCH.fullmatch(value.strip())
    if match is None:
        raise bad_request(
            'If-Match must be a quoted integer version, e.g. "18".',
            issue("If-Match", "not a quoted integer"),
        )
    return int(match.group(1))


def accepted_snapshot_id(body: RequestBody) -> str | None:
    fields = body.object(empty_allowed=True)
    value = fields.get("acceptedReviewSnapshotId")
    if value is not None and not isinstance(value, str):
        raise bad_request(
            "acceptedReviewSnapshotId must be a string.",
            issue("acceptedReviewSnapshotId", "not a string"),
        )
    return value


def close_report(endpoint: str, body: RequestBody) -> CloseReport:
    """E6-E8 bodies; D8 notes under either name, the endpoint's documented name first."""
    fields = body.object(empty_allowed=False)
    problems: list[dict[str, str]] = []
    report = CloseReport(endpoint=endpoint)
    if endpoint == "complete":
        report.reported_outcome = _enum(fields, "reportedOutcome", REPORTED_OUTCOMES, problems)
        report.observed_reference_number = _text(fields, "observedReferenceNumber", problems)
    elif endpoint == "unable-to-complete":
        report.reason = _enum(fields, "reason", UNABLE_REASONS, problems)
    else:
        report.reason = _free_text(fields, "reason", problems)
    report.notes = _notes(fields, NOTES_FIELD[endpoint], problems)
    if problems:
        raise bad_request("The close request is not valid.", *problems)
    return report


def list_query(query: MultiMapping[str]) -> ListQuery:
    problems: list[dict[str, str]] = []
    status = _single(query, "status", problems)
    if status is not None and status not in STATUSES:
        problems.append(issue("status", f"must be one of {', '.join(STATUSES)}"))
    limit = _limit(_single(query, "limit", problems), problems)
    cursor = _single(query, "cursor", problems)
    after_id = _decode_cursor(cursor, problems) if cursor is not None else None
    if problems:
        raise bad_request("The list query is not valid.", *problems)
    return ListQuery(status=status, limit=limit, after_id=after_id)


def encode_cursor(after_id: str) -> str:
    token = json.dumps({"after": after_id}).encode()
    return base64.urlsafe_b64encode(token).decode().rstrip("=")


def cursor_error() -> ApiError:
    return bad_request("The cursor is not valid.", issue("cursor", "unknown cursor"))


def _decode_cursor(cursor: str, problems: list[dict[str, str]]) -> str | None:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        decoded = None
    after = decoded.get("after") if isinstance(decoded, dict) else None
    if not isinstance(after, str):
        problems.append(issue("cursor", "not a cursor from this API"))
        return None
    return after


def _single(query: MultiMapping[str], name: str, problems: list[dict[str, str]]) -> str | None:
    values = query.getall(name, [])
    if len(values) > 1:
        problems.append(issue(name, "given more than once"))
    return values[0] if values else None


def _limit(value: str | None, problems: list[dict[str, str]]) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if value.isdigit() and 1 <= int(value) <= MAX_LIMIT:
        return int(value)
    problems.append(issue("limit", f"must be an integer from 1 to {MAX_LIMIT}"))
    return DEFAULT_LIMIT


def _enum(
    fields: dict[str, Any], name: str, allowed: tuple[str, ...], problems: list[dict[str, str]]
) -> str | None:
    value = fields.get(name)
    if value is None:
        problems.append(issue(name, "required"))
        return None
    if value not in allowed:
        problems.append(issue(name, f"must be one of {', '.join(allowed)}"))
        return None
    return str(value)


def _free_text(fields: dict[str, Any], name: str, problems: list[dict[str, str]]) -> str | None:
    value = fields.get(name)
    if not isinstance(value, str) or not value.strip():
        problems.append(issue(name, "required, as non-empty text"))
        return None
    return value


def _text(fields: dict[str, Any], name: str, problems: list[dict[str, str]]) -> str | None:
    value = fields.get(name)
    if value is not None and not isinstance(value, str):
        problems.append(issue(name, "must be a string"))
        return None
    return value


def _notes(fields: dict[str, Any], documented: str, problems: list[dict[str, str]]) -> str | None:
    other = "notes" if documented == "operatorNotes" else "operatorNotes"
    first = _text(fields, documented, problems)
    second = _text(fields, other, problems)
    return first if documented in fields else second
