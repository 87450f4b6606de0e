"""The Web API methods the simulator serves: required arguments and the errors it can answer.

Derived from the method references in ``shared/vendor/slack-api-ref/methods/*.json``;
``tests/test_slack_sim.py`` checks this table against those files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Answered by every method, documented once for the whole Web API rather than per method.
COMMON_ERRORS = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "not_allowed_token_type",
        "invalid_arguments",
        "ratelimited",
        "unknown_method",
    }
)


class SlackError(Exception):
    """A Web API failure: ``{"ok": false, "error": code}``, optionally with an HTTP status."""

    def __init__(
        self,
        code: str,
        *messages: str,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.messages = list(messages)
        self.status = status
        self.headers = headers or {}


def invalid_arguments(message: str) -> SlackError:
    return SlackError("invalid_arguments", message)


@dataclass(frozen=True)
class MethodContract:
    required: frozenset[str]
    errors: frozenset[str] = field(default_factory=frozenset)
    app_level: bool = False  # needs the app-level (xapp-) credential, not the bot one


def _contract(required: str = "", errors: str = "", *, app_level: bool = False) -> MethodContract:
    return MethodContract(frozenset(required.split()), frozenset(errors.split()), app_level)


_MESSAGE_ERRORS = "channel_not_found invalid_blocks invalid_blocks_format no_text"

CONTRACTS: dict[str, MethodContract] = {
    "auth.test": _contract(),
    "apps.connections.open": _contract(errors="internal_error", app_level=True),
    "chat.postMessage": _contract(
        "channel", f"{_MESSAGE_ERRORS} not_in_channel markdown_text_conflict"
    ),
    "chat.update": _contract(
        "channel ts",
        f"{_MESSAGE_ERRORS} message_not_found cant_update_message markdown_text_conflict",
    ),
    "chat.delete": _contract(
        "channel ts", "channel_not_found message_not_found cant_delete_message"
    ),
    "chat.postEphemeral": _contract(
        "channel user",
        f"{_MESSAGE_ERRORS} not_in_channel user_not_in_channel markdown_text_conflict",
    ),
    "chat.getPermalink": _contract("channel message_ts", "channel_not_found message_not_found"),
    "conversations.open": _contract(
        "",
        "channel_not_found user_not_found users_list_not_supplied not_enough_users too_many_users",
    ),
    "conversations.info": _contract("channel", "channel_not_found"),
    "views.open": _contract(
        "view",
        "invalid_trigger_id expired_trigger_id exchanged_trigger_id duplicate_external_id"
        " view_too_large",
    ),
    "views.push": _contract(
        "view",
        "invalid_trigger_id expired_trigger_id exchanged_trigger_id duplicate_external_id"
        " view_too_large push_limit_reached not_found",
    ),
    "views.update": _contract(
        "view", "not_found hash_conflict duplicate_external_id view_too_large"
    ),
    "views.publish": _contract(
        "user_id view", "hash_conflict duplicate_external_id view_too_large"
    ),
    "usergroups.users.list": _contract("usergroup", "no_such_subteam"),
    "users.info": _contract("user", "user_not_found"),
}
