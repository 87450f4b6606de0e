"""Events API deliveries, and the middleware every request passes through first."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.handoffs import HandoffService

logger = logging.getLogger(__name__)


def register(app: AsyncApp, handoffs: HandoffService) -> None:
    store = handoffs.store

    async def skip_repeated_events(
        body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        # NOTE: Bolt does not de-duplicate; Slack retries an event it thinks was not delivered,
        # even when the first delivery was handled (https://docs.slack.dev/apis/events-api).
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and not await store.first_sight_of_event(event_id):
            logger.info("slack.event_repeated", extra={"event_id": event_id})
            return BoltResponse(status=200, body="")
        await next()
        return None

    app.middleware(skip_repeated_events)
