"""What Slack sends the bot: interaction payloads, Events API callbacks, Socket Mode envelopes.

Shapes follow the real payloads in ``shared/vendor/bolt-python/interactivity/``,
``java-slack-sdk/app-backend/`` and ``python-slack-sdk/socket_mode/``; the tests check that each
builder produces at least the keys those files have.
"""

from __future__ import annotations

from typing import Any

from sim.slack.workspace import SimChannel, SimUser, Workspace

# Deprecated but still sent by Slack; Bolt ignores it.
VERIFICATION_TOKEN = "sim-verification-token"  # noqa: S105


def user_ref(ws: Workspace, user: SimUser) -> dict[str, Any]:
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": ws.team_id}


def team_ref(ws: Workspace) -> dict[str, Any]:
    team: dict[str, Any] = {"id": ws.team_id, "domain": ws.team_domain}
    if ws.enterprise_id is not None:
        team.update(enterprise_id=ws.enterprise_id, enterprise_name="Sim Enterprise")
    return team


def channel_ref(channel: SimChannel) -> dict[str, Any]:
    name = "directmessage" if channel.is_im else channel.name
    return {"id": channel.id, "name": name}


def _interaction(ws: Workspace, kind: str, user: SimUser) -> dict[str, Any]:
    enterprise = None
    if ws.enterprise_id is not None:
        enterprise = {"id": ws.enterprise_id, "name": "Sim Enterprise"}
    return {
        "type": kind,
        "user": user_ref(ws, user),
        "api_app_id": ws.api_app_id,
        "token": VERIFICATION_TOKEN,
        "team": team_ref(ws),
        "enterprise": enterprise,
        "is_enterprise_install": False,
    }


def message_block_actions(
    ws: Workspace,
    user: SimUser,
    *,
    channel: SimChannel,
    message_ts: str,
    thread_ts: str | None,
    message: dict[str, Any] | None,
    actions: list[dict[str, Any]],
    trigger_id: str,
    response_url: str,
) -> dict[str, Any]:
    """A ``block_actions`` payload for an element on a message.

    ``message`` is ``None`` for an ephemeral message: Slack sends only its container then.
    """
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel.id,
        "is_ephemeral": message is None,
    }
    if thread_ts is not None:
        container["thread_ts"] = thread_ts
    payload = _interaction(ws, "block_actions", user)
    payload.update(container=container, trigger_id=trigger_id, channel=channel_ref(channel))
    if message is not None:
        payload["message"] = message
    payload.update(state={"values": {}}, response_url=response_url, actions=actions)
    return payload


def view_block_actions(
    ws: Workspace,
    user: SimUser,
    *,
    view: dict[str, Any],
    actions: list[dict[str, Any]],
    trigger_id: str,
) -> dict[str, Any]:
    """A ``block_actions`` payload for an element in a modal or Home tab (no response_url)."""
    payload = _interaction(ws, "block_actions", user)
    payload.update(
        container={"type": "view", "view_id": view["id"]},
        trigger_id=trigger_id,
        view=view,
        actions=actions,
    )
    return payload


def view_submission(
    ws: Workspace, user: SimUser, *, view: dict[str, Any], trigger_id: str
) -> dict[str, Any]:
    payload = _interaction(ws, "view_submission", user)
    payload.update(trigger_id=trigger_id, view=view, response_urls=[])
    return payload


def view_closed(
    ws: Workspace, user: SimUser, *, view: dict[str, Any], is_cleared: bool
) -> dict[str, Any]:
    payload = _interaction(ws, "view_closed", user)
    payload.update(view=view, is_cleared=is_cleared, response_urls=[])
    return payload


def event_callback(
    ws: Workspace, event: dict[str, Any], *, event_id: str, event_time: int
) -> dict[str, Any]:
    """The outer Events API envelope around one event."""
    context = f"1-{event.get('type', '')}-{ws.team_id}-{event.get('channel', '')}"
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": ws.team_id,
        "enterprise_id": ws.enterprise_id,
        "api_app_id": ws.api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": ws.enterprise_id,
                "team_id": ws.team_id,
                "user_id": ws.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": context,
    }


def socket_envelope(
    kind: str,
    payload: dict[str, Any],
    *,
    envelope_id: str,
    accepts_response_payload: bool,
    retry_attempt: int | None = None,
    retry_reason: str | None = None,
) -> dict[str, Any]:
    envelope: dict[str, Any] = {
        "envelope_id": envelope_id,
        "payload": payload,
        "type": kind,
        "accepts_response_payload": accepts_response_payload,
    }
    if kind == "events_api":
        envelope.update(retry_attempt=retry_attempt or 0, retry_reason=retry_reason or "")
    return envelope


def socket_hello(app_id: str, num_connections: int) -> dict[str, Any]:
    return {
        "type": "hello",
        "num_connections": num_connections,
        "debug_info": {
            "host": "slack-sim",
            "build_number": 1,
            "approximate_connection_time": 18060,
        },
        "connection_info": {"app_id": app_id},
    }


def socket_disconnect(app_id: str, reason: str, num_connections: int) -> dict[str, Any]:
    return {
        "type": "disconnect",
        "reason": reason,
        "num_connections": num_connections,
        "debug_info": {"host": "slack-sim"},
        "connection_info": {"app_id": app_id},
    }
