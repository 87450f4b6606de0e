"""What the simulator keeps of each request it answered, for tests to assert on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sim.collate.validation import RequestBody

REDACTED = "<redacted>"


@dataclass
class RecordedRequest:
    """One request. ``status`` is 0 when the connection was dropped without an answer."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    status: int
    error_code: str | None


def record(
    request: web.Request, body: RequestBody, status: int, error_code: str | None
) -> RecordedRequest:
    headers = {name.lower(): value for name, value in request.headers.items()}
    if "authorization" in headers:
        headers["authorization"] = REDACTED
    return RecordedRequest(
        method=request.method,
        path=request.path,
        query=dict(request.query.items()),
        headers=headers,
        body=body.json,
        status=status,
        error_code=error_code,
    )
