"""Settings, read from the environment with Slack's conventional names.

A missing or malformed setting stops start-up with one line naming it (``SettingsError``).
Secrets are ``SecretStr``: their ``repr`` and ``str`` never show the value.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from blocks.summary import SAFE_SUMMARY_FIELDS

DEFAULT_SUMMARY_FIELDS = tuple(sorted(SAFE_SUMMARY_FIELDS))
"""Review-summary keys safe for a channel (see ``blocks.summary``); everything else in a summary
may be patient data."""

_CHANNEL = r"^[CG][A-Z0-9]{2,}$"
_USER_GROUP = r"^S[A-Z0-9]{2,}$"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class SettingsError(Exception):
    """A setting is missing or malformed; ``str()`` is one line that names it."""


class Settings(BaseSettings):
    """Every setting of the bot. The README's settings table lists the same names."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    slack_bot_token: SecretStr = Field(min_length=1)
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    collate_api_key: SecretStr = Field(min_length=1)
    collate_base_url: str = Field(min_length=1)
    collate_if_match_version: Literal["authorization", "handoff"] = "authorization"
    handoff_channel: str = Field(pattern=_CHANNEL)
    supervisor_channel: str | None = Field(default=None, pattern=_CHANNEL)
    operator_group: str | None = Field(default=None, pattern=_USER_GROUP)
    supervisor_group: str | None = Field(default=None, pattern=_USER_GROUP)
    group_cache_seconds: float = Field(default=300.0, gt=0, le=86_400)
    routing_rules: str | None = None
    routing_rules_file: str | None = None
    slack_team_id: str | None = Field(default=None, pattern=r"^T[A-Z0-9]{2,}$")
    slack_enterprise_id: str | None = Field(default=None, pattern=r"^E[A-Z0-9]{2,}$")
    redis_url: str | None = None
    redis_key_prefix: str = Field(default="handoff", pattern=r"^[a-z0-9_-]{1,32}$")
    poll_interval_seconds: float = Field(default=10.0, gt=0, le=3600)
    watcher_lease_seconds: float = Field(default=30.0, gt=0, le=3600)
    slack_post_spacing_seconds: float = Field(default=1.05, ge=0, le=60)
    snapshot_summary_fields: Annotated[tuple[str, ...], NoDecode] = DEFAULT_SUMMARY_FIELDS
    log_level: LogLevel = "INFO"
    port: int = Field(default=3000, ge=1, le=65535)

    @field_validator("slack_api_url", "collate_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("snapshot_summary_fields", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _mode_has_credentials(self) -> Settings:
        if self.slack_app_token is None and self.slack_signing_secret is None:
            raise ValueError(
                "SLACK_SIGNING_SECRET is required in HTTP mode"
                " (or set SLACK_APP_TOKEN for Socket Mode)"
            )
        return self

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def summary_fields(self) -> frozenset[str]:
        return frozenset(self.snapshot_summary_fields)


def load_settings() -> Settings:
    """Read the environment; raise ``SettingsError`` naming the first bad setting."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    location = first.get("loc") or ()
    if not location:
        return f"configuration error: {first['msg'].removeprefix('Value error, ')}"
    name = str(location[0]).upper()
    if first["type"] == "missing":
        return f"configuration error: {name} is not set"
    return f"configuration error: {name} is invalid: {first['msg'].removeprefix('Value error, ')}"
