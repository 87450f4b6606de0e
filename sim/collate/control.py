"""``SimControl``: the ``/_sim`` controls from another process (the demo, bot replicas)."""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from sim.collate.recording import RecordedRequest

Json = dict[str, Any]


class SimControlFailed(RuntimeError):
    """The simulator refused a control request; ``code`` is its ``error.code``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code


class SimControl:
    """The same controls as ``CollateSimulator``'s methods, as async calls over HTTP."""

    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/") + "/_sim", timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> SimControl:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def add_authorization(
        self,
        *,
        status: str = "requires_action",
        next_action: str | None = "complete_payer_interaction",
        review: bool = True,
        case_id: str | None = None,
        payer_id: str | None = None,
        summary: Json | None = None,
        warnings: list[Json] | None = None,
        metadata: Json | None = None,
    ) -> Json:
        body = {
            "status": status,
            "next_action": next_action,
            "review": review,
            "case_id": case_id,
            "payer_id": payer_id,
            "summary": summary,
            "warnings": warnings,
            "metadata": metadata,
        }
        result: Json = await self._call("POST", "/authorizations", body)
        return result

    async def offer_handoff(self, auth_id: str, *, review: bool = True) -> Json:
        return await self._case("POST", auth_id, "/offer", {"review": review})

    async def set_status(
        self,
        auth_id: str,
        status: str,
        *,
        next_action: str | None = None,
        outcome: str | None = None,
    ) -> Json:
        body = {"status": status, "next_action": next_action, "outcome": outcome}
        return await self._case("POST", auth_id, "/status", body)

    async def replace_review_snapshot(self, auth_id: str) -> str:
        result = await self._case("POST", auth_id, "/review-snapshot")
        return str(result["reviewSnapshotId"])

    async def set_reconcile_result(self, result: str, auth_id: str | None = None) -> None:
        await self._call("POST", "/reconcile-result", {"result": result, "auth_id": auth_id})

    async def expire_grants(self, auth_id: str) -> Json:
        return await self._case("POST", auth_id, "/expire-grants")

    async def lose_channel(self, auth_id: str) -> Json:
        return await self._case("POST", auth_id, "/lose-channel")

    async def cancel_authorization(self, auth_id: str) -> Json:
        return await self._case("POST", auth_id, "/cancel")

    async def abandon_handoff(self, auth_id: str) -> Json:
        return await self._case("POST", auth_id, "/abandon")

    async def fail_next(
        self,
        count: int,
        status: int,
        *,
        retry_after_seconds: float | None = None,
        retryable: bool = True,
        paths: str | None = None,
    ) -> None:
        body = {
            "count": count,
            "status": status,
            "retry_after_seconds": retry_after_seconds,
            "retryable": retryable,
            "paths": paths,
        }
        await self._call("POST", "/fail-next", body)

    async def set_latency(self, ms: float) -> None:
        await self._call("POST", "/latency", {"ms": ms})

    async def reset_next(
        self, count: int, *, after_processing: bool = False, paths: str | None = None
    ) -> None:
        body = {"count": count, "after_processing": after_processing, "paths": paths}
        await self._call("POST", "/reset-next", body)

    async def clear_faults(self) -> None:
        await self._call("POST", "/clear-faults")

    async def advance(self, seconds: float) -> None:
        await self._call("POST", "/advance", {"seconds": seconds})

    async def authorization(self, auth_id: str) -> Json:
        return await self._case("GET", auth_id, "")

    async def handoff(self, auth_id: str, handoff_id: str) -> Json:
        return await self._case("GET", auth_id, f"/handoffs/{handoff_id}")

    async def handoff_creates(self, auth_id: str) -> int:
        return int((await self._case("GET", auth_id, "/counters"))["handoffCreates"])

    async def closes(self, auth_id: str) -> int:
        return int((await self._case("GET", auth_id, "/counters"))["closes"])

    async def requests(self) -> list[RecordedRequest]:
        entries = await self._call("GET", "/requests")
        return [RecordedRequest(**entry) for entry in entries]

    async def clear_requests(self) -> None:
        await self._call("DELETE", "/requests")

    async def settings(self) -> Json:
        result: Json = await self._call("GET", "/settings")
        return result

    async def update_settings(self, **changes: Any) -> Json:
        result: Json = await self._call("PATCH", "/settings", changes)
        return result

    async def _case(self, method: str, auth_id: str, suffix: str, body: Json | None = None) -> Json:
        result: Json = await self._call(method, f"/authorizations/{auth_id}{suffix}", body)
        return result

    async def _call(self, method: str, path: str, body: Json | None = None) -> Any:
        response = await self._http.request(method, path, json=body)
        if response.is_success:
            return response.json()
        error = response.json().get("error", {})
        raise SimControlFailed(
            response.status_code, error.get("code", ""), error.get("message", "")
        )
