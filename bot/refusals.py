"""Known reasons the bot does not do what a person asked; each becomes a private message.

The handlers turn a ``Refusal`` into the sentence ``blocks.texts`` has for it; anything else that
goes wrong is an unexpected error, shown with a short reference id that is also in the log.
"""

from __future__ import annotations

from blocks.ids import ActionId


class Refusal(Exception):
    """The bot will not or cannot do what was asked, for a reason the person should know."""


class NotPermitted(Refusal):
    """The person may not do ``action``; the rest says who may."""

    def __init__(
        self,
        action: ActionId,
        *,
        acceptor: str | None = None,
        supervisors: bool = False,
        operators_only: bool = False,
    ) -> None:
        super().__init__(action.value)
        self.action = action
        self.acceptor = acceptor
        self.supervisors = supervisors
        self.operators_only = operators_only


class AlreadyAccepted(Refusal):
    """Someone else accepted (or is accepting) this offer."""

    def __init__(self, acceptor: str) -> None:
        super().__init__(acceptor)
        self.acceptor = acceptor


class OfferGone(Refusal):
    """The offer is no longer open: the case moved on, or Collate withdrew it."""


class SnapshotChanged(Refusal):
    """The review snapshot changed since the person saw it; the card now shows the new one."""


class HandoffClosed(Refusal):
    """The handoff is no longer active; ``result`` is how it ended, when known."""

    def __init__(self, result: str | None) -> None:
        super().__init__(result or "")
        self.result = result


class StaleButton(Refusal):
    """A button or modal that does not match the bot's records (old, or not written by us)."""


class CannotDm(Refusal):
    """Slack will not deliver a direct message to this person (messages tab off, and so on)."""


class ClickTooSlow(Refusal):
    """Slack's trigger for opening a form expired before the bot could use it."""


class ShownLater(Refusal):
    """Collate took the action, but the bot could not record it just now; the card catches up."""


class TryAgainLater(Refusal):
    """A dependency is unavailable right now; nothing was changed."""
