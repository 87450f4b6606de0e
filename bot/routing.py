"""Which channel an offer's card goes to: the first routing rule that matches, else the default.

Rules come from ``ROUTING_RULES`` (JSON) or ``ROUTING_RULES_FILE`` (a JSON file), a list of::

    {"channel": "C0CARDIO", "payer_id": "payer_aetna"}
    {"channel": "C0PHARMACY", "request_type": "drug"}
    {"channel": "C0ONCOLOGY", "metadata": {"serviceLine": "oncology"}}

A rule matches when every condition it names holds (payer id, request type, and each metadata key
equal to the given string). Rules are checked at start-up: a bad rule stops the bot with one line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from bot.collate import Authorization
from bot.settings import Settings, SettingsError


class RoutingRule(BaseModel):
    """One rule: conditions on the authorization, and the channel its cards go to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: str = Field(pattern=r"^[CG][A-Z0-9]{2,}$")
    payer_id: str | None = None
    request_type: Literal["inpatient", "outpatient", "drug"] | None = None
    metadata: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_a_condition(self) -> RoutingRule:
        if self.payer_id is None and self.request_type is None and not self.metadata:
            raise ValueError("a rule needs payer_id, request_type or metadata")
        return self

    def matches(self, authorization: Authorization) -> bool:
        request = authorization.request
        payer_id = authorization.payer.id if authorization.payer else None
        payer_id = payer_id or (request.payer_id if request else None)
        request_type = request.request_type if request else None
        return (
            self.payer_id in (None, payer_id)
            and self.request_type in (None, request_type)
            and all(
                authorization.metadata.get(key) == value for key, value in self.metadata.items()
            )
        )


_RULES = TypeAdapter(list[RoutingRule])


class Router:
    """Picks the channel for an offer's card."""

    def __init__(self, default_channel: str, rules: list[RoutingRule]) -> None:
        self._default = default_channel
        self._rules = rules

    @property
    def channels(self) -> frozenset[str]:
        return frozenset({self._default, *(rule.channel for rule in self._rules)})

    def channel_for(self, authorization: Authorization) -> str:
        for rule in self._rules:
            if rule.matches(authorization):
                return rule.channel
        return self._default


def router_from(settings: Settings) -> Router:
    """The settings' router; ``SettingsError`` names the setting and the first bad rule."""
    source, text = _rules_text(settings)
    if text is None:
        return Router(settings.handoff_channel, [])
    try:
        rules = _RULES.validate_python(json.loads(text))
    except json.JSONDecodeError as error:
        raise SettingsError(
            f"configuration error: {source} is not valid JSON: {error.msg}"
        ) from None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"configuration error: {source} rule {where}: {message}") from None
    return Router(settings.handoff_channel, rules)


def _rules_text(settings: Settings) -> tuple[str, str | None]:
    if settings.routing_rules and settings.routing_rules_file:
        raise SettingsError(
            "configuration error: set ROUTING_RULES or ROUTING_RULES_FILE, not both"
        )
    if settings.routing_rules_file:
        path = Path(settings.routing_rules_file)
        try:
            return "ROUTING_RULES_FILE", path.read_text(encoding="utf-8")
        except OSError as error:
            raise SettingsError(
                f"configuration error: ROUTING_RULES_FILE cannot be read: {error.strerror}"
            ) from None
    return "ROUTING_RULES", settings.routing_rules
