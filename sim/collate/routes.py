"""The Collate API of contract §2 (E1-E10), the grant URLs of §4.2, and simulator-only create."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sim.collate import render, scenarios, validation
from sim.collate.errors import ApiError, NotFoundError, bad_request, issue
from sim.collate.idempotency import IdempotencyStore
from sim.collate.lifecycle import RESULT_BY_ENDPOINT, SimState
from sim.collate.state import OFFER_ACTION, Authorization, Handoff
from sim.collate.validation import RequestBody

Json = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AUTHORIZATION = "/v1/prior-authorizations/{authorization_id}"
HANDOFF = AUTHORIZATION + "/manual-handoffs/{handoff_id}"
CHANNEL_PAGE = """<!doctype html>
<title>Simulated payer channel</title>
<h1>{payer} — simulated payer channel</h1>
<p>Manual handoff {handoff_id}. Nothing here is real.</p>
"""


class CollateApi:
    """Request handlers; every check and change is delegated to ``SimState``."""

    def __init__(self, state: SimState, base_url: Callable[[], str]) -> None:
        self._state = state
        self._base_url = base_url
        self._idempotency = IdempotencyStore()

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_get("/health", self.health)
        router.add_get("/v1/prior-authorizations", self.list_authorizations)
        router.add_post("/v1/prior-authorizations", self.create_authorization)
        router.add_get(AUTHORIZATION, self.get_authorization)
        router.add_patch(AUTHORIZATION + "/answers", self.write_answers)
        router.add_get(AUTHORIZATION + "/live-session", self.live_session)
        router.add_post(AUTHORIZATION + "/manual-handoffs", self.create_handoff)
        router.add_get(HANDOFF, self.get_handoff)
        router.add_post(HANDOFF + "/access-grants", self.create_grant)
        for endpoint in RESULT_BY_ENDPOINT:
            router.add_post(f"{HANDOFF}/{endpoint}", self._closer(endpoint))
        router.add_get("/runtime/access/{grant_id}", self.open_grant)
        router.add_get("/runtime/channel/{grant_id}", self.channel_page)

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def list_authorizations(self, request: web.Request) -> web.Response:
        query = validation.list_query(request.query)
        if query.after_id is not None and query.after_id not in self._state.authorizations:
            raise validation.cursor_error()
        page, continue_after = self._state.page(query.status, query.limit, query.after_id)
        next_cursor = validation.encode_cursor(continue_after) if continue_after else None
        return _json(
            {
                "data": [render.authorization(auth) for auth in page],
                "pagination": {"nextCursor": next_cursor},
            }
        )

    async def create_authorization(self, request: web.Request) -> web.Response:
        """Test setup only: a new authorization that offers a handoff behind a review."""
        body = await _body(request)
        if not request.headers.get("Idempotency-Key"):
            raise bad_request(
                "Idempotency-Key is required on create.", issue("Idempotency-Key", "missing")
            )
        return self._idempotent(request, body, lambda: self._create(body))

    async def get_authorization(self, request: web.Request) -> web.Response:
        return _json(render.authorization(self._authorization(request)))

    async def write_answers(self, request: web.Request) -> web.Response:
        body = await _body(request)
        auth = self._authorization(request)
        self._state.write_answers(auth, body.object(empty_allowed=False))
        return _json(render.authorization(auth))

    async def live_session(self, request: web.Request) -> web.Response:
        return _json(render.live_session(self._authorization(request)))

    async def create_handoff(self, request: web.Request) -> web.Response:
        body = await _body(request)
        auth = self._authorization(request)

        def accept() -> Json:
            expected = validation.if_match_version(request.headers)
            snapshot_id = validation.accepted_snapshot_id(body)
            record, _ = self._state.accept(auth, expected, snapshot_id)
            return render.handoff(record)

        return self._idempotent(request, body, accept)

    async def get_handoff(self, request: web.Request) -> web.Response:
        _, record = self._handoff(request)
        return _json(render.handoff(record))

    async def create_grant(self, request: web.Request) -> web.Response:
        body = await _body(request)
        _, record = self._handoff(request)

        def mint() -> Json:
            return render.grant(self._state.mint_grant(record), self._base_url())

        return self._idempotent(request, body, mint)

    async def close_handoff(self, endpoint: str, request: web.Request) -> web.Response:
        body = await _body(request)
        auth, record = self._handoff(request)

        def close() -> Json:
            expected = validation.if_match_version(request.headers)
            report = validation.close_report(endpoint, body)
            reconciliation = self._state.close(auth, record, expected, report)
            return render.close_response(auth, record, reconciliation)

        return self._idempotent(request, body, close)

    async def open_grant(self, request: web.Request) -> web.Response:
        grant = self._state.open_grant(request.match_info["grant_id"])
        location = f"{self._base_url()}/runtime/channel/{grant.id}"
        return web.Response(status=302, headers={"Location": location})

    async def channel_page(self, request: web.Request) -> web.Response:
        grant = self._state.check_grant(request.match_info["grant_id"])
        auth = self._state.authorization(grant.authorization_id)
        page = CHANNEL_PAGE.format(payer=auth.scenario.payer_name, handoff_id=grant.handoff_id)
        return web.Response(text=page, content_type="text/html")

    def _closer(self, endpoint: str) -> Handler:
        async def close(request: web.Request) -> web.StreamResponse:
            return await self.close_handoff(endpoint, request)

        return close

    def _create(self, body: RequestBody) -> Json:
        fields = body.object(empty_allowed=False)
        policy = fields.get("policy")
        if not isinstance(policy, dict) or "finalSubmission" not in policy:
            raise ApiError(
                400, "final_submission_policy_required", "policy.finalSubmission is required."
            )
        payer_id = _payer_id(fields.get("payerId"))
        metadata = fields.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise bad_request("metadata must be an object.", issue("metadata", "not an object"))
        auth = self._state.add(
            status="requires_action",
            next_action=OFFER_ACTION,
            review=True,
            case_id=None,
            payer_id=payer_id,
            summary=None,
            warnings=None,
            metadata=metadata,
        )
        if isinstance(fields.get("answers"), dict):
            auth.answers = fields["answers"]
        return render.authorization(auth)

    def _idempotent(
        self, request: web.Request, body: RequestBody, action: Callable[[], Json]
    ) -> web.Response:
        """Run ``action`` once per Idempotency-Key and body (§7); replay its 2xx afterwards."""
        key = request.headers.get("Idempotency-Key")
        if not key:
            return _json(action())
        scope = (request.method, request.path, key)
        stored = self._idempotency.replay(scope, body.fingerprint)
        if stored is not None:
            return _json_text(stored.body, stored.status, replayed=True)
        text = json.dumps(action())
        self._idempotency.remember(scope, body.fingerprint, 200, text)
        return _json_text(text, 200, replayed=False)

    def _authorization(self, request: web.Request) -> Authorization:
        return self._state.authorization(request.match_info["authorization_id"])

    def _handoff(self, request: web.Request) -> tuple[Authorization, Handoff]:
        return self._state.handoff(
            request.match_info["authorization_id"], request.match_info["handoff_id"]
        )


async def _body(request: web.Request) -> RequestBody:
    return RequestBody.of(await request.read())


def _payer_id(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return scenarios.pick_scenario(0, str(value)).payer_id
    except ValueError:
        raise NotFoundError("payer_not_found", f"Payer {value} not found.") from None


def _json(payload: Json) -> web.Response:
    return web.json_response(payload)


def _json_text(text: str, status: int, *, replayed: bool) -> web.Response:
    response = web.Response(text=text, status=status, content_type="application/json")
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response
