"""The middleware every request passes: request ids, due transitions, faults, auth, envelopes."""

from __future__ import annotations

import asyncio
import logging
import secrets

from aiohttp import web
from aiohttp.typedefs import Handler

from sim.collate.errors import ApiError, new_request_id, unauthorized
from sim.collate.faults import FaultPlan
from sim.collate.lifecycle import SimState
from sim.collate.recording import RecordedRequest, record
from sim.collate.validation import RequestBody

logger = logging.getLogger(__name__)
ERROR_CODE = web.ResponseKey("sim_error_code", str)
ROUTER_CODES = {404: "not_found", 405: "method_not_allowed", 413: "bad_request"}


class Gateway:
    """An aiohttp middleware with what it needs: the state, the fault plan, the API key."""

    def __init__(
        self,
        state: SimState,
        faults: FaultPlan,
        api_key: str,
        requests: list[RecordedRequest],
        record_limit: int | None,
    ) -> None:
        self._state = state
        self._faults = faults
        self._api_key = api_key.encode()
        self._requests = requests
        self._record_limit = record_limit

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self._state.run_due()
        body = RequestBody.of(await request.read())
        api = _is_api(request.path)
        reset = self._faults.take_reset(request.path) if api else None
        response = None
        if reset is None or reset.after_processing:
            response = await self._respond(request, handler, api, inject=reset is None)
        if api and self._faults.latency_ms:
            await asyncio.sleep(self._faults.latency_ms / 1000)
        if reset is not None or response is None:
            return self._drop(request, body)
        self._remember(request, body, response.status, response.get(ERROR_CODE))
        return response

    async def _respond(
        self, request: web.Request, handler: Handler, api: bool, *, inject: bool
    ) -> web.StreamResponse:
        request_id = new_request_id()
        try:
            if api:
                self._inject_failure(request.path, inject)
                self._authenticate(request)
            response = await handler(request)
        except ApiError as error:
            response = _error_response(error, request_id)
        except web.HTTPException as error:
            if error.status < 400:
                raise
            code = ROUTER_CODES.get(error.status, "bad_request")
            response = _error_response(ApiError(error.status, code, error.reason), request_id)
        response.headers["X-Request-Id"] = request_id
        return response

    def _inject_failure(self, path: str, inject: bool) -> None:
        failure = self._faults.take_failure(path) if inject else None
        if failure is not None:
            raise failure.error()

    def _authenticate(self, request: web.Request) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        valid = scheme.lower() == "bearer" and secrets.compare_digest(
            token.strip().encode(), self._api_key
        )
        if not valid:
            raise unauthorized()

    def _drop(self, request: web.Request, body: RequestBody) -> web.StreamResponse:
        """Close the connection with no answer: the client sees a transport error."""
        self._remember(request, body, 0, None)
        if request.transport is not None:
            request.transport.abort()
        logger.debug("collate_sim.connection_dropped", extra={"method": request.method})
        return web.Response(status=204)

    def _remember(
        self, request: web.Request, body: RequestBody, status: int, error_code: str | None
    ) -> None:
        if request.path.startswith("/_sim"):
            return
        self._requests.append(record(request, body, status, error_code))
        if self._record_limit is not None and len(self._requests) > self._record_limit:
            del self._requests[: len(self._requests) - self._record_limit]


def _is_api(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


def _error_response(error: ApiError, request_id: str) -> web.Response:
    response = web.json_response(
        error.envelope(request_id), status=error.status, headers=error.headers
    )
    response[ERROR_CODE] = error.code
    return response
