"""Who is who: ``auth.test``, ``users.info``, ``usergroups.users.list``, and the Socket Mode URL."""

from __future__ import annotations

from typing import Any

from sim.slack.args import Args
from sim.slack.contract import SlackError
from sim.slack.objects import user_object
from sim.slack.state import Method, SimState


def auth_test(state: SimState, args: Args) -> dict[str, Any]:
    ws = state.workspace
    body: dict[str, Any] = {
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": ws.team_name,
        "user": ws.users[ws.bot_user_id].name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "app_id": ws.api_app_id,
        "is_enterprise_install": False,
    }
    if ws.enterprise_id is not None:
        body["enterprise_id"] = ws.enterprise_id
    return body


def users_info(state: SimState, args: Args) -> dict[str, Any]:
    ws = state.workspace
    user = ws.users.get(args.required("user"))
    if user is None:
        raise SlackError("user_not_found")
    return {"user": user_object(ws, user)}


def usergroup_users(state: SimState, args: Args) -> dict[str, Any]:
    group = state.workspace.usergroups.get(args.required("usergroup"))
    if group is None:
        raise SlackError("no_such_subteam")
    return {"users": list(group.users)}


def connections_open(state: SimState, args: Args) -> dict[str, Any]:
    if state.issue_socket_url is None:
        raise SlackError("internal_error", "the simulator is not started")
    return {"url": state.issue_socket_url()}


METHODS: dict[str, Method] = {
    "auth.test": auth_test,
    "users.info": users_info,
    "usergroups.users.list": usergroup_users,
    "apps.connections.open": connections_open,
}
