"""Modal stacks and Home tabs: how Slack stores, replaces and closes views."""

from __future__ import annotations

import secrets
from typing import Any

from sim.slack.blockkit import Surface, with_block_ids
from sim.slack.contract import SlackError
from sim.slack.records import SimView
from sim.slack.workspace import Workspace

# NOTE: https://docs.slack.dev/surfaces/modals — a root view plus at most two pushed views.
MAX_STACK = 3


def new_hash(ws: Workspace) -> str:
    return f"{int(ws.clock.now())}.{secrets.token_urlsafe(6)[:8]}"


def stored_view(
    ws: Workspace,
    raw: dict[str, Any],
    *,
    view_id: str,
    root_view_id: str,
    previous_view_id: str | None,
) -> dict[str, Any]:
    """The full view object Slack keeps (and returns) for a ``view`` argument."""
    view: dict[str, Any] = {
        "id": view_id,
        "team_id": ws.team_id,
        "type": raw["type"],
        "blocks": with_block_ids(raw["blocks"], ws.ids),
        "private_metadata": raw.get("private_metadata", ""),
        "callback_id": raw.get("callback_id", ""),
        "state": {"values": {}},
        "hash": new_hash(ws),
        "title": raw.get("title"),
        "clear_on_close": bool(raw.get("clear_on_close", False)),
        "notify_on_close": bool(raw.get("notify_on_close", False)),
        "close": raw.get("close"),
        "submit": raw.get("submit"),
        "previous_view_id": previous_view_id,
        "root_view_id": root_view_id,
        "app_id": ws.api_app_id,
        "external_id": raw.get("external_id", ""),
        "app_installed_team_id": ws.team_id,
        "bot_id": ws.bot_id,
    }
    if "submit_disabled" in raw:
        view["submit_disabled"] = bool(raw["submit_disabled"])
    if view["title"] is None and raw["type"] == "home":
        del view["title"]
    return view


def check_external_id(ws: Workspace, raw: dict[str, Any], replacing: SimView | None) -> None:
    external_id = raw.get("external_id")
    if not external_id:
        return
    for view in ws.live_views():
        if view.external_id == external_id and view is not replacing:
            raise SlackError("duplicate_external_id")


def open_modal(ws: Workspace, user_id: str, raw: dict[str, Any]) -> SimView:
    check_external_id(ws, raw, None)
    view_id = ws.ids.next("V")
    view = SimView(
        view_id,
        user_id,
        stored_view(ws, raw, view_id=view_id, root_view_id=view_id, previous_view_id=None),
    )
    ws.modal_stacks[user_id] = [view]
    return view


def push_modal(ws: Workspace, user_id: str, raw: dict[str, Any]) -> SimView:
    stack = ws.modal_stacks.get(user_id) or []
    if not stack:
        raise SlackError("not_found", "no modal is open to push onto")
    if len(stack) >= MAX_STACK:
        raise SlackError("push_limit_reached")
    check_external_id(ws, raw, None)
    view_id = ws.ids.next("V")
    stored = stored_view(
        ws, raw, view_id=view_id, root_view_id=stack[0].id, previous_view_id=stack[-1].id
    )
    view = SimView(view_id, user_id, stored)
    stack.append(view)
    return view


def replace_view(ws: Workspace, view: SimView, raw: dict[str, Any], surface: Surface) -> None:
    """``views.update`` and ``response_action: update``: same id, new content and hash.

    Input a person typed survives where the new view keeps the same block_id and action_id.
    """
    if raw["type"] != surface:
        raise SlackError("invalid_arguments", f"view.type must stay {surface!r}")
    check_external_id(ws, raw, view)
    stored = stored_view(
        ws,
        raw,
        view_id=view.id,
        root_view_id=str(view.view.get("root_view_id", view.id)),
        previous_view_id=view.view.get("previous_view_id"),
    )
    stored["state"] = {"values": _kept_values(view, stored)}
    view.view = stored


def _kept_values(old: SimView, new_view: dict[str, Any]) -> dict[str, Any]:
    old_values: dict[str, Any] = old.view.get("state", {}).get("values", {})
    kept: dict[str, Any] = {}
    for block in new_view["blocks"]:
        element = block.get("element")
        block_values = old_values.get(block.get("block_id"), {})
        if isinstance(element, dict) and element.get("action_id") in block_values:
            action_id = element["action_id"]
            kept.setdefault(block["block_id"], {})[action_id] = block_values[action_id]
    return kept


def publish_home(ws: Workspace, user_id: str, raw: dict[str, Any], hash_: str | None) -> SimView:
    home = ws.homes.get(user_id)
    if home is None:
        check_external_id(ws, raw, None)
        view_id = ws.ids.next("V")
        stored = stored_view(ws, raw, view_id=view_id, root_view_id=view_id, previous_view_id=None)
        home = SimView(view_id, user_id, stored)
        ws.homes[user_id] = home
        return home
    if hash_ is not None and hash_ != home.hash:
        raise SlackError("hash_conflict")
    replace_view(ws, home, raw, "home")
    return home


def close_view(ws: Workspace, view: SimView) -> None:
    """Close ``view`` and anything pushed on top of it; the stack goes back to its parent."""
    stack = ws.modal_stacks.get(view.user, [])
    if view in stack:
        del stack[stack.index(view) :]
    if not stack:
        ws.modal_stacks.pop(view.user, None)


def clear_modals(ws: Workspace, user_id: str) -> None:
    ws.modal_stacks.pop(user_id, None)
