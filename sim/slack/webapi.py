"""The ``/api/<method>`` routes: token check, planned faults, the method, and the call record."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from sim.slack.args import Args, read_args
from sim.slack.contract import CONTRACTS, MethodContract, SlackError, invalid_arguments
from sim.slack.methods_chat import METHODS as CHAT_METHODS
from sim.slack.methods_directory import METHODS as DIRECTORY_METHODS
from sim.slack.methods_views import METHODS as VIEW_METHODS
from sim.slack.records import SimCall
from sim.slack.state import Method, SimState

logger = logging.getLogger(__name__)

METHODS: dict[str, Method] = {**CHAT_METHODS, **VIEW_METHODS, **DIRECTORY_METHODS}


class WebApi:
    def __init__(self, state: SimState, calls: list[SimCall]) -> None:
        self._state = state
        self._calls = calls

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/{method}", self.handle), web.get("/api/{method}", self.handle)]

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = {}
        try:
            args = await read_args(request)
            token = _bearer(request) or args.pop("token", None)
            body, status, headers = self._answer(method, args, token), 200, {}
        except SlackError as error:
            body, status, headers = _error_body(error), error.status, error.headers
        self._calls.append(SimCall(method, args, status, body, self._state.clock.now()))
        logger.debug("slack_sim.call", extra={"method": method, "error": body.get("error")})
        return web.json_response(body, status=status, headers=headers)

    def _answer(self, method: str, args: dict[str, Any], token: Any) -> dict[str, Any]:
        contract = CONTRACTS.get(method)
        handler = METHODS.get(method)
        if contract is None or handler is None:
            raise SlackError("unknown_method")
        self._check_token(contract, token)
        self._state.faults.check(method, self._channel_key(args))
        for name in sorted(contract.required):
            if args.get(name) in (None, ""):
                raise invalid_arguments(f"missing required field: {name}")
        return {"ok": True, **handler(self._state, Args(args))}

    def _check_token(self, contract: MethodContract, token: Any) -> None:
        if not token:
            raise SlackError("not_authed")
        known = {self._state.bot_token: False, self._state.app_token: True}
        app_level = known.get(str(token))
        if app_level is None:
            raise SlackError("invalid_auth")
        if app_level != contract.app_level:
            raise SlackError("not_allowed_token_type")

    def _channel_key(self, args: dict[str, Any]) -> str | None:
        ref = args.get("channel")
        if ref is None:
            return None
        ws = self._state.workspace
        if ref in ws.users:
            return ws.dm_channel_id(str(ref)) or str(ref)
        channel = ws.channel_by_ref(str(ref))
        return str(ref) if channel is None else channel.id


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[len("bearer ") :].strip() or None
    return None


def _error_body(error: SlackError) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error": error.code}
    if error.messages:
        body["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in error.messages]}
    return body
