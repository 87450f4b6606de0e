"""Injected trouble on ``/v1``: throttling and server errors (D9), dropped connections, latency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from sim.collate.errors import ApiError

FAILURE_CODES = {
    401: "unauthorized",
    403: "forbidden",
    429: "rate_limited",
    500: "internal_error",
    502: "internal_error",
    503: "service_unavailable",
    504: "internal_error",
}


@dataclass
class FailureRule:
    remaining: int
    status: int
    retry_after_seconds: float | None
    retryable: bool
    paths: str | None

    def error(self) -> ApiError:
        headers: dict[str, str] = {}
        details: dict[str, float] = {}
        if self.retry_after_seconds is not None:
            headers["Retry-After"] = _seconds(self.retry_after_seconds)
            details["retryAfterSeconds"] = self.retry_after_seconds
        return ApiError(
            self.status,
            FAILURE_CODES[self.status],
            "Injected failure from the simulator.",
            retryable=self.retryable and self.status >= 429,
            details=details,
            headers=headers,
        )


@dataclass
class ResetRule:
    remaining: int
    after_processing: bool
    paths: str | None


_Rule = TypeVar("_Rule", FailureRule, ResetRule)


class FaultPlan:
    """What the next ``/v1`` requests suffer. Rules are used up in the order they were added."""

    def __init__(self) -> None:
        self.latency_ms = 0.0
        self._failures: list[FailureRule] = []
        self._resets: list[ResetRule] = []

    def fail_next(
        self,
        count: int,
        status: int,
        *,
        retry_after_seconds: float | None = None,
        retryable: bool = True,
        paths: str | None = None,
    ) -> None:
        if status not in FAILURE_CODES:
            raise ValueError(f"fail_next supports statuses {sorted(FAILURE_CODES)}")
        if count > 0:
            self._failures.append(FailureRule(count, status, retry_after_seconds, retryable, paths))

    def reset_next(
        self, count: int, *, after_processing: bool = False, paths: str | None = None
    ) -> None:
        if count > 0:
            self._resets.append(ResetRule(count, after_processing, paths))

    def set_latency(self, ms: float) -> None:
        if ms < 0:
            raise ValueError("latency cannot be negative")
        self.latency_ms = ms

    def clear(self) -> None:
        self._failures.clear()
        self._resets.clear()
        self.latency_ms = 0.0

    def take_reset(self, path: str) -> ResetRule | None:
        return _take(self._resets, path)

    def take_failure(self, path: str) -> FailureRule | None:
        return _take(self._failures, path)


def _take(rules: list[_Rule], path: str) -> _Rule | None:
    for rule in rules:
        if rule.paths is None or rule.paths in path:
            rule.remaining -= 1
            if rule.remaining == 0:
                rules.remove(rule)
            return rule
    return None


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
