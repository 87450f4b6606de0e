"""The ``response_url`` route: what a bot posts there replaces, deletes or adds a message."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sim.slack.blockkit import parse_message_blocks, with_block_ids
from sim.slack.capabilities import ResponseUrl
from sim.slack.contract import SlackError
from sim.slack.records import Block, ResponseUrlPost, SimEphemeral, SimMessage
from sim.slack.state import SimState


class ResponseUrlRoute:
    def __init__(self, state: SimState, posts: list[ResponseUrlPost]) -> None:
        self._state = state
        self._posts = posts

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/actions/{key}", self.handle)]

    async def handle(self, request: web.Request) -> web.Response:
        payload: dict[str, Any] = {}
        try:
            payload = await _json_object(request)
            target = self._state.response_urls.use(request.match_info["key"])
            outcome, status, body = self._apply(target, payload), 200, {"ok": True}
        except SlackError as error:
            outcome, status, body = f"rejected:{error.code}", error.status, _error(error)
        self._posts.append(ResponseUrlPost(str(request.url), payload, status, outcome))
        return web.json_response(body, status=status)

    def _apply(self, target: ResponseUrl, payload: dict[str, Any]) -> str:
        original = self._original(target)
        if payload.get("delete_original"):
            if original is not None:
                original.deleted = True
            return "deleted"
        text, blocks = _content(self._state, payload)
        if payload.get("replace_original") and original is not None:
            original.edits.append((original.text, original.blocks))
            original.text, original.blocks = text, blocks
            return "replaced"
        ws = self._state.workspace
        thread_ts = payload.get("thread_ts") or target.thread_ts
        if payload.get("response_type") == "in_channel":
            ws.post(target.channel, ws.bot_user_id, text, blocks, thread_ts=thread_ts)
            return "in_channel"
        ts = ws.ts.next(target.channel)
        ws.ephemerals.append(SimEphemeral(target.channel, target.user, ts, thread_ts, text, blocks))
        return "ephemeral"

    def _original(self, target: ResponseUrl) -> SimMessage | SimEphemeral | None:
        ws = self._state.workspace
        if target.is_ephemeral:
            return ws.find_ephemeral(target.channel, target.message_ts, target.user)
        message = ws.find_message(target.channel, target.message_ts)
        return None if message is None or message.deleted else message


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        payload = await request.json()
    except ValueError:
        raise SlackError("invalid_payload", status=400) from None
    if not isinstance(payload, dict):
        raise SlackError("invalid_payload", status=400)
    return payload


def _content(state: SimState, payload: dict[str, Any]) -> tuple[str, list[Block]]:
    try:
        blocks = parse_message_blocks(payload.get("blocks")) or []
    except SlackError as error:
        raise SlackError(error.code, *error.messages, status=400) from None
    text = str(payload.get("text") or "")
    if not text and not blocks:
        raise SlackError("no_text", status=400)
    return text, with_block_ids(blocks, state.workspace.ids)


def _error(error: SlackError) -> dict[str, Any]:
    return {"ok": False, "error": error.code}
