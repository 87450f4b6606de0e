"""Events API deliveries, and the middleware every request passes through first.

In order, before any listener: requests from a workspace or organization other than the one the
bot is pinned to are refused (``SLACK_TEAM_ID``, ``SLACK_ENTERPRISE_ID``); payloads whose
well-known fields have the wrong JSON type are refused, since Bolt's own matchers and argument
injection index into them without checking; repeated Events API deliveries are skipped. Bolt has
already verified the request's signature and timestamp by then (slack-platform §5).

The refusals answer before anything else happens: no Web API call, no Collate call, no Redis
write. They log the event name and ids only, never the body.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.handoffs import HandoffService
from bot.settings import Settings

logger = logging.getLogger(__name__)

NO_RETRY_HEADER = "X-Slack-No-Retry"
"""Sent with every refusal: a refused event must not come back three more times.
NOTE: https://docs.slack.dev/apis/events-api (``X-Slack-No-Retry``)."""

_SLACK_ID = re.compile(r"[A-Z][A-Z0-9]{1,31}")


def register(app: AsyncApp, handoffs: HandoffService, settings: Settings | None = None) -> None:
    """The global middleware, in the order it runs. ``settings`` pins the workspace; without
    them every workspace is served (tests of the listeners alone)."""
    if settings is not None:
        app.middleware(
            WorkspacePin(team_id=settings.slack_team_id, enterprise_id=settings.slack_enterprise_id)
        )
    app.middleware(PayloadShapeCheck())
    store = handoffs.store

    async def skip_repeated_events(
        body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        # NOTE: Bolt does not de-duplicate; Slack retries an event it thinks was not delivered,
        # even when the first delivery was handled (https://docs.slack.dev/apis/events-api).
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and not await store.first_sight_of_event(event_id):
            logger.info("slack.event_repeated", extra={"event_id": event_id})
            return BoltResponse(status=200, body="")
        await next()
        return None

    app.middleware(skip_repeated_events)


def read_delivery(
    raw: bytes, query: str, headers: Mapping[str, str]
) -> AsyncBoltRequest | BoltResponse:
    """The Bolt request for an HTTP delivery, or the refusal to answer it with.

    Bolt parses the body while building its request, before it checks the signature, and raises
    there for a body that is not UTF-8, not JSON or not a JSON object; its signature check raises
    for a timestamp that is not a number, and its built-in middleware for well-known fields of
    the wrong type. Each of those would be a 500 and a traceback; here they are a 400 (a 401 for
    the timestamp) before Bolt sees them, whether or not the request was signed.
    """
    stamp = _header(headers, "X-Slack-Request-Timestamp")
    if stamp is not None and not stamp.isdigit():
        logger.warning("slack.request_refused", extra={"error": "timestamp is not a number"})
        return _refusal(401)
    try:
        request = AsyncBoltRequest(body=raw.decode("utf-8"), query=query, headers=dict(headers))
    except Exception:  # untrusted bytes: whatever Bolt's parser raises, it is a refusal
        logger.warning("slack.request_refused", extra={"error": "body is not a Slack payload"})
        return _refusal(400)
    problem = payload_problem(request.body)
    if problem is not None:
        logger.warning("slack.request_refused", extra={"error": problem})
        return _refusal(400)
    return request


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


# Workspace pinning -----------------------------------------------------------------------------


class WorkspacePin(AsyncMiddleware):
    """Serve one workspace (``team_id``) and/or one Enterprise Grid organization only.

    A request that names another id, or none while one is pinned, gets a 403. The ids are those
    Bolt reads from the payload (``team``, ``authorizations``, ``user.team_id``, ...), so this
    holds for interactions and events alike. NOTE: with an org-wide install ``team`` can be
    null (slack-platform §2): pin only ``SLACK_ENTERPRISE_ID`` there.
    """

    def __init__(self, *, team_id: str | None, enterprise_id: str | None) -> None:
        self._team_id = team_id
        self._enterprise_id = enterprise_id

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        team_id, enterprise_id = req.context.team_id, req.context.enterprise_id
        if _differs(self._team_id, team_id) or _differs(self._enterprise_id, enterprise_id):
            logger.warning(
                "slack.workspace_refused",
                extra={"team": _loggable_id(team_id), "enterprise": _loggable_id(enterprise_id)},
            )
            return _refusal(403)
        await next()
        return resp


def _refusal(status: int) -> BoltResponse:
    return BoltResponse(status=status, body="", headers={NO_RETRY_HEADER: "1"})


def _differs(pinned: str | None, seen: str | None) -> bool:
    return pinned is not None and seen != pinned


def _loggable_id(value: object) -> str:
    """A Slack id as it is, anything else (it came from outside) as a mark."""
    if value is None:
        return "none"
    if isinstance(value, str) and _SLACK_ID.fullmatch(value):
        return value
    return "malformed"


# Payload shapes --------------------------------------------------------------------------------


class PayloadShapeCheck(AsyncMiddleware):
    """Refuse (400) a payload whose well-known fields have the wrong JSON type.

    Bolt's listener matchers and argument injection index into ``actions``, ``view`` and
    ``event`` without checking them (``body["actions"][0]["action_id"]``), so a signed but
    malformed payload would crash a listener instead of being refused. Slack never sends one;
    this is about what happens if something does.
    """

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        problem = payload_problem(req.body)
        if problem is not None:
            logger.warning(
                "slack.payload_refused",
                extra={"team": _loggable_id(req.context.team_id), "error": problem},
            )
            return _refusal(400)
        await next()
        return resp


Kind: TypeAlias = "type | tuple[type, ...] | Shape | ListOf"


@dataclass(frozen=True)
class Shape:
    """A JSON object: the keys it must have and those it may have (``null`` allowed), by kind."""

    required: Mapping[str, Kind] = field(default_factory=dict)
    optional: Mapping[str, Kind] = field(default_factory=dict)

    def problem(self, value: Any, where: str) -> str | None:
        if not isinstance(value, dict):
            return f"{where} is not an object"
        for name in self.required:
            if value.get(name) is None:
                return f"{where}.{name} is missing"
        for name, kind in {**self.optional, **self.required}.items():
            if value.get(name) is not None:
                problem = _kind_problem(kind, value[name], f"{where}.{name}")
                if problem is not None:
                    return problem
        return None


@dataclass(frozen=True)
class ListOf:
    """A JSON array of ``item``; ``non_empty`` when Bolt reads its first item unchecked."""

    item: Kind
    non_empty: bool = False

    def problem(self, value: Any, where: str) -> str | None:
        if not isinstance(value, list):
            return f"{where} is not an array"
        if self.non_empty and not value:
            return f"{where} is empty"
        for index, item in enumerate(value):
            problem = _kind_problem(self.item, item, f"{where}[{index}]")
            if problem is not None:
                return problem
        return None


def _kind_problem(kind: Kind, value: Any, where: str) -> str | None:
    if isinstance(kind, Shape | ListOf):
        return kind.problem(value, where)
    if not isinstance(value, kind):
        return f"{where} has the wrong type"
    return None


_ID_OBJECT = Shape(optional={"id": str})
_USER = Shape(required={"id": str}, optional={"team_id": str})
_ACTION = Shape(
    required={"action_id": str},
    optional={"block_id": str, "value": str, "selected_option": Shape(optional={"value": str})},
)
_STATE = Shape(optional={"values": dict})
_VIEW = Shape(
    required={"type": str},
    optional={
        "id": str,
        "callback_id": str,
        "private_metadata": str,
        "state": _STATE,
        "team_id": str,
        "app_installed_team_id": str,
    },
)
_EVENT = Shape(required={"type": str})

_ENVELOPE = Shape(
    optional={
        "type": str,
        "user": _USER,
        "team": (str, dict),
        "enterprise": (str, dict),
        "team_id": str,
        "enterprise_id": str,
        "channel": _ID_OBJECT,
        "container": dict,
        "message": dict,
        "actions": ListOf(dict),
        "view": _VIEW,
        "state": _STATE,
        "event": _EVENT,
        "event_id": str,
        "trigger_id": str,
        "response_url": str,
        "authorizations": ListOf(dict),
    }
)
_BY_TYPE: Mapping[str, Shape] = {
    "block_actions": Shape(required={"user": _USER, "actions": ListOf(_ACTION, non_empty=True)}),
    "view_submission": Shape(required={"user": _USER, "view": _VIEW}),
    "view_closed": Shape(required={"user": _USER, "view": _VIEW}),
    "event_callback": Shape(required={"event": _EVENT}),
}


def payload_problem(body: Any) -> str | None:
    """What is wrong with the shape of ``body``, in words without its values; ``None`` if fine.

    Only the JSON types of fields Slack documents are checked, never their values: a payload of
    a type the bot does not handle passes, for Bolt to answer as unhandled.
    """
    problem = _ENVELOPE.problem(body, "payload")
    if problem is not None:
        return problem
    by_type = _BY_TYPE.get(body.get("type") or "")
    return by_type.problem(body, "payload") if by_type is not None else None
