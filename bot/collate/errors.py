"""Everything the Collate client raises, as one small tree under ``CollateError``.

::

    CollateError                      code, message, http_status, retryable, details, request_id
    ├── CollateApiError               Collate answered with its error envelope (contract §6)
    │   ├── BadRequest                400 bad_request
    │   ├── Unauthorized              401 unauthorized
    │   ├── Forbidden                 403 forbidden, insufficient_permissions
    │   ├── AuthorizationNotFound     404 prior_authorization_not_found
    │   ├── HandoffNotFound           404 manual_handoff_not_found
    │   ├── VersionConflict           409 version_conflict (+ expected_version, actual_version)
    │   ├── ManualHandoffNotAllowed   409 manual_handoff_not_allowed
    │   ├── ReviewStale               409 review_stale
    │   ├── NotActionable             409 prior_authorization_not_actionable
    │   ├── IdempotencyKeyReused      409 idempotency_key_reused
    │   ├── RateLimited               429, any code (+ retry_after_seconds)
    │   └── ServiceUnavailable        5xx, any code
    ├── CollateTransportError         no answer: connect or read failure, timeout (after retries)
    └── CollateProtocolError          an answer the client cannot read: not JSON, no envelope,
                                      a required field missing or invalid (``field_path``)

An error code the contract does not list raises ``CollateApiError`` itself, so callers can always
fall back to branching on ``code``. Callers branch on the class or on ``code``, never on
``message``.

``str()`` of every error carries the code, the HTTP status, the Collate ``requestId`` and the
call's path template. It never carries a request or response body, Collate's free-text
``message`` (it may echo input), a grant URL or the API key, so an error is safe to log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class CollateError(Exception):
    """Base of every error the Collate client raises."""

    def __init__(
        self,
        code: str,
        message: str = "",
        *,
        http_status: int | None = None,
        retryable: bool = False,
        details: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        operation: str | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.http_status = http_status
        self.retryable = retryable
        self.details: dict[str, Any] = dict(details or {})
        self.request_id = request_id
        self.operation = operation
        """``"POST /v1/prior-authorizations/{id}/manual-handoffs"``: method and path template."""
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = [self.code]
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        if self.request_id is not None:
            parts.append(f"requestId {self.request_id}")
        if self.operation is not None:
            parts.append(f"on {self.operation}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return self._describe()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._describe()!r})"


class CollateApiError(CollateError):
    """Collate answered with its error envelope. Unknown codes are raised as this class."""


class BadRequest(CollateApiError):
    """400 ``bad_request``: a malformed header or body. A bug in the caller; never retried."""


class Unauthorized(CollateApiError):
    """401 ``unauthorized``: a bad key, or a key for another environment."""


class Forbidden(CollateApiError):
    """403 ``forbidden`` or ``insufficient_permissions``: the key lacks access."""


class AuthorizationNotFound(CollateApiError):
    """404 ``prior_authorization_not_found``: unknown or no longer visible."""


class HandoffNotFound(CollateApiError):
    """404 ``manual_handoff_not_found``: unknown handoff id for this authorization."""


class VersionConflict(CollateApiError):
    """409 ``version_conflict``: the ``If-Match`` version is stale. Re-read before retrying."""

    @property
    def expected_version(self) -> int | None:
        """The version the client sent (``details.expectedVersion``)."""
        return _int_or_none(self.details.get("expectedVersion"))

    @property
    def actual_version(self) -> int | None:
        """The version Collate holds now (``details.actualVersion``)."""
        return _int_or_none(self.details.get("actualVersion"))


class ManualHandoffNotAllowed(CollateApiError):
    """409 ``manual_handoff_not_allowed``: there is nothing to accept now."""


class ReviewStale(CollateApiError):
    """409 ``review_stale``: the accepted review snapshot is missing or no longer current."""


class NotActionable(CollateApiError):
    """409 ``prior_authorization_not_actionable``: e.g. the handoff is no longer ``active``."""


class IdempotencyKeyReused(CollateApiError):
    """409 ``idempotency_key_reused``: the same key with a different body. A bug in the client."""


class RateLimited(CollateApiError):
    """429: throttled. Raised once the retry budget is spent or ``Retry-After`` is too long."""

    def __init__(self, *args: Any, retry_after_seconds: float | None = None, **kwargs: Any) -> None:
        self.retry_after_seconds = retry_after_seconds
        """The ``Retry-After`` header in seconds, when Collate sent a readable one."""
        super().__init__(*args, **kwargs)


class ServiceUnavailable(CollateApiError):
    """Any 5xx. Retried while ``retryable`` is true; raised once the retry budget is spent."""


class CollateTransportError(CollateError):
    """No answer from Collate: connect or read failure, or timeout, after all retries.

    ``message`` names the underlying ``httpx`` exception class, e.g. ``ConnectError``.
    """

    def _describe(self) -> str:
        base = super()._describe()
        return f"{base}: {self.message}" if self.message else base


class CollateProtocolError(CollateError):
    """An answer the client cannot read: not JSON, no error envelope, or a bad required field."""

    def __init__(self, *args: Any, field_path: str | None = None, **kwargs: Any) -> None:
        self.field_path = field_path
        """The offending field in wire names, e.g. ``authorization.version``."""
        super().__init__(*args, **kwargs)

    def _describe(self) -> str:
        base = super()._describe()
        return f"{base}: {self.message}" if self.message else base


ERROR_CLASSES: Mapping[str, type[CollateApiError]] = {
    "bad_request": BadRequest,
    "unauthorized": Unauthorized,
    "forbidden": Forbidden,
    "insufficient_permissions": Forbidden,
    "prior_authorization_not_found": AuthorizationNotFound,
    "manual_handoff_not_found": HandoffNotFound,
    "version_conflict": VersionConflict,
    "manual_handoff_not_allowed": ManualHandoffNotAllowed,
    "review_stale": ReviewStale,
    "prior_authorization_not_actionable": NotActionable,
    "idempotency_key_reused": IdempotencyKeyReused,
}
"""Documented ``error.code`` values and the class each one raises. 429 and 5xx go by status."""


def api_error_class(code: str, http_status: int) -> type[CollateApiError]:
    """The class for an error envelope: 429 and 5xx by status (codes unpublished), else by code."""
    if http_status == 429:
        return RateLimited
    if http_status >= 500:
        return ServiceUnavailable
    return ERROR_CLASSES.get(code, CollateApiError)


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None
