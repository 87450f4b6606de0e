"""The one error envelope of contract §6, raised as exceptions and rendered by the middleware."""

from __future__ import annotations

from typing import Any

from sim.collate.ids import new_id


class ApiError(Exception):
    """A Collate error: HTTP status, ``error.code`` and the rest of the envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        retryable: bool = False,
        details: dict[str, Any] | None = None,
        issues: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retryable = retryable
        self.details = details or {}
        self.issues = issues or []
        self.headers = headers or {}

    def envelope(self, request_id: str) -> dict[str, Any]:
        error = {
            "code": self.code,
            "message": self.message,
            "retryable": self.retryable,
            "details": self.details,
            "issues": self.issues,
        }
        return {"error": error, "requestId": request_id}


class NotFoundError(ApiError, LookupError):
    """A 404 that control code can also catch as an ordinary ``LookupError``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(404, code, message)


class SimControlError(ValueError):
    """A control action that makes no sense in the current state (not a Collate error)."""


def new_request_id() -> str:
    return new_id("req")


def issue(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def bad_request(message: str, *issues: dict[str, str]) -> ApiError:
    return ApiError(400, "bad_request", message, issues=list(issues))


def unauthorized() -> ApiError:
    return ApiError(401, "unauthorized", "Missing or invalid API key.")


def authorization_not_found(authorization_id: str) -> NotFoundError:
    return NotFoundError(
        "prior_authorization_not_found", f"Prior authorization {authorization_id} not found."
    )


def handoff_not_found(handoff_id: str) -> NotFoundError:
    return NotFoundError("manual_handoff_not_found", f"Manual handoff {handoff_id} not found.")


def conflict(code: str, message: str, **details: Any) -> ApiError:
    return ApiError(409, code, message, details=details)


def version_conflict(resource: str, expected: int, actual: int) -> ApiError:
    return conflict(
        "version_conflict",
        f"{resource} version does not match If-Match.",
        expectedVersion=expected,
        actualVersion=actual,
    )


def not_actionable(message: str) -> ApiError:
    return conflict("prior_authorization_not_actionable", message)
