"""Simulated time: real elapsed time plus whatever the tests fast-forwarded."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class SimClock:
    """Seconds since the epoch that follow the monotonic clock and jump on ``advance``."""

    def __init__(self) -> None:
        self._wall_at_start = time.time()
        self._monotonic_at_start = time.monotonic()
        self._offset = 0.0

    def now(self) -> float:
        elapsed = time.monotonic() - self._monotonic_at_start
        return self._wall_at_start + elapsed + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the simulated clock only moves forward")
        self._offset += seconds


def iso(timestamp: float | None) -> str | None:
    """ISO-8601 in UTC with a ``Z``, to the second, as in the contract's examples."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
