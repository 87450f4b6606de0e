"""What the simulator remembers and hands back to tests: messages, views, calls, answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Block = dict[str, Any]


@dataclass
class SimMessage:
    """A message in a channel as people currently see it; ``edits`` holds what it said before."""

    channel: str
    ts: str
    thread_ts: str | None
    text: str
    blocks: list[Block]
    user: str
    bot_id: str | None = None
    edits: list[tuple[str, list[Block]]] = field(default_factory=list)
    deleted: bool = False
    unfurl_links: bool | None = None
    unfurl_media: bool | None = None
    reply_broadcast: bool = False

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None


@dataclass
class SimEphemeral:
    """A message only ``user`` sees; ``chat.postEphemeral`` or a ``response_url`` made it."""

    channel: str
    user: str
    ts: str
    thread_ts: str | None
    text: str
    blocks: list[Block]
    edits: list[tuple[str, list[Block]]] = field(default_factory=list)
    deleted: bool = False


@dataclass
class SimView:
    """A modal or Home tab as Slack stores it: ``view`` is the full object Slack returns."""

    id: str
    user: str
    view: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.view.get("type", ""))

    @property
    def hash(self) -> str:
        return str(self.view.get("hash", ""))

    @property
    def callback_id(self) -> str:
        return str(self.view.get("callback_id", ""))

    @property
    def private_metadata(self) -> str:
        return str(self.view.get("private_metadata", ""))

    @property
    def external_id(self) -> str:
        return str(self.view.get("external_id", ""))

    @property
    def blocks(self) -> list[Block]:
        blocks: list[Block] = self.view.get("blocks", [])
        return blocks

    @property
    def title(self) -> str:
        title = self.view.get("title") or {}
        return str(title.get("text", ""))


@dataclass(frozen=True)
class SimCall:
    """One Web API call: the method, its arguments as parsed, and what the simulator answered."""

    method: str
    args: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: float

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        error = self.response.get("error")
        return None if error is None else str(error)


@dataclass(frozen=True)
class ResponseUrlPost:
    """One post to a ``response_url`` and what it did (``ephemeral``, ``replaced``, ...)."""

    url: str
    payload: dict[str, Any]
    status: int
    outcome: str


ViewOutcome = Literal["closed", "errors", "updated", "pushed", "cleared", "kept_open"]


@dataclass
class AppResponse:
    """How the bot answered one delivery (an interaction or an event).

    ``status`` is the HTTP status (200 for an acknowledged Socket Mode envelope, 0 when the bot
    did not answer within the ack timeout). ``body`` is the parsed JSON answer, if any.
    For a ``view_submission``, ``view_outcome`` says what Slack did with the modal.
    """

    status: int
    body: Any
    text: str
    via: Literal["http", "socket"]
    timed_out: bool = False
    event_id: str | None = None
    envelope_id: str | None = None
    socket_id: int | None = None
    trigger_id: str | None = None
    view_outcome: ViewOutcome | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and not self.timed_out

    @property
    def response_action(self) -> str | None:
        if isinstance(self.body, dict):
            action = self.body.get("response_action")
            return None if action is None else str(action)
        return None

    @property
    def errors(self) -> dict[str, str]:
        """The ``{block_id: message}`` a ``response_action: errors`` answer carried."""
        if self.response_action != "errors":
            return {}
        errors = self.body.get("errors") or {}
        return {str(key): str(value) for key, value in errors.items()}
