"""Slack-shaped identifiers: ``C0SIM0001``-style ids and per-channel message timestamps."""

from __future__ import annotations

import secrets
from collections import defaultdict

from sim.slack.clock import SimClock


class IdMinter:
    """Sequential ids per prefix, readable in test output (``U0SIM0003``)."""

    def __init__(self) -> None:
        self._counters: defaultdict[str, int] = defaultdict(int)

    def next(self, prefix: str) -> str:
        self._counters[prefix] += 1
        return f"{prefix}0SIM{self._counters[prefix]:04d}"

    def block_id(self) -> str:
        """A short random ``block_id`` like the ones Slack adds to blocks sent without one."""
        return secrets.token_urlsafe(4)[:5]


class TsMinter:
    """Message timestamps (``"1503435956.000247"``), strictly increasing within a channel."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._last: dict[str, tuple[int, int]] = {}

    def next(self, channel_id: str) -> str:
        seconds = int(self._clock.now())
        last = self._last.get(channel_id)
        sequence = 1
        if last is not None and seconds <= last[0]:
            seconds, sequence = last[0], last[1] + 1
        if sequence > 999_999:
            seconds, sequence = seconds + 1, 1
        self._last[channel_id] = (seconds, sequence)
        return f"{seconds}.{sequence:06d}"
