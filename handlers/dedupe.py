"""Interactions handled once, even when Slack (or a Socket Mode reconnect) delivers them twice.

Each ``block_actions`` and ``view_submission`` carries its own ``trigger_id``; the first replica
to see one handles it, shared through Redis. When Redis cannot answer, the request is handled
anyway: every action is idempotent on Collate's side, and a lost click is worse than a repeat.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.store import Store

logger = logging.getLogger(__name__)

_INTERACTIONS = frozenset({"block_actions", "view_submission"})


def register(app: AsyncApp, store: Store) -> None:
    async def skip_repeated_interactions(
        body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        trigger_id = body.get("trigger_id") if body.get("type") in _INTERACTIONS else None
        if isinstance(trigger_id, str) and trigger_id and not await _first_sight(store, trigger_id):
            logger.info("slack.interaction_repeated", extra={"action_id": body.get("type")})
            return BoltResponse(status=200, body="")
        await next()
        return None

    app.middleware(skip_repeated_interactions)


async def _first_sight(store: Store, trigger_id: str) -> bool:
    try:
        return await store.first_sight_of_event("interaction:" + trigger_id)
    except RedisError:
        logger.warning("slack.dedupe_unavailable")
        return True
