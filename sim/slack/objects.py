"""Slack's resource objects (message, conversation, user, view) as the Web API returns them.

Key sets follow the response examples in ``slack-api-ref/methods/*.json``; the tests check they
stay within the field inventories in ``java-slack-sdk/api/*.json``.
"""

from __future__ import annotations

from typing import Any

from sim.slack.records import SimMessage, SimView
from sim.slack.workspace import SimChannel, SimUser, Workspace


def bot_profile(ws: Workspace) -> dict[str, Any]:
    return {
        "id": ws.bot_id,
        "app_id": ws.api_app_id,
        "name": ws.users[ws.bot_user_id].name,
        "deleted": False,
        "team_id": ws.team_id,
    }


def message_object(ws: Workspace, message: SimMessage) -> dict[str, Any]:
    """A message as ``chat.postMessage`` returns it and interaction payloads carry it."""
    body: dict[str, Any] = {
        "user": message.user,
        "type": "message",
        "ts": message.ts,
        "text": message.text,
        "team": ws.team_id,
    }
    if message.bot_id is not None:
        body.update(bot_id=message.bot_id, app_id=ws.api_app_id, bot_profile=bot_profile(ws))
    if message.blocks:
        body["blocks"] = message.blocks
    if message.thread_ts is not None:
        body["thread_ts"] = message.thread_ts
        parent = ws.find_message(message.channel, message.thread_ts)
        if parent is not None:
            body["parent_user_id"] = parent.user
    return body


def updated_message_object(ws: Workspace, message: SimMessage) -> dict[str, Any]:
    """The ``message`` of a ``chat.update`` answer (no ``ts``: it is a top-level field there)."""
    body = {key: value for key, value in message_object(ws, message).items() if key != "ts"}
    body.pop("thread_ts", None)
    body.pop("parent_user_id", None)
    body["edited"] = {"user": message.user, "ts": message.ts}
    return body


def conversation_object(
    ws: Workspace, channel: SimChannel, *, num_members: bool = False
) -> dict[str, Any]:
    if channel.is_im:
        body: dict[str, Any] = {
            "id": channel.id,
            "created": channel.created,
            "is_im": True,
            "is_org_shared": False,
            "user": channel.im_user,
            "is_archived": False,
            "is_open": True,
            "context_team_id": ws.team_id,
        }
    else:
        body = {
            "id": channel.id,
            "name": channel.name,
            "is_channel": not channel.is_private and not channel.is_mpim,
            "is_group": channel.is_private and not channel.is_mpim,
            "is_im": False,
            "is_mpim": channel.is_mpim,
            "is_private": channel.is_private,
            "created": channel.created,
            "is_archived": False,
            "is_general": False,
            "name_normalized": channel.name,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": channel.bot_member,
            "context_team_id": ws.team_id,
        }
    if num_members:
        body["num_members"] = len(channel.members) + (1 if channel.bot_member else 0)
    return body


def user_object(ws: Workspace, user: SimUser) -> dict[str, Any]:
    return {
        "id": user.id,
        "team_id": ws.team_id,
        "name": user.name,
        "deleted": False,
        "real_name": user.real_name,
        "tz": "America/New_York",
        "tz_label": "Eastern Standard Time",
        "tz_offset": -18000,
        "profile": {
            "real_name": user.real_name,
            "display_name": user.name,
            "real_name_normalized": user.real_name,
            "display_name_normalized": user.name,
            "team": ws.team_id,
        },
        "is_admin": False,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": user.is_bot,
        "is_app_user": False,
        "updated": int(ws.clock.now()),
    }


def view_snapshot(view: SimView) -> dict[str, Any]:
    """A deep-enough copy of a stored view to hand out without sharing its state."""
    snapshot = dict(view.view)
    snapshot["state"] = {"values": dict(view.view.get("state", {}).get("values", {}))}
    return snapshot
