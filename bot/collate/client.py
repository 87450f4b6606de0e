"""The bot's async Collate client: the calls of contract §2 that a handoff bot may make.

Only E1–E8 and E10 exist here. The live-session grant, answers, attachments, confirm and cancel
endpoints are deliberately absent (safety rules 2 and 5): there is no method to call them by
mistake.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from bot.collate.errors import (
    CollateError,
    CollateProtocolError,
    CollateTransportError,
    RateLimited,
    ServiceUnavailable,
    api_error_class,
)
from bot.collate.models import (
    AccessGrant,
    Authorization,
    AuthorizationPage,
    AuthorizationStatus,
    CloseResult,
    ManualHandoff,
    ModelT,
    parse_response,
)
from bot.collate.retry import RetryPolicy

IfMatchVersion = Literal["authorization", "handoff"]

_log = logging.getLogger(__name__)

_USER_AGENT = "collate-handoff-bot"
_MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class _Route:
    """One endpoint: its method and its path template, which is also what gets logged."""

    method: str
    template: str

    @property
    def operation(self) -> str:
        return f"{self.method} {self.template}"

    def path(self, ids: tuple[str, ...]) -> str:
        """The template with each ``{id}`` replaced by an escaped id, in order."""
        pieces = self.template.split("{id}")
        if len(ids) != len(pieces) - 1 or not all(ids):
            raise ValueError(f"{self.template} needs {len(pieces) - 1} non-empty id(s)")
        escaped = [quote(each, safe="") for each in ids]
        joined = (piece + value for piece, value in zip(pieces[:-1], escaped, strict=True))
        return "".join(joined) + pieces[-1]


_AUTHORIZATIONS = "/v1/prior-authorizations"
_AUTHORIZATION = f"{_AUTHORIZATIONS}/{{id}}"
_HANDOFFS = f"{_AUTHORIZATION}/manual-handoffs"
_HANDOFF = f"{_HANDOFFS}/{{id}}"

HEALTH = _Route("GET", "/health")
LIST_AUTHORIZATIONS = _Route("GET", _AUTHORIZATIONS)
GET_AUTHORIZATION = _Route("GET", _AUTHORIZATION)
CREATE_HANDOFF = _Route("POST", _HANDOFFS)
GET_HANDOFF = _Route("GET", _HANDOFF)
CREATE_ACCESS_GRANT = _Route("POST", f"{_HANDOFF}/access-grants")
COMPLETE = _Route("POST", f"{_HANDOFF}/complete")
UNABLE_TO_COMPLETE = _Route("POST", f"{_HANDOFF}/unable-to-complete")
REVOKE = _Route("POST", f"{_HANDOFF}/revoke")


@dataclass(frozen=True)
class _Command:
    """One logical call. Its ``Idempotency-Key`` is fixed here and reused by every retry."""

    route: _Route
    ids: tuple[str, ...] = ()
    params: Mapping[str, str | int] | None = None
    body: Mapping[str, Any] | None = None
    if_match: int | None = None
    path: str = field(init=False)
    idempotency_key: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", self.route.path(self.ids))
        if self.route.method == "POST":
            object.__setattr__(self, "idempotency_key", str(uuid.uuid4()))

    def headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.if_match is not None:
            headers["If-Match"] = f'"{self.if_match}"'
        if self.idempotency_key is not None:
            headers["Idempotency-Key"] = self.idempotency_key
        return headers

    def log_fields(self) -> dict[str, Any]:
        return {
            "method": self.route.method,
            "path": self.route.template,
            "authorization_id": self.ids[0] if self.ids else None,
            "handoff_id": self.ids[1] if len(self.ids) > 1 else None,
        }


class CollateClient:
    """Async client for the Collate prior-authorization API, limited to what a handoff bot needs.

    Every POST carries a fresh ``Idempotency-Key`` that its retries reuse verbatim. A call is
    retried only when its outcome is unknown (no answer, 429, 5xx with ``retryable: true``), at
    most ``max_retries`` times; everything else raises at once (see ``bot.collate.errors``).
    Responses become frozen pydantic models; a missing required field raises
    ``CollateProtocolError`` naming it. Logs carry method, path template, status, ``requestId``,
    attempt and error code, never a body, a grant URL or the key.

    ``if_match_version`` is decision D1: ``"authorization"`` sends the authorization's version as
    ``If-Match`` on complete, unable-to-complete and revoke; ``"handoff"`` sends the handoff's.
    Handoff create always sends the authorization's version.

    Example::

        async with CollateClient("https://api.sandbox.trycollate.ai", api_key) as collate:
            for authorization in await collate.list_requiring_action():
                if authorization.offers_manual_handoff:
                    ...
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_seconds: float = 10.0,
        max_retries: int = 4,
        if_match_version: IfMatchVersion = "authorization",
        max_retry_after_seconds: float = 60.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("api_key is empty")
        if if_match_version not in ("authorization", "handoff"):
            raise ValueError("if_match_version must be 'authorization' or 'handoff'")
        self._api_key = SecretStr(api_key)
        self._if_match_version: IfMatchVersion = if_match_version
        self._retry = RetryPolicy(
            max_retries=max_retries, max_retry_after_seconds=max_retry_after_seconds
        )
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_seconds),
            transport=transport,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": _USER_AGENT},
        )

    def __repr__(self) -> str:
        return f"CollateClient(base_url={str(self._http.base_url)!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool. The client cannot be used afterwards."""
        await self._http.aclose()

    async def health(self) -> bool:
        """``GET /health`` (E10), without the key and without retries. Never raises."""
        command = _Command(HEALTH)
        started = time.monotonic()
        try:
            response = await self._http.get(HEALTH.template)
        except Exception as error:  # a health probe reports; it never raises
            self._log_request(command, 1, started, error_code=type(error).__name__)
            return False
        self._log_request(command, 1, started, status=response.status_code)
        return response.is_success

    async def list_requiring_action(self, *, page_size: int = 100) -> list[Authorization]:
        """Every authorization in ``requires_action`` (E1), following all pages.

        The status is checked here too, in case the server ignores the filter (D4). Whether an
        item is a handoff offer is the caller's test: ``Authorization.offers_manual_handoff``.
        """
        if not 1 <= page_size <= _MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be from 1 to {_MAX_PAGE_SIZE}")
        found: dict[str, Authorization] = {}
        async for page in self._pages(page_size):
            for authorization in page.data:
                if authorization.status is AuthorizationStatus.REQUIRES_ACTION:
                    _keep_newest(found, authorization)
        return list(found.values())

    async def pages_requiring_action(
        self, *, page_size: int = 100
    ) -> AsyncIterator[list[Authorization]]:
        """Each page of ``list_requiring_action`` as it arrives, so a caller holds one page."""
        if not 1 <= page_size <= _MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be from 1 to {_MAX_PAGE_SIZE}")
        async for page in self._pages(page_size):
            yield [a for a in page.data if a.status is AuthorizationStatus.REQUIRES_ACTION]

    async def get_authorization(self, authorization_id: str) -> Authorization:
        """The authorization as Collate holds it now (E2)."""
        command = _Command(GET_AUTHORIZATION, (authorization_id,))
        return await self._call(command, Authorization, "authorization")

    async def create_handoff(
        self, authorization: Authorization, *, accepted_review_snapshot_id: str | None
    ) -> ManualHandoff:
        """Accept the offered handoff (E3), ``If-Match`` the authorization's version.

        ``accepted_review_snapshot_id`` is the snapshot the person actually reviewed (rule 3):
        required whenever ``authorization.required_review_snapshot_id`` is set, else ``None``.
        If a handoff is already active Collate returns it; that is no proof this call created it.
        """
        body: dict[str, Any] = {}
        if accepted_review_snapshot_id is not None:
            body["acceptedReviewSnapshotId"] = accepted_review_snapshot_id
        command = _Command(
            CREATE_HANDOFF, (authorization.id,), body=body, if_match=authorization.version
        )
        return await self._call(command, ManualHandoff, "handoff")

    async def get_handoff(self, authorization_id: str, handoff_id: str) -> ManualHandoff:
        """The handoff as Collate holds it now (E4): the truth about the handoff."""
        command = _Command(GET_HANDOFF, (authorization_id, handoff_id))
        return await self._call(command, ManualHandoff, "handoff")

    async def create_access_grant(self, authorization_id: str, handoff_id: str) -> AccessGrant:
        """Mint a new interactive grant for an ``active`` handoff (E5). Deliver, never keep it."""
        command = _Command(CREATE_ACCESS_GRANT, (authorization_id, handoff_id))
        return await self._call(command, AccessGrant, "grant")

    async def complete(
        self,
        authorization: Authorization,
        handoff: ManualHandoff,
        *,
        reported_outcome: str,
        observed_reference_number: str | None = None,
        operator_notes: str | None = None,
    ) -> CloseResult:
        """Close the handoff as done (E6). The outcome is the operator's claim, not payer truth."""
        body = _present(
            reportedOutcome=reported_outcome,
            observedReferenceNumber=observed_reference_number,
            operatorNotes=operator_notes,
        )
        return await self._close(COMPLETE, authorization, handoff, body)

    async def unable_to_complete(
        self,
        authorization: Authorization,
        handoff: ManualHandoff,
        *,
        reason: str,
        operator_notes: str | None = None,
    ) -> CloseResult:
        """Close the handoff as could-not-finish (E7), with one of the documented reasons."""
        body = _present(reason=reason, operatorNotes=operator_notes)
        return await self._close(UNABLE_TO_COMPLETE, authorization, handoff, body)

    async def revoke(
        self,
        authorization: Authorization,
        handoff: ManualHandoff,
        *,
        reason: str,
        notes: str | None = None,
    ) -> CloseResult:
        """Stop or withdraw the handoff (E8); every live grant is invalidated."""
        body = _present(reason=reason, notes=notes)
        return await self._close(REVOKE, authorization, handoff, body)

    async def _close(
        self,
        route: _Route,
        authorization: Authorization,
        handoff: ManualHandoff,
        body: dict[str, Any],
    ) -> CloseResult:
        command = _Command(
            route,
            (authorization.id, handoff.id),
            body=body,
            if_match=self._close_version(authorization, handoff),
        )
        return await self._call(command, CloseResult, "close")

    def _close_version(self, authorization: Authorization, handoff: ManualHandoff) -> int:
        if handoff.prior_authorization_id != authorization.id:
            raise ValueError("the handoff belongs to another authorization")
        if self._if_match_version == "handoff":
            return handoff.version
        return authorization.version

    async def _pages(self, page_size: int) -> AsyncIterator[AuthorizationPage]:
        cursor: str | None = None
        followed: set[str] = set()
        while True:
            params: dict[str, str | int] = {"status": "requires_action", "limit": page_size}
            if cursor is not None:
                params["cursor"] = cursor
            command = _Command(LIST_AUTHORIZATIONS, params=params)
            page = await self._call(command, AuthorizationPage, "page")
            yield page
            cursor = page.pagination.next_cursor or None
            if cursor is None:
                return
            if cursor in followed:
                raise CollateProtocolError(
                    "protocol_error",
                    "pagination.nextCursor repeats a cursor already followed",
                    operation=command.route.operation,
                )
            followed.add(cursor)

    async def _call(self, command: _Command, model: type[ModelT], root: str) -> ModelT:
        payload = await self._execute(command)
        try:
            return parse_response(model, payload, root)
        except CollateProtocolError as error:
            error.operation = command.route.operation
            raise

    async def _execute(self, command: _Command) -> Any:
        """Send ``command`` until it gets an answer or the retry budget says stop."""
        retries_done = 0
        while True:
            try:
                return await self._attempt(command, attempt=retries_done + 1)
            except CollateError as error:
                delay = self._retry.delay_before_retry(error, retries_done)
                if delay is None:
                    raise
                self._log_retry(command, error, retries_done + 2, delay)
            await self._sleep(delay)
            retries_done += 1

    async def _attempt(self, command: _Command, *, attempt: int) -> Any:
        started = time.monotonic()
        try:
            response = await self._send(command)
            payload = _read_answer(response, command.route)
        except CollateError as error:
            self._log_request(
                command,
                attempt,
                started,
                status=error.http_status,
                request_id=error.request_id,
                error_code=error.code,
            )
            raise
        self._log_request(
            command, attempt, started, status=response.status_code, request_id=_request_id(response)
        )
        return payload

    async def _send(self, command: _Command) -> httpx.Response:
        headers = command.headers()
        headers["Authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        try:
            return await self._http.request(
                command.route.method,
                command.path,
                params=command.params,
                json=command.body,
                headers=headers,
            )
        except httpx.TransportError as error:
            raise _transport_error(error, command.route) from error

    def _log_request(
        self,
        command: _Command,
        attempt: int,
        started: float,
        *,
        status: int | None = None,
        request_id: str | None = None,
        error_code: str | None = None,
    ) -> None:
        fields = command.log_fields()
        fields.update(
            status=status,
            request_id=request_id,
            attempt=attempt,
            error_code=error_code,
            elapsed_ms=round((time.monotonic() - started) * 1000),
        )
        level = logging.INFO if error_code is None else logging.WARNING
        _log.log(level, "collate.request", extra=fields)

    def _log_retry(
        self, command: _Command, error: CollateError, next_attempt: int, delay: float
    ) -> None:
        fields = command.log_fields()
        fields.update(
            status=error.http_status,
            request_id=error.request_id,
            attempt=next_attempt,
            error_code=error.code,
            delay_seconds=round(delay, 3),
        )
        _log.warning("collate.retry", extra=fields)


def _read_answer(response: httpx.Response, route: _Route) -> Any:
    """The decoded JSON of a 2xx answer; any other answer raises its ``CollateError``."""
    if not response.is_success:
        raise _error_from_response(response, route)
    payload = _json_or_none(response)
    if payload is None:
        raise CollateProtocolError(
            "protocol_error",
            "response body is not a JSON object",
            http_status=response.status_code,
            request_id=_request_id(response),
            operation=route.operation,
        )
    return payload


def _error_from_response(response: httpx.Response, route: _Route) -> CollateError:
    status = response.status_code
    envelope = _ErrorEnvelope.read(response)
    retry_after = _retry_after_seconds(response.headers.get("retry-after"))
    if envelope is None:
        return _error_without_envelope(response, route, retry_after)
    error_class = api_error_class(envelope.code, status)
    common: dict[str, Any] = {
        "http_status": status,
        "retryable": envelope.retryable,
        "details": envelope.details,
        "request_id": envelope.request_id,
        "operation": route.operation,
    }
    if error_class is RateLimited:
        return RateLimited(
            envelope.code, envelope.message, retry_after_seconds=retry_after, **common
        )
    return error_class(envelope.code, envelope.message, **common)


def _error_without_envelope(
    response: httpx.Response, route: _Route, retry_after: float | None
) -> CollateError:
    """A proxy or gateway may answer without Collate's envelope: classify by status alone."""
    status = response.status_code
    context: dict[str, Any] = {
        "http_status": status,
        "request_id": _request_id(response),
        "operation": route.operation,
    }
    if status == 429:
        return RateLimited(
            "rate_limited", retryable=True, retry_after_seconds=retry_after, **context
        )
    if status >= 500:
        # NOTE: only "5xx with retryable: true" is retried (contract §7); without the envelope
        # Collate has not said so, so the call is not repeated.
        return ServiceUnavailable(f"http_{status}", **context)
    return CollateProtocolError(
        "protocol_error", "error response without the error envelope", **context
    )


@dataclass(frozen=True)
class _ErrorEnvelope:
    """``{"error": {code, message, retryable, details}, "requestId"}`` (contract §6)."""

    code: str
    message: str
    retryable: bool
    details: dict[str, Any]
    request_id: str | None

    @classmethod
    def read(cls, response: httpx.Response) -> _ErrorEnvelope | None:
        payload = _json_or_none(response) or {}
        error = payload.get("error")
        if not isinstance(error, dict) or not isinstance(error.get("code"), str):
            return None
        details = error.get("details")
        return cls(
            code=error["code"],
            message=_text_or_none(error.get("message")) or "",
            retryable=error.get("retryable") is True,
            details=details if isinstance(details, dict) else {},
            request_id=_text_or_none(payload.get("requestId")) or _request_id(response),
        )


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _request_id(response: httpx.Response) -> str | None:
    """An ``X-Request-Id`` header, for answers without an envelope (the simulator sends one)."""
    return _text_or_none(response.headers.get("x-request-id"))


def _json_or_none(response: httpx.Response) -> dict[str, Any] | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _retry_after_seconds(header: str | None) -> float | None:
    """``Retry-After`` as seconds: a number (the contract's form) or an HTTP date."""
    if header is None:
        return None
    try:
        seconds = float(header)
    except ValueError:
        return _seconds_until_http_date(header)
    return seconds if math.isfinite(seconds) else None


def _seconds_until_http_date(header: str) -> float | None:
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - datetime.now(UTC)).total_seconds()


def _transport_error(error: httpx.TransportError, route: _Route) -> CollateTransportError:
    # NOTE: an unsupported scheme is a configuration mistake; repeating it cannot help.
    retryable = not isinstance(error, httpx.UnsupportedProtocol)
    code = "timeout" if isinstance(error, httpx.TimeoutException) else "transport_error"
    return CollateTransportError(
        code, type(error).__name__, retryable=retryable, operation=route.operation
    )


def _present(**fields: Any) -> dict[str, Any]:
    """The body fields that were given: optional fields are left out rather than sent as null."""
    return {name: value for name, value in fields.items() if value is not None}


def _keep_newest(found: dict[str, Authorization], authorization: Authorization) -> None:
    """Keep one item per id: pages can shift while they are read."""
    known = found.get(authorization.id)
    if known is None or authorization.version > known.version:
        found[authorization.id] = authorization


__all__ = ["CollateClient", "IfMatchVersion"]
