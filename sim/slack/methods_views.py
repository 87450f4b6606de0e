"""``views.*``: modals opened from a trigger, their updates, and each person's Home tab."""

from __future__ import annotations

from typing import Any

from sim.slack.args import Args
from sim.slack.blockkit import Surface, parse_view, run_checker
from sim.slack.contract import SlackError, invalid_arguments
from sim.slack.modals import open_modal, publish_home, push_modal, replace_view
from sim.slack.objects import view_snapshot
from sim.slack.records import SimView
from sim.slack.state import Method, SimState


def views_open(state: SimState, args: Args) -> dict[str, Any]:
    raw = _checked_view(state, args, "modal")
    trigger = state.triggers.redeem(_trigger_id(args))
    view = open_modal(state.workspace, trigger.user, raw)
    return {"view": view_snapshot(view)}


def views_push(state: SimState, args: Args) -> dict[str, Any]:
    raw = _checked_view(state, args, "modal")
    trigger = state.triggers.redeem(_trigger_id(args))
    view = push_modal(state.workspace, trigger.user, raw)
    return {"view": view_snapshot(view)}


def views_update(state: SimState, args: Args) -> dict[str, Any]:
    view = _target_view(state, args)
    expected_hash = args.text("hash")
    if expected_hash is not None and expected_hash != view.hash:
        raise SlackError("hash_conflict")
    surface: Surface = "home" if view.type == "home" else "modal"
    raw = _checked_view(state, args, surface)
    replace_view(state.workspace, view, raw, surface)
    return {"view": view_snapshot(view)}


def views_publish(state: SimState, args: Args) -> dict[str, Any]:
    ws = state.workspace
    user_id = args.required("user_id")
    if user_id not in ws.users or ws.users[user_id].is_bot:
        raise invalid_arguments("invalid `user_id`")
    raw = _checked_view(state, args, "home")
    home = publish_home(ws, user_id, raw, args.text("hash"))
    return {"view": view_snapshot(home)}


def _checked_view(state: SimState, args: Args, surface: Surface) -> dict[str, Any]:
    raw = parse_view(args.raw("view"), surface)
    run_checker(state.block_checker, surface, raw)
    return raw


def _trigger_id(args: Args) -> str | None:
    return args.text("trigger_id") or args.text("interactivity_pointer")


def _target_view(state: SimState, args: Args) -> SimView:
    view_id, external_id = args.text("view_id"), args.text("external_id")
    if not view_id and not external_id:
        raise invalid_arguments("either view_id or external_id is required")
    ws = state.workspace
    if view_id:
        view = ws.find_view(view_id)
    else:
        view = next((v for v in ws.live_views() if v.external_id == external_id), None)
    if view is None:
        raise SlackError("not_found")
    return view


METHODS: dict[str, Method] = {
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
}
