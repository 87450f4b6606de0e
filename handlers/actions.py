"""Button and overflow clicks on cards and DMs. Every listener acks first, then works."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError

from blocks import card, modals
from blocks.ids import ActionId, ActionRef, InvalidActionRef
from bot.background import Background
from bot.handoffs import HandoffService
from bot.refusals import ClickTooSlow, StaleButton
from handlers import dedupe
from handlers.replies import run_for

logger = logging.getLogger(__name__)


def register(app: AsyncApp, handoffs: HandoffService, background: Background) -> None:
    clicks = _Clicks(handoffs, background)
    app.action(ActionId.ACCEPT.value)(clicks.accept)
    app.action(ActionId.REVIEW.value)(clicks.review)
    app.action(ActionId.OPEN_LINK.value)(clicks.open_link)
    app.action(ActionId.NEW_LINK.value)(clicks.new_link)
    app.action(ActionId.COMPLETE.value)(clicks.complete)
    app.action(ActionId.UNABLE.value)(clicks.unable)
    app.action(ActionId.REVOKE.value)(clicks.revoke)
    app.action(ActionId.MORE.value)(clicks.more)


class _Clicks:
    def __init__(self, handoffs: HandoffService, background: Background) -> None:
        self._handoffs = handoffs
        self._surfaces = handoffs.surfaces
        self._background = background

    async def accept(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        click = _Click.of(body)

        async def accept(ref: ActionRef) -> None:
            await self._handoffs.adopt_card_ts(
                ref.authorization_id, click.channel, click.message_ts
            )
            await self._handoffs.accept(ref, click.user_id)

        await self._run(click, click.work(accept))

    async def review(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        click = _Click.of(body)
        await self._run(
            click, click.work(lambda ref: self._handoffs.send_review(ref, click.user_id))
        )

    async def open_link(self, ack: AsyncAck) -> None:
        # NOTE: a link button still sends block_actions and must be acked, or Slack shows the
        # person a warning icon; the browser has already opened the URL.
        await ack()

    async def new_link(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        click = _Click.of(body)
        await self._run(
            click, click.work(lambda ref: self._handoffs.issue_link(ref, click.user_id))
        )

    async def complete(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await self._open_close_modal(_Click.of(body), ActionId.COMPLETE)

    async def unable(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await self._open_close_modal(_Click.of(body), ActionId.UNABLE)

    async def revoke(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        await self._open_close_modal(_Click.of(body), ActionId.REVOKE)

    async def more(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        click = _Click.of(body)
        try:
            action_id, ref = card.decode_more_option(click.selected_option)
        except (InvalidActionRef, ValueError):
            await self._run(click, _raise_stale())
            return
        click = click.pointing_at(ref.encode())
        if action_id is ActionId.NEW_LINK:
            await self._run(
                click, click.work(lambda ref: self._handoffs.issue_link(ref, click.user_id))
            )
            return
        await self._open_close_modal(click, action_id)

    async def _open_close_modal(self, click: _Click, action_id: ActionId) -> None:
        async def open_modal(ref: ActionRef) -> None:
            record = await self._handoffs.check_closer(ref, click.user_id, action_id)
            target = ActionRef(
                authorization_id=record.authorization_id, handoff_id=record.handoff_id
            )
            try:
                await self._surfaces.open_modal(click.trigger_id, _modal_for(action_id, target))
            except SlackApiError as error:
                if error.response.get("error") not in _SPENT_TRIGGER:
                    raise
                raise ClickTooSlow() from None

        await self._run(click, click.work(open_modal))

    async def _run(self, click: _Click, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` after the ack has gone back to Slack, once per interaction; failures
        are told privately."""

        async def once() -> None:
            if not await dedupe.first_time(self._handoffs.store, click.trigger_id):
                work.close()
                return
            await run_for(
                self._surfaces,
                channel=click.channel,
                user_id=click.user_id,
                action=click.action_id,
                work=work,
            )

        self._background.spawn(once(), name=click.action_id)


def _modal_for(action_id: ActionId, ref: ActionRef) -> dict[str, Any]:
    if action_id is ActionId.UNABLE:
        return modals.unable_modal(ref)
    if action_id is ActionId.REVOKE:
        return modals.revoke_modal(ref)
    return modals.complete_modal(ref)


_SPENT_TRIGGER = frozenset({"expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id"})
"""A trigger is good for 3 s and one use (https://api.slack.com/docs/triggers)."""


async def _raise_stale() -> None:
    raise StaleButton()


class _Click:
    """The parts of a ``block_actions`` payload the bot uses; everything else is ignored."""

    def __init__(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        self.user_id = str(body.get("user", {}).get("id", ""))
        self.channel = str((body.get("channel") or body.get("container") or {}).get("id", ""))
        if not self.channel:
            self.channel = str(body.get("container", {}).get("channel_id", ""))
        self.trigger_id = str(body.get("trigger_id", ""))
        self.message_ts = str(body.get("container", {}).get("message_ts", ""))
        self.action_id = str(action.get("action_id", ""))
        self.value = str(action.get("value", ""))
        self.selected_option = str((action.get("selected_option") or {}).get("value", ""))
        self._body = body
        self._action = action

    @classmethod
    def of(cls, body: dict[str, Any]) -> _Click:
        actions = body.get("actions") or [{}]
        return cls(body, actions[0])

    def pointing_at(self, value: str) -> _Click:
        return _Click(self._body, {**self._action, "value": value})

    async def work(self, call: Callable[[ActionRef], Awaitable[None]]) -> None:
        """Decode the button's ids (never trusted: the core checks them) and run ``call``."""
        try:
            ref = ActionRef.decode(self.value)
        except InvalidActionRef:
            logger.warning("handoff.invalid_button_value", extra={"user": self.user_id})
            raise StaleButton() from None
        await call(ref)
