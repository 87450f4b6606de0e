"""People in the simulated workspace, who click, choose, type and submit like a Slack user."""

from __future__ import annotations

from typing import Any

from sim.slack.interactions import ElementChoice, Interactions
from sim.slack.records import AppResponse, SimMessage
from sim.slack.signing import Signer
from sim.slack.workspace import SimUser, Workspace


class SlackPerson:
    """Someone in the workspace. Every action reaches the bot exactly as Slack would send it.

    Actions look the element up in what the person can currently see and raise an
    ``AssertionError`` naming what is there when it is not, so a test proves the button exists.
    """

    def __init__(
        self, user: SimUser, workspace: Workspace, interactions: Interactions, signer: Signer
    ) -> None:
        self.user = user
        self._workspace = workspace
        self._interactions = interactions
        self._signer = signer

    @property
    def id(self) -> str:
        return self.user.id

    @property
    def name(self) -> str:
        return self.user.name

    def __repr__(self) -> str:
        return f"SlackPerson({self.name!r}, id={self.id!r})"

    async def click(
        self,
        channel_id: str,
        ts: str,
        action_id: str,
        *,
        value: str | None = None,
        block_id: str | None = None,
    ) -> AppResponse:
        """Press a button (link buttons too) on a message; ``value`` picks among same-id buttons."""
        choice = ElementChoice(action_id, block_id=block_id, value=value)
        return await self._interactions.on_message(self.user, channel_id, ts, choice)

    async def select(
        self,
        channel_id: str,
        ts: str,
        action_id: str,
        option_value: str,
        *,
        block_id: str | None = None,
    ) -> AppResponse:
        """Choose an option of an ``overflow``, ``static_select`` or ``radio_buttons`` element."""
        choice = ElementChoice(action_id, block_id=block_id, option_value=option_value)
        return await self._interactions.on_message(self.user, channel_id, ts, choice)

    async def click_in_view(
        self,
        view_id: str,
        action_id: str,
        *,
        value: str | None = None,
        block_id: str | None = None,
    ) -> AppResponse:
        """Press a button in the open modal or on the person's Home tab."""
        choice = ElementChoice(action_id, block_id=block_id, value=value)
        return await self._interactions.on_view(self.user, view_id, choice)

    async def select_in_view(
        self, view_id: str, action_id: str, option_value: str, *, block_id: str | None = None
    ) -> AppResponse:
        choice = ElementChoice(action_id, block_id=block_id, option_value=option_value)
        return await self._interactions.on_view(self.user, view_id, choice)

    async def submit_view(
        self, view_id: str, values: dict[str, dict[str, Any]] | None = None
    ) -> AppResponse:
        """Fill in the modal (``{block_id: {action_id: value}}``) and press its submit button.

        A value is a string for text inputs and the option ``value`` for selects and radio
        buttons (a list of them for checkboxes). The answer's ``view_outcome`` says whether the
        modal closed, stayed open with ``errors``, was updated, pushed or cleared.
        """
        return await self._interactions.submit(self.user, view_id, values or {})

    async def close_view(self, view_id: str) -> AppResponse | None:
        """Press the modal's close button; the bot hears of it only with ``notify_on_close``."""
        return await self._interactions.close(self.user, view_id)

    def post_message(
        self, channel_id: str, text: str, *, thread_ts: str | None = None
    ) -> SimMessage:
        """Record a message this person wrote (no event is sent; see ``send_event``)."""
        channel = self._workspace.channel(channel_id)
        if self.id not in channel.members:
            raise AssertionError(f"{self.name} is not a member of {channel_id}")
        return self._workspace.post(channel_id, self.id, text, [], thread_ts=thread_ts)

    def sign_headers(self, body: bytes | str, timestamp: int | str | None = None) -> dict[str, str]:
        """Slack's signature headers for ``body``, for tests that send their own requests."""
        return self._signer.sign_headers(body, timestamp)
