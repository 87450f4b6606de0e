"""Interactions handled once, even when Slack (or a Socket Mode reconnect) delivers them twice.

Each ``block_actions`` and ``view_submission`` carries its own ``trigger_id``; the first replica
to see one does the work, shared through Redis. The check runs after the ack, in the work itself,
so it costs the person's click nothing. When Redis cannot answer, the work runs anyway: every
action is idempotent on Collate's side, and a lost click is worse than a repeat.
"""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

from bot.store import Store

logger = logging.getLogger(__name__)


async def first_time(store: Store, trigger_id: str) -> bool:
    """``False`` when another delivery of this interaction was already handled."""
    if not trigger_id:
        return True
    try:
        first = await store.first_sight_of_event("interaction:" + trigger_id)
    except RedisError:
        logger.warning("slack.dedupe_unavailable")
        return True
    if not first:
        logger.info("slack.interaction_repeated")
    return first
