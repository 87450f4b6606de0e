"""Stable identifiers of every interactive surface, and the typed value buttons and modals carry.

Button values and ``private_metadata`` are readable by anyone with channel history (values) or by
the app (metadata), and Slack forbids PHI there: they carry ids and versions only.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ActionId(StrEnum):
    """``action_id`` of every button the bot posts. Values are stable: old cards stay clickable."""

    ACCEPT = "handoff.accept"
    REVIEW = "handoff.review"
    OPEN_LINK = "handoff.open_link"
    NEW_LINK = "handoff.new_link"
    COMPLETE = "handoff.complete"
    UNABLE = "handoff.unable"
    REVOKE = "handoff.revoke"
    MORE = "handoff.more"


class CallbackId(StrEnum):
    """``callback_id`` of every modal the bot opens."""

    COMPLETE = "handoff.complete_modal"
    UNABLE = "handoff.unable_modal"
    REVOKE = "handoff.revoke_modal"


class ActionRef(BaseModel):
    """What a button or modal points at: ids only, serialized compactly into ``value``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    authorization_id: str = Field(alias="a", min_length=1, max_length=100)
    review_snapshot_id: str | None = Field(default=None, alias="r", max_length=100)
    handoff_id: str | None = Field(default=None, alias="h", max_length=100)

    def encode(self) -> str:
        return self.model_dump_json(by_alias=True, exclude_none=True)

    @classmethod
    def decode(cls, raw: str) -> ActionRef:
        """Parse a value sent back by Slack; raises ``InvalidActionRef`` on anything else."""
        try:
            return cls.model_validate_json(raw)
        except ValidationError as error:
            raise InvalidActionRef(str(error.error_count())) from None


class InvalidActionRef(ValueError):
    """A button value or ``private_metadata`` that this bot did not write."""
