"""When a failed Collate call is repeated, and after how long (contract §7, "Retry budget").

A call is repeated only when its outcome is unknown: no answer (transport error or timeout), a
429, or a 5xx that says ``retryable: true``. Everything else is an answer and is final. A repeat
reuses the command's ``Idempotency-Key``, which the client owns; this module only decides.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from bot.collate.errors import (
    CollateError,
    CollateTransportError,
    RateLimited,
    ServiceUnavailable,
)

_jitter = random.SystemRandom()


@dataclass(frozen=True)
class RetryPolicy:
    """The client's retry budget. ``delay_before_retry`` is the whole decision."""

    max_retries: int = 4
    max_retry_after_seconds: float = 60.0
    base_delay_seconds: float = 0.5
    max_delay_seconds: float = 8.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        if self.max_retry_after_seconds < 0:
            raise ValueError("max_retry_after_seconds must be 0 or more")

    def delay_before_retry(self, error: CollateError, retries_done: int) -> float | None:
        """Seconds to wait before repeating the call that failed with ``error``, or ``None``."""
        if retries_done >= self.max_retries:
            return None
        if isinstance(error, RateLimited):
            return self._rate_limit_delay(error, retries_done)
        if isinstance(error, CollateTransportError | ServiceUnavailable) and error.retryable:
            return self.backoff_seconds(retries_done)
        return None

    def backoff_seconds(self, retries_done: int) -> float:
        """0.5 s × 2ⁿ with full jitter, capped at 8 s (n = retries already made)."""
        exponent = min(retries_done, 32)
        ceiling = min(self.max_delay_seconds, self.base_delay_seconds * 2**exponent)
        return _jitter.uniform(0.0, ceiling)

    def _rate_limit_delay(self, error: RateLimited, retries_done: int) -> float | None:
        retry_after = error.retry_after_seconds
        if retry_after is None:
            return self.backoff_seconds(retries_done)
        if retry_after > self.max_retry_after_seconds:
            return None
        return max(retry_after, 0.0)
