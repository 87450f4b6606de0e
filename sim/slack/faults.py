"""Failures a test asks for: the next N calls of a method fail, or a per-channel rate limit."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from sim.slack.clock import SimClock
from sim.slack.contract import SlackError


@dataclass
class _PlannedFailure:
    error: str
    status: int
    retry_after: float | None
    remaining: int


@dataclass
class _Bucket:
    tokens: float
    updated_at: float


@dataclass
class _ChannelLimit:
    per_second: float
    burst: int
    buckets: dict[str, _Bucket]


def retry_after_header(seconds: float) -> dict[str, str]:
    # slack_sdk's retry handler reads Retry-After with int(), so whole seconds only.
    return {"Retry-After": str(max(0, math.ceil(seconds)))}


class FaultPlan:
    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._planned: dict[str, deque[_PlannedFailure]] = {}
        self._limits: dict[str, _ChannelLimit] = {}

    def fail_next(
        self, method: str, error: str, *, status: int, retry_after: float | None, count: int
    ) -> None:
        if count < 1:
            raise ValueError("count must be at least 1")
        failure = _PlannedFailure(error, status, retry_after, count)
        self._planned.setdefault(method, deque()).append(failure)

    def rate_limit(self, method: str, per_second: float | None, burst: int) -> None:
        if per_second is None:
            self._limits.pop(method, None)
            return
        self._limits[method] = _ChannelLimit(per_second, burst, {})

    def check(self, method: str, channel_key: str | None) -> None:
        """Raise the planned or rate-limit failure for this call, if there is one."""
        self._take_planned(method)
        limit = self._limits.get(method)
        if limit is not None:
            self._take_token(limit, channel_key or "")

    def _take_planned(self, method: str) -> None:
        queue = self._planned.get(method)
        if not queue:
            return
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining == 0:
            queue.popleft()
        headers = {}
        if failure.status == 429 or failure.retry_after is not None:
            wait = 1.0 if failure.retry_after is None else failure.retry_after
            headers = retry_after_header(wait)
        raise SlackError(failure.error, status=failure.status, headers=headers)

    def _take_token(self, limit: _ChannelLimit, channel_key: str) -> None:
        now = self._clock.now()
        bucket = limit.buckets.setdefault(channel_key, _Bucket(float(limit.burst), now))
        refill = (now - bucket.updated_at) * limit.per_second
        bucket.tokens = min(float(limit.burst), bucket.tokens + refill)
        bucket.updated_at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return
        wait = (1.0 - bucket.tokens) / limit.per_second
        raise SlackError("ratelimited", status=429, headers=retry_after_header(wait))
