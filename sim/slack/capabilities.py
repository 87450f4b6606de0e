"""Short-lived capabilities Slack hands out with an interaction: trigger ids and response URLs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sim.slack.clock import SimClock
from sim.slack.contract import SlackError

# NOTE: https://api.slack.com/docs/triggers — a trigger_id is good for 3 s and for one use.
TRIGGER_LIFETIME_S = 3.0
# NOTE: https://docs.slack.dev/interactivity/handling-user-interaction — 5 uses in 30 minutes.
RESPONSE_URL_LIFETIME_S = 30 * 60.0
RESPONSE_URL_MAX_USES = 5


@dataclass
class Trigger:
    user: str
    issued_at: float
    view_id: str | None
    used: bool = False


class TriggerBook:
    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._issued: dict[str, Trigger] = {}
        self._count = 0

    def issue(self, user_id: str, *, view_id: str | None = None) -> str:
        self._count += 1
        trigger_id = f"{int(self._clock.now() * 1000)}.{self._count}.{secrets.token_hex(16)}"
        self._issued[trigger_id] = Trigger(user_id, self._clock.now(), view_id)
        return trigger_id

    def redeem(self, trigger_id: str | None) -> Trigger:
        """The trigger, now used up; the Slack error for an unknown, old or used one."""
        trigger = self._issued.get(trigger_id or "")
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.used:
            raise SlackError("exchanged_trigger_id")
        if self._clock.now() - trigger.issued_at > TRIGGER_LIFETIME_S:
            raise SlackError("expired_trigger_id")
        trigger.used = True
        return trigger


@dataclass
class ResponseUrl:
    channel: str
    user: str
    message_ts: str
    is_ephemeral: bool
    thread_ts: str | None
    issued_at: float
    uses: int = 0


class ResponseUrlBook:
    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self._issued: dict[str, ResponseUrl] = {}
        self.base_url = ""

    def issue(self, target: ResponseUrl) -> str:
        key = secrets.token_urlsafe(18)
        self._issued[key] = target
        return f"{self.base_url}actions/{key}"

    def use(self, key: str) -> ResponseUrl:
        """The target of one post; ``expired_url`` / ``used_url`` once it is no longer valid."""
        target = self._issued.get(key)
        if target is None:
            raise SlackError("invalid_url", status=404)
        if self._clock.now() - target.issued_at > RESPONSE_URL_LIFETIME_S:
            raise SlackError("expired_url", status=404)
        if target.uses >= RESPONSE_URL_MAX_USES:
            raise SlackError("used_url", status=404)
        target.uses += 1
        return target
