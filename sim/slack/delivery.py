"""Getting a payload to the bot: over Socket Mode when it is connected, else signed HTTP."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

import aiohttp

from sim.slack.payloads import socket_envelope
from sim.slack.records import AppResponse
from sim.slack.signing import Signer
from sim.slack.socket_mode import SocketHub

# NOTE: https://docs.slack.dev/interactivity/handling-user-interaction — ack within 3 seconds.
ACK_TIMEOUT_S = 3.0
_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


class AppDelivery:
    def __init__(self, signer: Signer, hub: SocketHub) -> None:
        self._signer = signer
        self._hub = hub
        self._session: aiohttp.ClientSession | None = None
        self.request_url: str | None = None
        self.ack_timeout = ACK_TIMEOUT_S

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def interactive(
        self, payload: dict[str, Any], *, accepts_response_payload: bool
    ) -> AppResponse:
        if self._hub.connection_count:
            envelope = socket_envelope(
                "interactive",
                payload,
                envelope_id=str(uuid.uuid4()),
                accepts_response_payload=accepts_response_payload,
            )
            return await self._over_socket(envelope)
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self._over_http(body, "application/x-www-form-urlencoded", {})

    async def event(
        self, payload: dict[str, Any], *, retry_num: int | None, retry_reason: str | None
    ) -> AppResponse:
        if self._hub.connection_count:
            envelope = socket_envelope(
                "events_api",
                payload,
                envelope_id=str(uuid.uuid4()),
                accepts_response_payload=False,
                retry_attempt=retry_num,
                retry_reason=retry_reason,
            )
            answer = await self._over_socket(envelope)
        else:
            headers = {}
            if retry_num is not None:
                headers["X-Slack-Retry-Num"] = str(retry_num)
                headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
            body = json.dumps(payload).encode()
            answer = await self._over_http(body, "application/json", headers)
        answer.event_id = str(payload["event_id"])
        return answer

    async def _over_socket(self, envelope: dict[str, Any]) -> AppResponse:
        ack = await self._hub.deliver(envelope, self.ack_timeout)
        return AppResponse(
            status=0 if ack.timed_out else 200,
            body=ack.payload,
            text="" if ack.payload is None else json.dumps(ack.payload),
            via="socket",
            timed_out=ack.timed_out,
            envelope_id=str(envelope["envelope_id"]),
            socket_id=ack.connection_id,
        )

    async def _over_http(
        self, body: bytes, content_type: str, extra_headers: dict[str, str]
    ) -> AppResponse:
        if self.request_url is None:
            raise RuntimeError("call slack.set_request_url(...) or connect over Socket Mode first")
        if self._session is None:
            raise RuntimeError("the simulator is not started")
        headers = {"Content-Type": content_type, "User-Agent": _USER_AGENT}
        headers.update(self._signer.sign_headers(body))
        headers.update(extra_headers)
        timeout = aiohttp.ClientTimeout(total=self.ack_timeout)
        try:
            async with self._session.post(
                self.request_url, data=body, headers=headers, timeout=timeout
            ) as response:
                text = await response.text()
                return AppResponse(response.status, _parsed(text), text, "http")
        except TimeoutError:
            return AppResponse(0, None, "", "http", timed_out=True)


def _parsed(text: str) -> Any:
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
