"""Bolt listeners: Slack interactions in, core calls out. No Block Kit is built here."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.background import Background
from bot.handoffs import HandoffService
from bot.settings import Settings
from handlers import actions, events, groups, submissions


def register(
    app: AsyncApp, handoffs: HandoffService, background: Background, settings: Settings
) -> None:
    """Attach every listener and middleware the bot needs to ``app``; slow work goes to
    ``background`` after the ack. ``settings`` pin the workspace (``SLACK_TEAM_ID``)."""
    events.register(app, handoffs, settings)
    actions.register(app, handoffs, background)
    submissions.register(app, handoffs, background)
    groups.register(app, handoffs.roles)
