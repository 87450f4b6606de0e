"""Bolt listeners: Slack interactions in, core calls out. No Block Kit is built here."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.handoffs import HandoffService
from handlers import actions, events, submissions


def register(app: AsyncApp, handoffs: HandoffService) -> None:
    """Attach every listener and middleware the bot needs to ``app``."""
    events.register(app, handoffs)
    actions.register(app, handoffs)
    submissions.register(app, handoffs)
