"""Modal submissions: validated inline, acked, then sent to Collate by the core."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from blocks import forms
from blocks.ids import ActionRef, CallbackId, InvalidActionRef
from blocks.model import FormErrors
from bot.background import Background
from bot.handoffs import HandoffService
from bot.refusals import StaleButton
from handlers import dedupe
from handlers.replies import run_for

logger = logging.getLogger(__name__)


def register(app: AsyncApp, handoffs: HandoffService, background: Background) -> None:
    submissions = _Submissions(handoffs, background)
    app.view(CallbackId.COMPLETE.value)(submissions.complete)
    app.view(CallbackId.UNABLE.value)(submissions.unable)
    app.view(CallbackId.REVOKE.value)(submissions.revoke)


class _Submissions:
    def __init__(self, handoffs: HandoffService, background: Background) -> None:
        self._handoffs = handoffs
        self._background = background

    async def complete(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        form = forms.parse_complete(_values(body))

        async def close(ref: ActionRef, user_id: str) -> None:
            assert isinstance(form, forms.CompleteForm)
            await self._handoffs.complete(
                ref,
                user_id,
                reported_outcome=form.reported_outcome,
                observed_reference_number=form.observed_reference_number,
                operator_notes=form.operator_notes,
            )

        await self._submit(ack, body, form, close)

    async def unable(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        form = forms.parse_unable(_values(body))

        async def close(ref: ActionRef, user_id: str) -> None:
            assert isinstance(form, forms.UnableForm)
            await self._handoffs.unable_to_complete(
                ref, user_id, reason=form.reason, operator_notes=form.operator_notes
            )

        await self._submit(ack, body, form, close)

    async def revoke(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        form = forms.parse_revoke(_values(body))

        async def close(ref: ActionRef, user_id: str) -> None:
            assert isinstance(form, forms.RevokeForm)
            await self._handoffs.revoke(ref, user_id, reason=form.reason, notes=form.notes)

        await self._submit(ack, body, form, close)

    async def _submit(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        form: object,
        close: Callable[[ActionRef, str], Awaitable[None]],
    ) -> None:
        if isinstance(form, FormErrors):
            await ack(response_action="errors", errors=dict(form.errors))
            return
        await ack()
        user_id = str(body.get("user", {}).get("id", ""))
        callback_id = str(body.get("view", {}).get("callback_id", ""))
        try:
            ref = ActionRef.decode(str(body.get("view", {}).get("private_metadata", "")))
        except InvalidActionRef:
            logger.warning("handoff.invalid_private_metadata", extra={"user": user_id})
            self._background.spawn(self._refuse_stale(user_id, callback_id), name=callback_id)
            return
        trigger_id = str(body.get("trigger_id") or "")
        self._background.spawn(
            self._close_once(trigger_id, ref, user_id, callback_id, close), name=callback_id
        )

    async def _close_once(
        self,
        trigger_id: str,
        ref: ActionRef,
        user_id: str,
        callback_id: str,
        close: Callable[[ActionRef, str], Awaitable[None]],
    ) -> None:
        if await dedupe.first_time(self._handoffs.store, trigger_id):
            await self._close(ref, user_id, callback_id, close)

    async def _refuse_stale(self, user_id: str, callback_id: str) -> None:
        """A modal this bot did not write: no card to answer in, so the person is told by DM."""
        await run_for(
            self._handoffs.surfaces,
            channel="",
            user_id=user_id,
            action=callback_id,
            work=_raise_stale(),
        )

    async def _close(
        self,
        ref: ActionRef,
        user_id: str,
        callback_id: str,
        close: Callable[[ActionRef, str], Awaitable[None]],
    ) -> None:
        await run_for(
            self._handoffs.surfaces,
            channel=await self._handoffs.card_channel(ref.authorization_id),
            user_id=user_id,
            action=callback_id,
            work=close(ref, user_id),
        )


async def _raise_stale() -> None:
    raise StaleButton()


def _values(body: dict[str, Any]) -> dict[str, Any]:
    values = body.get("view", {}).get("state", {}).get("values", {})
    return values if isinstance(values, dict) else {}
