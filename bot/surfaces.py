"""The Slack side of the core: posting and editing cards, thread replies, DMs and notices.

Everything the bot shows goes through here, built by ``blocks``. Link unfurling is off on every
post: a DM carries a bearer grant URL, and a card has nothing worth unfurling.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.model import SlackMessage

logger = logging.getLogger(__name__)


def _code(error: SlackApiError) -> str:
    return str(error.response.get("error", ""))


class Surfaces:
    """Thin, typed wrapper over the Web API calls the bot makes."""

    def __init__(self, client: AsyncWebClient, *, post_spacing_seconds: float = 0.0) -> None:
        self._client = client
        self._spacing = post_spacing_seconds
        self._next_post: dict[str, float] = {}

    async def post(self, channel: str, message: SlackMessage, *, thread_ts: str = "") -> str:
        """Post a message (a thread reply when ``thread_ts`` is set) and return its ts."""
        arguments: dict[str, Any] = {"channel": channel, **message}
        if thread_ts:
            arguments["thread_ts"] = thread_ts
        response = await self._client.chat_postMessage(
            **arguments, unfurl_links=False, unfurl_media=False
        )
        return str(response["ts"])

    async def wait_turn(self, channel: str) -> None:
        """Wait for this channel's next posting slot, ``post_spacing_seconds`` after the last.

        ``chat.postMessage`` allows about one a second per channel (slack-platform §3): a burst
        of new cards goes out at that pace instead of into 429s, each of which would cost
        ``Retry-After`` plus up to 1 s of slack_sdk's jitter."""
        if self._spacing <= 0:
            return
        now = asyncio.get_running_loop().time()
        turn = max(now, self._next_post.get(channel, now))
        self._next_post[channel] = turn + self._spacing
        if len(self._next_post) > 10_000:
            self._next_post = {c: t for c, t in self._next_post.items() if t > now}
        if turn > now:
            await asyncio.sleep(turn - now)

    async def update(self, channel: str, ts: str, message: SlackMessage) -> None:
        await self._client.chat_update(channel=channel, ts=ts, **message)

    async def reply(self, channel: str, thread_ts: str, message: SlackMessage) -> None:
        """A thread reply; a failure is logged, since the card itself already tells the story."""
        try:
            await self.post(channel, message, thread_ts=thread_ts)
        except SlackApiError as error:
            logger.warning(
                "slack.thread_reply_failed",
                extra={"channel": channel, "error_code": error.response.get("error")},
            )

    async def open_dm(self, user_id: str) -> str:
        response = await self._client.conversations_open(users=user_id)
        channel = response["channel"]
        return str(channel["id"])

    async def tell(self, channel: str, user_id: str, text: str) -> None:
        """A private notice to one person: ephemeral in the channel, else a DM."""
        if not channel:
            await self._client.chat_postMessage(channel=user_id, text=text)
            return
        try:
            await self._client.chat_postEphemeral(channel=channel, user=user_id, text=text)
            return
        except SlackApiError as error:
            logger.info(
                "slack.ephemeral_failed",
                extra={
                    "channel": channel,
                    "user": user_id,
                    "error_code": error.response.get("error"),
                },
            )
        await self._client.chat_postMessage(channel=user_id, text=text)

    async def open_modal(self, trigger_id: str, view: dict[str, Any]) -> None:
        await self._client.views_open(trigger_id=trigger_id, view=view)

    async def permalink(self, channel: str, ts: str) -> str | None:
        try:
            response = await self._client.chat_getPermalink(channel=channel, message_ts=ts)
        except SlackApiError:
            return None
        link = response.get("permalink")
        return str(link) if link else None
