"""The simulator's notion of "now": wall time plus an offset tests can move forward."""

from __future__ import annotations

import time


class SimClock:
    """Wall-clock seconds that a test can advance without sleeping.

    Trigger expiry, response_url lifetimes, rate limits and message ``ts`` values all read this
    clock. Request signatures do not: the bot checks them against its own, real, clock.
    """

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the simulated clock only moves forward")
        self._offset += seconds
