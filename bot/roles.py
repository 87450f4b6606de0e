"""Who may do what: operators accept, the acceptor works the handoff, supervisors revoke.

Roles come from Slack user groups (``OPERATOR_GROUP``, ``SUPERVISOR_GROUP``). Membership is cached
in Redis for ``GROUP_CACHE_SECONDS`` and dropped when Slack says the group changed
(``subteam_members_changed``): ``usergroups.users.list`` is a Tier 2 method. Without
``OPERATOR_GROUP`` anyone who can see the card (a member of its channel) may accept; without
``SUPERVISOR_GROUP`` nobody but the acceptor may revoke.
"""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.web.async_client import AsyncWebClient

from bot.store import Store

logger = logging.getLogger(__name__)


class Roles:
    """Answers permission questions; every click and every modal submit asks again."""

    def __init__(
        self,
        store: Store,
        slack: AsyncWebClient,
        *,
        operator_group: str | None,
        supervisor_group: str | None,
        cache_seconds: float,
    ) -> None:
        self._store = store
        self._slack = slack
        self._operator_group = operator_group
        self._supervisor_group = supervisor_group
        self._cache_seconds = cache_seconds
        self._reading: dict[str, asyncio.Lock] = {}

    async def is_operator(self, user_id: str) -> bool:
        if self._operator_group is None:
            return True
        return user_id in await self._members(self._operator_group)

    async def is_supervisor(self, user_id: str) -> bool:
        if self._supervisor_group is None:
            return False
        return user_id in await self._members(self._supervisor_group)

    @property
    def has_supervisors(self) -> bool:
        return self._supervisor_group is not None

    async def group_changed(self, group_id: str) -> None:
        """Slack says a group's members changed: read it again on next use."""
        if group_id in (self._operator_group, self._supervisor_group):
            await self._store.forget_group(group_id)
            logger.info("roles.group_changed", extra={"user": group_id})

    async def _members(self, group_id: str) -> frozenset[str]:
        cached = await self._store.cached_group(group_id)
        if cached is not None:
            return cached
        # One read per group at a time: a burst of clicks on a cold cache asks Slack once.
        async with self._reading.setdefault(group_id, asyncio.Lock()):
            cached = await self._store.cached_group(group_id)
            if cached is not None:
                return cached
            response = await self._slack.usergroups_users_list(usergroup=group_id)
            members = frozenset(str(user) for user in response.get("users") or [])
            await self._store.cache_group(group_id, members, ttl_seconds=self._cache_seconds)
            return members
