"""User-group changes: drop the cached membership so the next permission check reads it again."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.roles import Roles


def register(app: AsyncApp, roles: Roles) -> None:
    async def members_changed(event: dict[str, Any]) -> None:
        group_id = event.get("subteam_id")
        if isinstance(group_id, str):
            await roles.group_changed(group_id)

    app.event("subteam_members_changed")(members_changed)
