"""``/_sim/*``: the simulator's controls over HTTP. Not part of the Collate API, and no key."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from aiohttp import web

from sim.collate.errors import ApiError, SimControlError

if TYPE_CHECKING:
    from sim.collate.server import CollateSimulator

Json = dict[str, Any]
Action = Callable[["CollateSimulator", web.Request, "Fields"], Any]
CASE = "/_sim/authorizations/{authorization_id}"


class Fields:
    """A control request's JSON body, read with type checks that raise ``ValueError``."""

    def __init__(self, values: Json) -> None:
        self._values = values

    @classmethod
    async def of(cls, request: web.Request) -> Fields:
        raw = await request.read()
        values = json.loads(raw) if raw.strip() else {}
        if not isinstance(values, dict):
            raise ValueError("the body must be a JSON object")
        return cls(values)

    def get(self, name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
        value = self._values.get(name, default)
        if value is not None and not isinstance(value, kind):
            raise ValueError(f"{name} has the wrong type")
        return value

    def required(self, name: str, kind: type | tuple[type, ...]) -> Any:
        if self._values.get(name) is None:
            raise ValueError(f"{name} is required")
        return self.get(name, kind)

    def all(self) -> Json:
        return dict(self._values)


def register(router: web.UrlDispatcher, sim: CollateSimulator) -> None:
    routes: list[tuple[str, str, Action]] = [
        ("POST", "/_sim/authorizations", _add_authorization),
        ("GET", CASE, _authorization),
        ("POST", CASE + "/offer", _offer),
        ("POST", CASE + "/status", _set_status),
        ("POST", CASE + "/review-snapshot", _replace_review_snapshot),
        ("POST", CASE + "/expire-grants", _expire_grants),
        ("POST", CASE + "/lose-channel", _lose_channel),
        ("POST", CASE + "/cancel", _cancel_authorization),
        ("POST", CASE + "/abandon", _abandon_handoff),
        ("GET", CASE + "/counters", _counters),
        ("GET", CASE + "/handoffs/{handoff_id}", _handoff),
        ("POST", "/_sim/reconcile-result", _set_reconcile_result),
        ("POST", "/_sim/fail-next", _fail_next),
        ("POST", "/_sim/reset-next", _reset_next),
        ("POST", "/_sim/latency", _set_latency),
        ("POST", "/_sim/clear-faults", _clear_faults),
        ("POST", "/_sim/advance", _advance),
        ("GET", "/_sim/requests", _requests),
        ("DELETE", "/_sim/requests", _clear_requests),
        ("GET", "/_sim/settings", _settings),
        ("PATCH", "/_sim/settings", _update_settings),
    ]
    for method, path, action in routes:
        router.add_route(method, path, _handler(sim, action))


def _handler(
    sim: CollateSimulator, action: Action
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            result = action(sim, request, await Fields.of(request))
        except SimControlError as error:
            raise ApiError(409, "sim_conflict", str(error)) from error
        except ValueError as error:
            raise ApiError(400, "bad_request", str(error)) from error
        return web.json_response({"ok": True} if result is None else result)

    return handle


def _case(request: web.Request) -> str:
    return request.match_info["authorization_id"]


def _add_authorization(sim: CollateSimulator, _: web.Request, fields: Fields) -> Json:
    return sim.add_authorization(
        status=fields.get("status", str, "requires_action"),
        next_action=fields.get("next_action", str, "complete_payer_interaction"),
        review=fields.get("review", bool, True),
        case_id=fields.get("case_id", str),
        payer_id=fields.get("payer_id", str),
        summary=fields.get("summary", dict),
        warnings=fields.get("warnings", list),
        metadata=fields.get("metadata", dict),
    )


def _authorization(sim: CollateSimulator, request: web.Request, _: Fields) -> Json:
    return sim.authorization(_case(request))


def _offer(sim: CollateSimulator, request: web.Request, fields: Fields) -> Json:
    return sim.offer_handoff(_case(request), review=fields.get("review", bool, True))


def _set_status(sim: CollateSimulator, request: web.Request, fields: Fields) -> Json:
    return sim.set_status(
        _case(request),
        fields.required("status", str),
        next_action=fields.get("next_action", str),
        outcome=fields.get("outcome", str),
    )


def _replace_review_snapshot(sim: CollateSimulator, request: web.Request, _: Fields) -> Json:
    return {"reviewSnapshotId": sim.replace_review_snapshot(_case(request))}


def _expire_grants(sim: CollateSimulator, request: web.Request, _: Fields) -> Json:
    return sim.expire_grants(_case(request))


def _lose_channel(sim: CollateSimulator, request: web.Request, _: Fields) -> Json:
    return sim.lose_channel(_case(request))


def _cancel_authorization(sim: CollateSimulator, request: web.Request, _: Fields) -> Json:
    return sim.cancel_authorization(_case(request))


def _abandon_handoff(sim: CollateSimulator, request: web.Request, _: Fields) -> Json:
    return sim.abandon_handoff(_case(request))


def _counters(sim: CollateSimulator, request: web.Request, _: Fields) -> Json:
    case = _case(request)
    return {
        "handoffCreates": sim.handoff_creates(case),
        "closes": sim.closes(case),
        "grantOpens": sim.grant_opens(case),
    }


def _handoff(sim: CollateSimulator, request: web.Request, _: Fields) -> Json:
    return sim.handoff(_case(request), request.match_info["handoff_id"])


def _set_reconcile_result(sim: CollateSimulator, _: web.Request, fields: Fields) -> None:
    sim.set_reconcile_result(fields.required("result", str), fields.get("auth_id", str))


def _fail_next(sim: CollateSimulator, _: web.Request, fields: Fields) -> None:
    sim.fail_next(
        fields.required("count", int),
        fields.required("status", int),
        retry_after_seconds=fields.get("retry_after_seconds", (int, float)),
        retryable=fields.get("retryable", bool, True),
        paths=fields.get("paths", str),
    )


def _reset_next(sim: CollateSimulator, _: web.Request, fields: Fields) -> None:
    sim.reset_next(
        fields.required("count", int),
        after_processing=fields.get("after_processing", bool, False),
        paths=fields.get("paths", str),
    )


def _set_latency(sim: CollateSimulator, _: web.Request, fields: Fields) -> None:
    sim.set_latency(fields.required("ms", (int, float)))


def _clear_faults(sim: CollateSimulator, _: web.Request, __: Fields) -> None:
    sim.clear_faults()


def _advance(sim: CollateSimulator, _: web.Request, fields: Fields) -> None:
    sim.advance(fields.required("seconds", (int, float)))


def _requests(sim: CollateSimulator, _: web.Request, __: Fields) -> list[Json]:
    return [asdict(entry) for entry in sim.requests]


def _clear_requests(sim: CollateSimulator, _: web.Request, __: Fields) -> None:
    sim.requests.clear()


def _settings(sim: CollateSimulator, _: web.Request, __: Fields) -> Json:
    return sim.settings.as_dict()


def _update_settings(sim: CollateSimulator, _: web.Request, fields: Fields) -> Json:
    sim.settings.update(fields.all())
    return sim.settings.as_dict()
